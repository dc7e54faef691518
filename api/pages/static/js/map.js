// The dispatch map: every vehicle live over WS /positions/stream, filters, a vehicle's card, track replay,
// the alert panel and the request queue.

import { allPages, api, config, el, freshToken, keepAuth, auth, plain, showError, start, t, toLogin } from "./common.js";
import { displayOf, drawnIn } from "./geo.js";
import { addBaseMap, baseMapText } from "./basemap.js";
import { Areas } from "./areas.js";
import { STATES, STATE_COLOURS, VehicleLayer } from "./vehicle-layer.js";
import { Replay } from "./replay.js";
import { Alerts } from "./alerts.js";
import { MyRequests } from "./my-requests.js";
import { Requests } from "./requests.js";

const L = window.L;

// The tabs are in the page from the start, disabled until wired here, before the awaits below (the user and the
// settings): a click on a tab is taken at once, never lost while those answer.
function showTab(name) {
  for (const button of document.querySelectorAll(".tabs button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const tab of document.querySelectorAll("section.tab")) tab.hidden = tab.id !== `tab-${name}`;
}
for (const button of document.querySelectorAll(".tabs button")) {
  button.addEventListener("click", () => showTab(button.dataset.tab));
  button.disabled = false;
}

const me = await start("map");
const settings = await config();
const display = displayOf(settings);

// ---- the map ------------------------------------------------------------------------------------------------

const map = L.map("map", { preferCanvas: true, maxZoom: settings.tile_url ? settings.tile_max_zoom : 19 });
map.setView(display(...settings.center), settings.zoom);
const baseMap = addBaseMap(map, settings);
// The page states which base map it shows, beside the coordinate system its tiles are drawn in.
const baseMapLine = document.getElementById("map-basemap");
baseMapLine.textContent = baseMapText(settings);
baseMapLine.dataset.basemap = settings.basemap;
// The page states what the map draws in: a position read off it can then be compared with another map's.
const coordinates = document.getElementById("map-coordinates");
coordinates.textContent = t(`coordinates.${drawnIn(settings)}`);
coordinates.title = t("coordinates.stored");
coordinates.dataset.coordinates = drawnIn(settings);
map.createPane("areas").style.zIndex = 350;
map.createPane("track").style.zIndex = 460; // above the vehicles' canvas (450)
map.createPane("replay").style.zIndex = 470;

const names = new Map(); // organisation id -> name
const layer = new VehicleLayer(map, { toDisplay: display, onSelect: (id) => selectVehicle(id) });

/** Lat/lon to Leaflet's LatLng as the tiles draw it. */
export function shown(lat, lon) {
  return L.latLng(...display(lat, lon));
}

const areas = new Areas(map, { shown, names });
areas.start();

// ---- filters ------------------------------------------------------------------------------------------------

const unitSelect = document.getElementById("unit-filter");
const stateBoxes = document.getElementById("state-filter");
const countSpans = {};
for (const state of STATES) {
  const box = el("input", { type: "checkbox", value: state, checked: true, "data-state": state });
  countSpans[state] = el("span", { class: "count" }, "0");
  stateBoxes.append(el("label", { class: "state" }, box, el("span", { class: "swatch", style: `background:${STATE_COLOURS[state]}` }), t(`state.${state}`), " ", countSpans[state]));
}
stateBoxes.addEventListener("change", () => {
  const states = new Set([...stateBoxes.querySelectorAll("input:checked")].map((box) => box.value));
  layer.setFilter({ states });
});
unitSelect.addEventListener("change", () => {
  layer.setFilter({ organisations: unitSelect.value ? new Set([unitSelect.value]) : null });
  showCounts();
});
const unitsLoaded = allPages("/organisations").then((units) => {
  for (const unit of units.sort((a, b) => a.name.localeCompare(b.name, "zh"))) {
    names.set(unit.id, unit.name);
    unitSelect.append(el("option", { value: unit.id }, unit.name));
  }
  if (selected) renderCard();
});

document.getElementById("plate-search").addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  const wanted = event.target.value.trim().toUpperCase();
  if (!wanted) return;
  for (const v of layer.vehicles.values()) {
    if (v.properties.plate.toUpperCase().includes(wanted) || v.id.toUpperCase() === wanted) {
      selectVehicle(v.id);
      map.setView(shown(v.lat, v.lon), Math.max(map.getZoom(), 16));
      return;
    }
  }
  event.target.classList.add("not-found");
  setTimeout(() => event.target.classList.remove("not-found"), 1200);
});

