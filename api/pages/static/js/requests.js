// The request queue: submitted requests to approve or reject, approved ones with the suggested vehicles
// (GET /requests/{id}/suggestions, best first) and dispatch in one click (POST /requests/{id}/dispatch).

import { ApiError, allPages, api, dateTime, el, number, t } from "./common.js";

const REFRESH_MS = 15_000;
const SUGGESTIONS_SHOWN = 5;

export class Requests {
  constructor({ layer, names, focus, shown, map, canDispatch }) {
    this.layer = layer;
    this.names = names;
    this.focus = focus;
    this.shown = shown;
    this.map = map;
    this.canDispatch = canDispatch;
    this.list = document.getElementById("request-list");
    this.error = document.getElementById("requests-error");
    this.count = document.getElementById("request-count");
    this.driverSelect = document.getElementById("driver-select");
    this.driverNone = document.getElementById("driver-none");
    this.driverAdd = document.getElementById("driver-add");
    this.items = [];
    this.suggestions = new Map(); // request id -> {at, items}
    this.busy = false; // a step is being taken: a refresh waits
  }

  start() {
    // Only a dispatcher chooses a driver: a unit's user sees no empty selector.
    document.getElementById("driver-choice").hidden = !this.canDispatch;
    if (this.canDispatch) this.offerNewDriver();
    this.load();
    setInterval(() => this.load(), REFRESH_MS);
  }

  async load() {
    if (this.busy) return;
    try {
      // A dispatcher also records the departure (出车) and the return (还车) of the dispatched ones here.
      const states = ["approved", "submitted", ...(this.canDispatch ? ["dispatched", "under_way"] : [])];
      const lists = await Promise.all(states.map((state) => api(`/requests?state=${state}&limit=100`)));
      this.items = lists.flatMap((list) => list.items);
      if (this.canDispatch) await this.loadDrivers();
      this.error.hidden = true;
    } catch (error) {
      this.error.textContent = error instanceof ApiError && error.status === 403 ? t("requests.forbidden") : `${t("error")}: ${error.message}`;
      this.error.hidden = false;
      return;
    }
    this.showCount();
    if (!this.busy) this.render();
  }

  /** Active drivers, those on no open request first; the choice made stays chosen. */
  async loadDrivers() {
    const [drivers, dispatched, underWay] = await Promise.all([
      allPages("/drivers", { active: "true" }),
      api("/requests?state=dispatched&limit=1000"),
      api("/requests?state=under_way&limit=1000"),
    ]);
    const busy = new Set([...dispatched.items, ...underWay.items].map((r) => r.driver_id));
    const chosen = this.driverSelect.value;
    const free = drivers.filter((d) => !busy.has(d.id));
    const options = free.map((d) => el("option", { value: d.id }, `${d.name} · ${this.names.get(d.organisation_id) ?? d.organisation_id}`));
    if (options.length === 0) options.push(el("option", { value: "" }, t("requests.no_driver")));
    this.driverSelect.replaceChildren(...options);
    if (chosen && free.some((d) => String(d.id) === chosen)) this.driverSelect.value = chosen;
    // No driver at all (a new platform): say so, and open the form that adds one, rather than a dispatch that fails.
    this.driverNone.hidden = drivers.length > 0;
    if (drivers.length === 0) this.driverAdd.open = true;
  }

