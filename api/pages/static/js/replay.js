// Track replay: GET /vehicles/{id}/track for a period, drawn as a line with its stops, and a marker that moves
// along it in fix time, with a slider to seek and a choice of speed.

import { api, dateTime, number, plain, t } from "./common.js";

const L = window.L;

export class Replay {
  constructor(map, { shown, onError }) {
    this.map = map;
    this.shown = shown;
    this.onError = onError;
    this.group = L.layerGroup().addTo(map);
    this.bar = document.getElementById("replay");
    this.slider = document.getElementById("replay-slider");
    this.timeLabel = document.getElementById("replay-time");
    this.playButton = document.getElementById("replay-play");
    this.speed = document.getElementById("replay-speed");
    this.summary = document.getElementById("replay-summary");
    this.playing = false;
    this.track = null;
    this.slider.addEventListener("input", () => {
      this.at = this.track ? this.track.times[Number(this.slider.value)] : 0;
      this.place();
    });
    this.playButton.addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    document.getElementById("replay-close").addEventListener("click", () => this.close());
  }

  /** Load and show the vehicle's track of the last `hours`. */
  async open(vehicleId, hours) {
    this.close();
    const end = new Date();
    const start = new Date(end.getTime() - hours * 3600_000);
    const query = new URLSearchParams({ start: start.toISOString(), end: end.toISOString() });
    let collection;
    try {
      collection = await api(`/vehicles/${encodeURIComponent(vehicleId)}/track?${query}`);
    } catch (error) {
      this.onError(error);
      return;
    }
    const line = collection.features.find((f) => f.geometry.type === "LineString");
    const stops = collection.features.filter((f) => f.properties.kind === "stop");
    this.bar.hidden = false;
    this.vehicleId = vehicleId;
    if (!line || line.geometry.coordinates.length === 0) {
      this.track = null;
      this.slider.max = 0;
      this.timeLabel.textContent = t("replay.empty");
      this.summary.textContent = "";
      return;
    }
    const points = line.geometry.coordinates.map(([lon, lat]) => this.shown(lat, lon));
    this.track = { points, times: line.properties.times.map((text) => Date.parse(text)), speeds: line.properties.speeds };
    L.polyline(points, { pane: "track", color: "#d6336c", weight: 3, opacity: 0.85 }).addTo(this.group);
    for (const stop of stops) {
      const [lon, lat] = stop.geometry.coordinates;
      L.circleMarker(this.shown(lat, lon), { pane: "track", radius: 4, color: "#495057", fillColor: "#fff", fillOpacity: 1, weight: 2 })
        .bindTooltip(plain(`${t("replay.stop")} ${dateTime(stop.properties.start)} · ${Math.round(stop.properties.seconds / 60)} min`))
        .addTo(this.group);
    }
    this.marker = L.circleMarker(points[0], { pane: "replay", radius: 8, color: "#fff", weight: 3, fillColor: "#d6336c", fillOpacity: 1 }).addTo(this.group);
    this.slider.max = String(points.length - 1);
    this.slider.value = "0";
    this.at = this.track.times[0];
    const p = line.properties;
    this.summary.textContent = t("replay.summary", { fixes: p.fixes, kept: p.kept, km: number(p.distance_km, 1) });
    this.map.fitBounds(L.latLngBounds(points).pad(0.2), { maxZoom: 17 });
    this.place();
  }

  /** The index of the last fix at or before `time` (binary search: tracks hold thousands of fixes). */
  indexAt(time) {
    const times = this.track.times;
    let low = 0;
    let high = times.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (times[middle] <= time) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /** Put the marker where the vehicle was at `this.at`, between two fixes in proportion to time. */
  place() {
    if (!this.track) return;
    const { points, times, speeds } = this.track;
    const i = this.indexAt(this.at);
    const j = Math.min(i + 1, points.length - 1);
    const share = times[j] > times[i] ? Math.min(Math.max((this.at - times[i]) / (times[j] - times[i]), 0), 1) : 0;
    const position = L.latLng(points[i].lat + (points[j].lat - points[i].lat) * share, points[i].lng + (points[j].lng - points[i].lng) * share);
    this.marker.setLatLng(position);
    this.slider.value = String(i);
    // A speed the terminal did not report is null: shown as "—", not as a standstill.
    this.timeLabel.textContent = `${new Date(this.at).toLocaleString()} · ${speeds[i] == null ? "—" : Math.round(speeds[i])} km/h`;
  }

  play() {
    if (!this.track) return;
    if (this.indexAt(this.at) >= this.track.times.length - 1) this.at = this.track.times[0];
    this.playing = true;
    this.playButton.textContent = t("replay.pause");
    let last = performance.now();
    const step = (now) => {
      if (!this.playing) return;
      this.at += (now - last) * Number(this.speed.value);
      last = now;
      const end = this.track.times[this.track.times.length - 1];
      if (this.at >= end) {
        this.at = end;
        this.place();
        this.pause();
        return;
      }
      this.place();
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  pause() {
    this.playing = false;
    this.playButton.textContent = t("replay.play");
  }

  close() {
    this.pause();
    this.group.clearLayers();
    this.track = null;
    this.bar.hidden = true;
  }
}