function showCounts() {
  const counts = layer.counts();
  let total = 0;
  for (const state of STATES) {
    countSpans[state].textContent = counts[state];
    total += counts[state];
  }
  document.getElementById("vehicle-total").textContent = t("map.total", { n: total.toLocaleString() });
}

// ---- the stream ---------------------------------------------------------------------------------------------

const status = document.getElementById("stream-status");
// cursor: the map's version this page holds; a reconnection asks only for what changed since (since=<cursor>).
// wholeMaps and resumes count the first messages that brought the whole map and those that brought only changes.
const stream = { socket: null, messages: 0, features: 0, snapshotAt: null, lastAt: null, sentToken: null, retry: 1000, cursor: null, wholeMaps: 0, resumes: 0 };

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

function connect() {
  setStatus("connecting", t("stream.connecting"));
  const since = stream.cursor ? `?since=${encodeURIComponent(stream.cursor)}` : "";
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/positions/stream${since}`);
  stream.socket = socket;
  socket.addEventListener("open", async () => {
    stream.sentToken = await freshToken();
    socket.send(JSON.stringify({ type: "auth", token: stream.sentToken }));
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    stream.messages += 1;
    stream.lastAt = Date.now();
    if (message.cursor) stream.cursor = message.cursor;
    if (message.type === "FeatureCollection") {
      // After a reconnection the server may send only what changed since the page's cursor (whole: false).
      if (message.whole === false) {
        layer.apply(message.features, message.removed);
        stream.resumes += 1;
      } else {
        layer.setAll(message.features);
        stream.wholeMaps += 1;
      }
      stream.snapshotAt = Date.now();
      stream.retry = 1000;
      setStatus("live", t("stream.live"));
    } else if (message.type === "changes") {
      layer.apply(message.features, message.removed);
      stream.features += message.features.length;
    }
    // Only the map's messages touch the card: an alerts message (for the alert panel's users) carries no vehicles.
    if (message.type !== "FeatureCollection" && message.type !== "changes") return;
    countsDue = true;
    if (selected && (message.type === "FeatureCollection" || message.features.some((f) => f.id === selected) || message.removed.includes(selected))) cardDue = true;
  });
  socket.addEventListener("close", (event) => {
    if (stream.socket !== socket) return;
    if (event.code === 4401) {
      // The token was refused (expired, or the session ended): refresh it, or log in again.
      const current = auth();
      if (current) keepAuth({ ...current, expires_in: 0 });
      else toLogin();
    }
    if (event.code === 4403) {
      setStatus("error", t("stream.forbidden"));
      return;
    }
    setStatus("error", t("stream.reconnecting", { reason: event.reason || event.code }));
    setTimeout(connect, stream.retry);
    stream.retry = Math.min(stream.retry * 2, 15_000);
  });
}
connect();

// Before the token expires, the stream gets a fresh one (same user); the server would close at the expiry.
setInterval(async () => {
  if (stream.socket?.readyState !== WebSocket.OPEN) return;
  const token = await freshToken();
  if (token !== stream.sentToken) {
    stream.sentToken = token;
    stream.socket.send(JSON.stringify({ type: "auth", token }));
  }
}, 20_000);

let countsDue = false;
let cardDue = false;
setInterval(() => {
  if (countsDue) {
    countsDue = false;
    showCounts();
  }
  if (cardDue) {
    cardDue = false;
    renderCard();
  } else if (selected) {
    updateAge();
  }
}, 500);

// ---- the vehicle's card -------------------------------------------------------------------------------------

let selected = null;
const cardBox = document.getElementById("card");
const drivers = new Map();
const requests = new Map();

function selectVehicle(id) {
  selected = id;
  layer.select(id);
  showTab("card");
  renderCard();
}

async function lookup(cache, key, path) {
  if (key === null || key === undefined) return null;
  const found = cache.get(key);
  if (found && Date.now() - found.at < 30_000) return found.value;
  try {
    const value = await api(path);
    cache.set(key, { at: Date.now(), value });
    return value;
  } catch {
    return null;
  }
}

function row(label, value, id) {
  return el("div", { class: "row" }, el("dt", {}, t(label)), el("dd", id ? { id } : {}, value ?? "–"));
}

function renderCard() {
  const v = selected && layer.get(selected);
  document.getElementById("card-empty").hidden = Boolean(v);
  cardBox.hidden = !v;
  if (!v) return;
  const p = v.properties;
  const charge = p.soc !== null && p.soc !== undefined ? `${Math.round(p.soc)}%` : p.fuel !== null && p.fuel !== undefined ? `${p.fuel} L` : "–";
  const card = el(
    "div",
    { class: "card", "data-vehicle": v.id },
    el("h3", {}, el("span", { class: "plate", id: "card-plate" }, p.plate), el("span", { class: `pill state-${v.state}`, id: "card-state" }, t(`state.${v.state}`))),
    el(
      "dl",
      {},
      row("card.unit", names.get(p.organisation_id) ?? p.organisation_id),
      row("card.driver", p.driver_id ? "…" : t("card.none"), "card-driver"),
      row("card.request", p.request_id ? `#${p.request_id} …` : t("card.none"), "card-request"),
      // Speed, heading and ignition are optional in the position contract: "—" where the terminal reports none.
      row("card.speed", `${p.speed == null ? "—" : Math.round(p.speed)} km/h · ${p.heading == null ? "—" : Math.round(p.heading)}°`, "card-speed"),
      row("card.ignition", p.ignition == null ? "—" : p.ignition ? t("card.on") : t("card.off")),
      row("card.battery", charge, "card-battery"),
      row("card.age", "", "card-age"),
      // As stored and answered by the API, whatever the tiles: a position to give to another map.
      row("card.position", `${v.lat.toFixed(5)}, ${v.lon.toFixed(5)} (WGS-84)`, "card-position"),
    ),
    el(
      "div",
      { class: "replay-form" },
      el("label", {}, t("replay.range"), " ", el("select", { id: "replay-hours" }, [1, 6, 24, 72].map((h) => el("option", { value: h, selected: h === 6 }, t("replay.hours", { n: h }))))),
      el("button", { type: "button", id: "replay-open" }, t("replay.open")),
      el("button", { type: "button", id: "card-centre" }, t("card.centre")),
    ),
  );
  cardBox.replaceChildren(card);
  updateAge();
  document.getElementById("replay-open").addEventListener("click", () => replay.open(v.id, Number(document.getElementById("replay-hours").value)));
  document.getElementById("card-centre").addEventListener("click", () => map.setView(shown(v.lat, v.lon), Math.max(map.getZoom(), 16)));
  const id = v.id;
  lookup(drivers, p.driver_id, `/drivers/${p.driver_id}`).then((driver) => {
    const box = document.getElementById("card-driver");
    if (box && selected === id && p.driver_id) box.textContent = driver ? `${driver.name}${driver.phone ? ` · ${driver.phone}` : ""}` : `#${p.driver_id}`;
  });
  lookup(requests, p.request_id, `/requests/${p.request_id}`).then((request) => {
    const box = document.getElementById("card-request");
    if (box && selected === id && p.request_id) box.textContent = request ? `#${request.id} ${request.purpose} · ${request.origin} → ${request.destination}` : `#${p.request_id}`;
  });
}