  /** The form that adds a driver (POST /drivers) to a unit the user may dispatch for; the new one is chosen. */
  offerNewDriver() {
    this.driverAdd.hidden = false;
    const unit = document.getElementById("driver-unit");
    const message = document.getElementById("driver-message");
    this.driverAdd.addEventListener("toggle", () => {
      if (!this.driverAdd.open || unit.options.length) return;
      const units = [...this.names].sort((a, b) => a[1].localeCompare(b[1], "zh"));
      unit.replaceChildren(...units.map(([id, name]) => el("option", { value: id }, name)));
    });
    document.getElementById("driver-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const phone = document.getElementById("driver-phone").value.trim();
      const body = {
        organisation_id: unit.value,
        name: document.getElementById("driver-name").value.trim(),
        phone: phone || null,
        licence_class: document.getElementById("driver-licence").value,
      };
      try {
        const driver = await api("/drivers", { method: "POST", body });
        await this.loadDrivers();
        this.driverSelect.value = String(driver.id);
        message.textContent = t("drivers.added", { name: driver.name });
        event.target.reset();
      } catch (error) {
        message.textContent = `${t("error")}: ${error.message}`;
      }
    });
  }

  /** The badge counts the requests waiting for a decision (approval or dispatch), not the trips under way. */
  showCount() {
    const waiting = this.items.filter((r) => r.state === "submitted" || r.state === "approved").length;
    this.count.textContent = waiting ? String(waiting) : "";
  }

  render() {
    if (this.items.length === 0) {
      this.list.replaceChildren(el("li", { class: "hint" }, t("requests.none")));
      return;
    }
    // A refresh must not wipe an odometer reading being typed (nor take the cursor from it); a reading belongs to
    // its step: the departure's is not offered again as the return's.
    const step = (input) => `${input.closest("li").dataset.request} ${input.closest("li").className}`;
    const typed = new Map([...this.list.querySelectorAll("input.odometer")].map((input) => [step(input), input]));
    const focused = document.activeElement;
    this.list.replaceChildren(...this.items.map((request) => this.item(request)));
    for (const input of this.list.querySelectorAll("input.odometer")) {
      const before = typed.get(step(input));
      if (!before) continue;
      input.value = before.value;
      if (before === focused) input.focus();
    }
  }

  item(request) {
    const dispatched = request.state === "dispatched" ? { "data-dispatched": request.id } : {};
    const li = el(
      "li",
      { class: `request state-${request.state}`, "data-request": request.id, ...dispatched },
      el("div", { class: "line" }, el("strong", {}, `#${request.id} ${request.purpose}`), el("span", { class: "pill" }, t(`request.${request.state}`))),
      el("div", {}, `${request.origin} → ${request.destination}`),
      el("div", { class: "small" }, `${request.organisation_name ?? this.names.get(request.organisation_id)} · ${t("requests.passengers", { n: request.passengers })} · ${dateTime(request.wanted_start)}`),
    );
    if (request.origin_location) {
      li.addEventListener("click", (event) => {
        if (event.target.closest("button, input")) return;
        this.map.setView(this.shown(request.origin_location.latitude, request.origin_location.longitude), Math.max(this.map.getZoom(), 14));
      });
    }
    if (!this.canDispatch) return li;
    const message = el("p", { class: "error", hidden: true });
    if (request.state === "submitted") {
      const approve = el("button", { type: "button", class: "approve" }, t("requests.approve"));
      approve.addEventListener("click", () => this.step(request, "approve", {}, message));
      const reject = el("button", { type: "button", class: "reject" }, t("requests.reject"));
      reject.addEventListener("click", () => {
        const note = prompt(t("requests.reject_reason"));
        if (note && note.trim()) this.step(request, "reject", { note: note.trim() }, message);
      });
      li.append(el("div", { class: "buttons" }, approve, reject), message);
    } else if (request.state === "dispatched" || request.state === "under_way") {
      // 出车 then 还车, with the odometer if it was read at the car (the mileage and fuel checks use it).
      const action = request.state === "dispatched" ? "depart" : "return";
      const odometer = el("input", { type: "number", class: "odometer", min: "0", step: "0.1", placeholder: t("requests.odometer") });
      const button = el("button", { type: "button", class: action }, action === "depart" ? t("requests.depart") : t("requests.return"));
      button.addEventListener("click", () => {
        const km = odometer.value.trim();
        this.step(request, action, km ? { odometer_km: Number(km) } : {}, message);
      });
      li.append(
        el("div", { class: "small assigned" }, `${request.vehicle_plate ?? request.vehicle_id} · ${request.driver_name ?? ""}`),
        el("div", { class: "buttons" }, odometer, button),
        message,
      );
    } else {
      const box = el("div", { class: "suggestions" }, el("p", { class: "hint" }, t("requests.loading")));
      li.append(box, message);
      this.showSuggestions(request, box, message);
    }
    return li;
  }

  async step(request, action, body, message) {
    this.busy = true;
    try {
      await api(`/requests/${request.id}/${action}`, { method: "POST", body });
    } catch (error) {
      message.textContent = `${t("error")}: ${error.message}`;
      message.hidden = false;
      return;
    } finally {
      this.busy = false;
    }
    await this.load();
  }

  async suggestionsOf(request) {
    const cached = this.suggestions.get(request.id);
    if (cached && Date.now() - cached.at < 30_000) return cached;
    const body = await api(`/requests/${request.id}/suggestions`);
    const found = { at: Date.now(), items: body.items };
    this.suggestions.set(request.id, found);
    return found;
  }

  async showSuggestions(request, box, message) {
    let found;
    try {
      found = await this.suggestionsOf(request);
    } catch (error) {
      box.replaceChildren(el("p", { class: "error" }, `${t("error")}: ${error.message}`));
      return;
    }
    const rows = found.items.slice(0, SUGGESTIONS_SHOWN).map((s) => {
      const button = el("button", { type: "button", class: "dispatch", "data-vehicle": s.vehicle_id }, t("requests.dispatch"));
      button.addEventListener("click", () => this.dispatch(request, s, message));
      const plate = el("a", { href: "#", class: "plate" }, s.plate);
      plate.addEventListener("click", (event) => {
        event.preventDefault();
        this.focus(s.vehicle_id, s.latitude ?? this.layer.get(s.vehicle_id)?.lat, s.longitude ?? this.layer.get(s.vehicle_id)?.lon);
      });
      const facts = [
        s.distance_km !== null && s.distance_km !== undefined ? `${number(s.distance_km, 1)} km` : null,
        s.eta_minutes !== null && s.eta_minutes !== undefined ? t("requests.eta", { n: Math.round(s.eta_minutes) }) : null,
        s.seats ? t("requests.seats", { n: s.seats }) : null,
        s.energy ? t(`energy.${s.energy}`) : null,
      ].filter(Boolean);
      return el("li", {}, plate, el("span", { class: "small" }, facts.join(" · ")), button);
    });
    box.replaceChildren(
      el("p", { class: "small" }, t("requests.suggested")),
      rows.length ? el("ul", { class: "suggested" }, rows) : el("p", { class: "hint" }, t("requests.no_vehicle")),
    );
  }

  async dispatch(request, suggestion, message) {
    const driverId = Number(this.driverSelect.value);
    if (!driverId) {
      message.textContent = t("requests.no_driver");
      message.hidden = false;
      return;
    }
    this.busy = true;
    try {
      const done = await api(`/requests/${request.id}/dispatch`, { method: "POST", body: { vehicle_id: suggestion.vehicle_id, driver_id: driverId } });
      const li = this.list.querySelector(`[data-request="${request.id}"]`);
      li?.replaceWith(el("li", { class: "done", "data-dispatched": request.id }, t("requests.done", { id: request.id, plate: done.vehicle_plate ?? suggestion.plate, driver: done.driver_name ?? driverId })));
      this.items = this.items.filter((r) => r.id !== request.id);
      this.showCount();
      this.suggestions.delete(request.id);
    } catch (error) {
      message.textContent = `${t("error")}: ${error.message}`;
      message.hidden = false;
      this.suggestions.delete(request.id); // a vehicle just taken: ask again next time
    } finally {
      this.busy = false;
    }
  }
}
