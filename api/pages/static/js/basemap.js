// The map's base map, as config.json gives it (api/basemap): tiles of a service by URL (Tianditu with its key,
// AMap...), tiles of the offline package the API serves at /tiles, or no tiles (a grid). The page says which.

import { t } from "./common.js";

const L = window.L;

/** Text of an attribution that may be markup (an MBTiles package's usually is): shown as text, never as markup. */
function asText(attribution) {
  const text = new DOMParser().parseFromString(attribution, "text/html").body.textContent ?? "";
  const box = document.createElement("span");
  box.textContent = text.trim();
  return box.innerHTML; // escaped: Leaflet's attribution control takes HTML
}

/** Put the base map of `settings` under `map`; the layer (null for the grid). */
export function addBaseMap(map, settings) {
  if (!settings.tile_url) {
    // No tiles (an intranet without a tile server or package): a plain grid, so that panning and zooming still
    // show movement.
    const Grid = L.GridLayer.extend({
      createTile() {
        const tile = document.createElement("canvas");
        tile.width = tile.height = 256;
        const ctx = tile.getContext("2d");
        ctx.strokeStyle = "rgba(60, 80, 100, 0.12)";
        ctx.strokeRect(0.5, 0.5, 256, 256);
        return tile;
      },
    });
    new Grid({ className: "grid-tiles" }).addTo(map);
    map.attributionControl.addAttribution(t("map.no_tiles"));
    return null;
  }
  const options = {
    maxZoom: settings.tile_max_zoom,
    // Past the deepest tiles there are (a package stops at its maxzoom), the deepest are enlarged.
    maxNativeZoom: settings.tile_max_native_zoom,
    minNativeZoom: settings.tile_min_native_zoom,
    subdomains: settings.tile_subdomains,
    key: settings.tile_key, // {key} in the template (Tianditu's tk=)
    ...(settings.tile_bounds ? { bounds: L.latLngBounds(settings.tile_bounds) } : {}),
  };
  const layer = L.tileLayer(settings.tile_url, { ...options, className: "base-tiles" });
  layer.addTo(map);
  // Tianditu's base layers carry no names: its labels are tiles of their own, drawn over them.
  if (settings.tile_labels_url) L.tileLayer(settings.tile_labels_url, { ...options, className: "label-tiles", zIndex: 2 }).addTo(map);
  if (settings.tile_attribution) map.attributionControl.addAttribution(asText(settings.tile_attribution));
  return layer;
}

/** What the page says of its base map, e.g. "底图：天地图（在线瓦片服务）". */
export function baseMapText(settings) {
  return t(`basemap.${settings.basemap}`, { name: settings.basemap_name });
}