function updateAge() {
  const v = selected && layer.get(selected);
  const box = document.getElementById("card-age");
  if (!v || !box) return;
  const seconds = (Date.now() - v.fixAt) / 1000;
  box.textContent = `${ageText(seconds)} (${new Date(v.properties.time).toLocaleTimeString()})`;
  box.classList.toggle("stale", seconds > settings.offline_seconds);
}

function ageText(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("age.seconds", { n: s });
  if (s < 3600) return t("age.minutes", { n: Math.floor(s / 60) });
  return t("age.hours", { n: Math.floor(s / 3600) });
}

// ---- tabs, replay, alerts, requests -------------------------------------------------------------------------

const replay = new Replay(map, { shown, onError: (e) => showError("#card-empty", e) });
const focus = (vehicleId, lat, lon) => {
  if (layer.get(vehicleId)) selectVehicle(vehicleId);
  if (lat !== null && lat !== undefined) map.setView(shown(lat, lon), Math.max(map.getZoom(), 15));
};
const alerts = new Alerts({ layer, names, focus, canAcknowledge: me.role === "admin" || me.role === "dispatcher" });
// Dispatchers work the queue; a unit's users submit and follow their own requests.
const canDispatch = me.role === "admin" || me.role === "dispatcher";
const queue = me.role === "unit_user" ? new MyRequests({ names, unitsLoaded }) : new Requests({ layer, names, focus, shown, map, canDispatch });
alerts.start();
queue.start();

// For tests and the bench: the page's parts, read-only by intent.
window.yiwang = { map, baseMap, areas, layer, stream, replay, alerts, queue, selectVehicle, showTab };
