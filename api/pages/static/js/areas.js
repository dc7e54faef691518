// The supervision areas drawn as supervision judges them (api/supervision/areas.py): polygons as drawn, circles
// with their radius in metres, corridors as the band within width_m / 2 of their route, forbidden zones in red;
// a click shows the area's rules (speed limit, hours and their calendar).

import { api, el, plain, t } from "./common.js";

const L = window.L;

export const AREA_STYLES = {
  permitted: { color: "#1971c2", weight: 1.5, fillOpacity: 0.06, dashArray: "6 4" },
  parking: { color: "#2b8a3e", weight: 1.5, fillOpacity: 0.06 },
  // Entering one raises a red alert: drawn to be seen from afar, filled and solid.
  forbidden: { color: "#c92a2a", weight: 2.5, fillColor: "#e03131", fillOpacity: 0.2 },
};
const EARTH_CIRCUMFERENCE_M = 40_075_016.686; // Web Mercator's equator

/** Metres per screen pixel at `zoom` and latitude `lat` (Web Mercator, 256-pixel tiles). */
export function metresPerPixel(lat, zoom) {
  return (EARTH_CIRCUMFERENCE_M * Math.cos((lat * Math.PI) / 180)) / 2 ** (zoom + 8);
}

export class Areas {
  /**
   * @param map the Leaflet map (with an "areas" pane)
   * @param options.shown (lat, lon) -> LatLng as the tiles draw it
   * @param options.names organisation id -> name
   */
  constructor(map, { shown, names }) {
    this.map = map;
    this.shown = shown;
    this.names = names;
    this.calendars = new Map(); // calendar id -> name; the default's id is null
    this.drawn = new Map(); // area id -> { area, layer }
  }

  async start() {
    let areas;
    try {
      areas = await api("/areas");
    } catch {
      return; // a role without areas:read sees the map without them
    }
    try {
      for (const calendar of await api("/calendar/calendars")) this.calendars.set(calendar.id, calendar.name);
    } catch {
      // without calendar:read the popup names the calendar by its number
    }
    for (const area of areas) this.drawn.set(area.id, { area, layer: this.draw(area).addTo(this.map) });
  }

  draw(area) {
    const style = { pane: "areas", ...(AREA_STYLES[area.kind] ?? AREA_STYLES.permitted) };
    const shape = area.geometry;
    let layer;
    if (shape.type === "Point") {
      layer = L.circle(this.shown(shape.coordinates[1], shape.coordinates[0]), { ...style, radius: area.radius_m });
    } else if (shape.type === "LineString") {
      layer = this.corridor(shape.coordinates, area.width_m, style);
    } else {
      layer = L.geoJSON(shape, { ...style, style, coordsToLatLng: ([lon, lat]) => this.shown(lat, lon) });
    }
    layer.bindTooltip(plain(area.name)); // a name, never markup
    layer.bindPopup(() => this.popup(area));
    return layer;
  }

  /** A corridor: its route, and the band width_m wide around it (a stroke with round ends and joins is exactly
   *  the points within width_m / 2 of the route), its width in pixels kept at the zoom. */
  corridor(coordinates, width, style) {
    const route = coordinates.map(([lon, lat]) => this.shown(lat, lon));
    const middle = route[Math.floor(route.length / 2)].lat;
    const band = L.polyline(route, { ...style, opacity: 0.25, lineCap: "round", lineJoin: "round", interactive: true });
    const centre = L.polyline(route, { ...style, weight: 1.5, fill: false, interactive: false });
    const fit = () => band.setStyle({ weight: Math.max(1, width / metresPerPixel(middle, this.map.getZoom())) });
    fit();
    this.map.on("zoomend", fit);
    const group = L.featureGroup([band, centre]);
    group.band = band; // for tests: the band's width in pixels
    return group;
  }

  popup(area) {
    const hours = area.hours === "always" ? t("area.hours.always") : t(`area.hours.${area.hours}`, { calendar: this.calendarName(area.calendar_id) });
    const limit = area.speed_limit_kmh == null ? t("area.limit.global") : t("area.limit", { n: area.speed_limit_kmh });
    const shape =
      area.geometry.type === "Point"
        ? t("area.shape.circle", { n: Math.round(area.radius_m) })
        : area.geometry.type === "LineString"
          ? t("area.shape.corridor", { n: Math.round(area.width_m) })
          : t("area.shape.polygon");
    const unit = area.organisation_id ? (this.names.get(area.organisation_id) ?? area.organisation_id) : t("area.city");
    return el(
      "div",
      { class: "area-popup", "data-area": area.id },
      el("strong", {}, area.name),
      el("div", { class: `area-kind area-${area.kind}` }, t(`area.kind.${area.kind}`), " · ", shape),
      el("div", { class: "area-limit" }, limit),
      el("div", { class: "area-hours" }, hours),
      el("div", { class: "area-unit" }, unit),
    );
  }

  calendarName(id) {
    if (id === null || id === undefined) return t("area.calendar.default");
    return this.calendars.get(id) ?? `#${id}`;
  }
}
