// Every vehicle of the network on one canvas over a Leaflet map, clustered in a screen grid when zoomed out.
//
// Why not one Leaflet marker per vehicle: 20,000 DOM markers (or 20,000 path objects, or a cluster plugin that
// re-clusters its marker tree on every move) make each position update and each pan cost tens of milliseconds.
// Here a vehicle is a few numbers (its Web Mercator position at zoom 0, its state); a frame projects the visible
// ones with two multiplications each, bins them into 64-pixel cells aligned to the world (so clusters stay put
// while panning), and draws a few hundred shapes, one path per colour. Nothing is drawn unless the data or the
// view changed, and then at most once per animation frame.

export const STATES = ["available", "dispatched", "in_service", "maintenance", "offline"];
export const STATE_COLOURS = {
  available: "#2f9e44",
  dispatched: "#e8a010",
  in_service: "#1c6fd1",
  maintenance: "#8e5cc4",
  offline: "#8d8d8d",
};

const CELL = 64; // px: the clustering grid
const CLUSTER_BELOW_ZOOM = 16; // from this zoom on, every vehicle is drawn on its own
const HEADING_FROM_ZOOM = 15;
const LABEL_FROM_ZOOM = 17;
const RADIUS = 5;
const MAX_LATITUDE = 85.0511287798;

/** Web Mercator at zoom 0 on a 1 x 1 world (Leaflet's EPSG:3857 divided by its scale). */
export function mercator(lat, lon) {
  const clamped = Math.max(Math.min(lat, MAX_LATITUDE), -MAX_LATITUDE);
  const sin = Math.sin((clamped * Math.PI) / 180);
  return [(lon + 180) / 360, 0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)];
}

export class VehicleLayer {
  /**
   * @param map a Leaflet map
   * @param options.toDisplay (lat, lon) -> [lat, lon] as the tiles draw them (GCJ-02 for Chinese tiles)
   * @param options.onSelect called with a vehicle id (or null) when one is clicked
   */
  constructor(map, { toDisplay = (lat, lon) => [lat, lon], onSelect = () => {} } = {}) {
    this.map = map;
    this.toDisplay = toDisplay;
    this.onSelect = onSelect;
    this.vehicles = new Map(); // id -> {id, lat, lon, mx, my, state, organisation, properties, fixAt}
    this.organisations = null; // Set of the units shown, null: all
    this.states = new Set(STATES);
    this.selected = null;
    this.dirty = true;
    this.frame = 0;
    this.drawn = { singles: [], clusters: [] };
    this.drawMs = 0; // the last frame's drawing time, for the page's status line and the bench

    this.canvas = document.createElement("canvas");
    this.canvas.className = "vehicle-canvas";
    map.getContainer().append(this.canvas);
    this.context = this.canvas.getContext("2d");
    this.resize();

    const redraw = () => this.invalidate();
    map.on("move zoomend viewreset", redraw);
    map.on("resize", () => {
      this.resize();
      this.invalidate();
    });
    // Leaflet animates a zoom with a CSS transform of its panes; this canvas is not one of them: hide it until
    // the zoom ends rather than show vehicles at the old scale.
    map.on("zoomstart", () => (this.canvas.style.visibility = "hidden"));
    map.on("zoomend", () => (this.canvas.style.visibility = "visible"));
    map.on("click", (event) => this.click(event.containerPoint));
  }

  // ---- data -------------------------------------------------------------------------------------------------

  /** A snapshot: every vehicle the stream shows, replacing what was there. */
  setAll(features) {
    this.vehicles.clear();
    this.apply(features, []);
  }

  /** Changes: features replace their vehicle's, removed ids leave. */
  apply(features, removed) {
    const now = Date.now();
    for (const feature of features) {
      const [lon, lat] = feature.geometry.coordinates;
      const [dlat, dlon] = this.toDisplay(lat, lon);
      const [mx, my] = mercator(dlat, dlon);
      const p = feature.properties;
      this.vehicles.set(feature.id, {
        id: feature.id,
        lat,
        lon,
        mx,
        my,
        state: p.state ?? (p.online ? "available" : "offline"),
        organisation: p.organisation_id,
        properties: p,
        // When the fix was taken, on this machine's clock (the server's age_seconds is as of the message).
        fixAt: now - (p.age_seconds ?? 0) * 1000,
      });
    }
    for (const id of removed) this.vehicles.delete(id);
    this.invalidate();
  }

  get(id) {
    return this.vehicles.get(id);
  }

  /** Which vehicles show: a set of unit ids (null: all) and a set of states. */
  setFilter({ organisations, states }) {
    if (organisations !== undefined) this.organisations = organisations;
    if (states !== undefined) this.states = states;
    this.invalidate();
  }

  shown(vehicle) {
    return this.states.has(vehicle.state) && (this.organisations === null || this.organisations.has(vehicle.organisation));
  }

  /** Vehicles per state among those of the chosen units (whatever the state filter). */
  counts() {
    const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const v of this.vehicles.values()) {
      if (this.organisations === null || this.organisations.has(v.organisation)) counts[v.state] = (counts[v.state] ?? 0) + 1;
    }
    return counts;
  }

  select(id) {
    this.selected = id;
    this.invalidate();
  }

  /** Where a vehicle is drawn, in pixels of the map's container (null: not on the map). */
  pointOf(id) {
    const v = this.vehicles.get(id);
    if (!v) return null;
    const [ox, oy, scale] = this.view();
    return { x: v.mx * scale - ox, y: v.my * scale - oy };
  }

  // ---- drawing ----------------------------------------------------------------------------------------------

  invalidate() {
    this.dirty = true;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  resize() {
    const size = this.map.getSize();
    const ratio = window.devicePixelRatio || 1;
    this.width = size.x;
    this.height = size.y;
    this.canvas.width = Math.round(size.x * ratio);
    this.canvas.height = Math.round(size.y * ratio);
    this.canvas.style.width = `${size.x}px`;
    this.canvas.style.height = `${size.y}px`;
    this.context.setTransform(ratio, 0, 0, ratio, 0, 0);
  }

  /** The world pixel of the container's top-left corner, and the world's size in pixels, at the current zoom. */
  view() {
    const zoom = this.map.getZoom();
    const scale = 256 * 2 ** zoom;
    const origin = this.map.containerPointToLayerPoint([0, 0]).add(this.map.getPixelOrigin());
    return [origin.x, origin.y, scale, zoom];
  }

  draw() {
    this.frame = 0;
    if (!this.dirty) return;
    this.dirty = false;
    const started = performance.now();
    const ctx = this.context;
    const { width, height } = this;
    ctx.clearRect(0, 0, width, height);
    const [ox, oy, scale, zoom] = this.view();
    const margin = CELL;
    const singles = [];
    const clusters = [];

    if (zoom >= CLUSTER_BELOW_ZOOM) {
      for (const v of this.vehicles.values()) {
        if (!this.shown(v)) continue;
        const x = v.mx * scale - ox;
        const y = v.my * scale - oy;
        if (x < -margin || y < -margin || x > width + margin || y > height + margin) continue;
        singles.push({ x, y, v });
      }
    } else {
      // Cells aligned to the world grid, so that panning moves clusters with the map instead of re-forming them.
      const firstX = Math.floor((ox - margin) / CELL);
      const firstY = Math.floor((oy - margin) / CELL);
      const columns = Math.ceil((width + 2 * margin) / CELL) + 1;
      const rows = Math.ceil((height + 2 * margin) / CELL) + 1;
      const cells = columns * rows;
      const count = new Int32Array(cells);
      const sumX = new Float64Array(cells);
      const sumY = new Float64Array(cells);
      const byState = new Int32Array(cells * STATES.length);
      const only = new Array(cells);
      const stateIndex = Object.fromEntries(STATES.map((s, i) => [s, i]));
      for (const v of this.vehicles.values()) {
        if (!this.shown(v)) continue;
        const wx = v.mx * scale;
        const wy = v.my * scale;
        const cx = Math.floor(wx / CELL) - firstX;
        const cy = Math.floor(wy / CELL) - firstY;
        if (cx < 0 || cy < 0 || cx >= columns || cy >= rows) continue;
        const cell = cy * columns + cx;
        count[cell] += 1;
        sumX[cell] += wx - ox;
        sumY[cell] += wy - oy;
        byState[cell * STATES.length + (stateIndex[v.state] ?? 4)] += 1;
        only[cell] = v;
      }
      for (let cell = 0; cell < cells; cell += 1) {
        const n = count[cell];
        if (n === 0) continue;
        const x = sumX[cell] / n;
        const y = sumY[cell] / n;
        if (n === 1) {
          singles.push({ x, y, v: only[cell] });
        } else {
          const shares = STATES.map((_, i) => byState[cell * STATES.length + i]);
          clusters.push({ x, y, n, shares, r: 11 + Math.min(4 * Math.log10(n), 12) });
        }
      }
    }

    this.drawSingles(ctx, singles, zoom);
    this.drawClusters(ctx, clusters);
    this.drawSelected(ctx, ox, oy, scale);
    this.drawn = { singles, clusters };
    this.drawMs = performance.now() - started;
  }

  drawSingles(ctx, singles, zoom) {
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#ffffff";
    for (const state of STATES) {
      ctx.beginPath();
      let any = false;
      for (const { x, y, v } of singles) {
        if (v.state !== state) continue;
        ctx.moveTo(x + RADIUS, y);
        ctx.arc(x, y, RADIUS, 0, 2 * Math.PI);
        any = true;
      }
      if (!any) continue;
      ctx.fillStyle = STATE_COLOURS[state];
      ctx.fill();
      ctx.stroke();
    }
    if (zoom >= HEADING_FROM_ZOOM) {
      ctx.beginPath();
      for (const { x, y, v } of singles) {
        if (!(v.properties.speed > 1)) continue;
        const a = ((v.properties.heading ?? 0) * Math.PI) / 180;
        const tipX = x + Math.sin(a) * (RADIUS + 6);
        const tipY = y - Math.cos(a) * (RADIUS + 6);
        ctx.moveTo(x + Math.sin(a - 0.5) * RADIUS, y - Math.cos(a - 0.5) * RADIUS);
        ctx.lineTo(tipX, tipY);
        ctx.lineTo(x + Math.sin(a + 0.5) * RADIUS, y - Math.cos(a + 0.5) * RADIUS);
      }
      ctx.fillStyle = "#333333";
      ctx.fill();
    }
    if (zoom >= LABEL_FROM_ZOOM && singles.length < 600) {
      ctx.font = "11px sans-serif";
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(255,255,255,0.9)";
      ctx.fillStyle = "#222222";
      for (const { x, y, v } of singles) {
        ctx.strokeText(v.properties.plate, x + RADIUS + 4, y);
        ctx.fillText(v.properties.plate, x + RADIUS + 4, y);
      }
    }
  }

  drawClusters(ctx, clusters) {
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.font = "bold 11px sans-serif";
    for (const c of clusters) {
      // A ring split by the share of each state, the count inside.
      let angle = -Math.PI / 2;
      for (let i = 0; i < STATES.length; i += 1) {
        if (!c.shares[i]) continue;
        const sweep = (2 * Math.PI * c.shares[i]) / c.n;
        ctx.beginPath();
        ctx.moveTo(c.x, c.y);
        ctx.arc(c.x, c.y, c.r, angle, angle + sweep);
        ctx.closePath();
        ctx.fillStyle = STATE_COLOURS[STATES[i]];
        ctx.fill();
        angle += sweep;
      }
      ctx.beginPath();
      ctx.arc(c.x, c.y, c.r - 4, 0, 2 * Math.PI);
      ctx.fillStyle = "rgba(255,255,255,0.92)";
      ctx.fill();
      ctx.fillStyle = "#1d2b3a";
      ctx.fillText(c.n > 9999 ? `${Math.round(c.n / 1000)}k` : String(c.n), c.x, c.y + 0.5);
    }
  }

  drawSelected(ctx, ox, oy, scale) {
    const v = this.selected && this.vehicles.get(this.selected);
    if (!v) return;
    const x = v.mx * scale - ox;
    const y = v.my * scale - oy;
    ctx.beginPath();
    ctx.arc(x, y, RADIUS + 5, 0, 2 * Math.PI);
    ctx.lineWidth = 3;
    ctx.strokeStyle = "#d6336c";
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(x, y, RADIUS, 0, 2 * Math.PI);
    ctx.fillStyle = STATE_COLOURS[v.state] ?? "#000";
    ctx.fill();
  }

  // ---- clicks -----------------------------------------------------------------------------------------------

  click(point) {
    for (const c of this.drawn.clusters) {
      if ((c.x - point.x) ** 2 + (c.y - point.y) ** 2 <= c.r ** 2) {
        // Zoom in on the cluster, about two levels, where it is.
        const target = this.map.containerPointToLatLng([c.x, c.y]);
        this.map.setView(target, Math.min(this.map.getZoom() + 2, CLUSTER_BELOW_ZOOM));
        return;
      }
    }
    let best = null;
    let bestDistance = (RADIUS + 6) ** 2;
    for (const s of this.drawn.singles) {
      const d = (s.x - point.x) ** 2 + (s.y - point.y) ** 2;
      if (d <= bestDistance) {
        best = s.v.id;
        bestDistance = d;
      }
    }
    if (best !== null) this.onSelect(best);
  }
}
