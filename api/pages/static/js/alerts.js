// The alert panel: open supervision alerts of vehicles, newest first, each acknowledged with a note.

import { ApiError, api, dateTime, el, t } from "./common.js";

const REFRESH_MS = 10_000;

export class Alerts {
  constructor({ layer, names, focus, canAcknowledge }) {
    this.layer = layer;
    this.names = names;
    this.focus = focus;
    this.canAcknowledge = canAcknowledge;
    this.list = document.getElementById("alert-list");
    this.error = document.getElementById("alerts-error");
    this.count = document.getElementById("alert-count");
    this.items = [];
    this.editing = null; // the alert whose note is being written: a refresh leaves it alone
  }

  start() {
    this.load();
    setInterval(() => this.load(), REFRESH_MS);
  }

  async load() {
    try {
      // The dispatch map's panel: vehicles' alerts (energy events have no place on it: GET /alerts?subject=institution).
      this.items = (await api("/alerts?open=true&subject=vehicle&limit=100")).items;
      this.error.hidden = true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) {
        this.error.textContent = t("alerts.forbidden");
        this.error.hidden = false;
        return;
      }
      this.error.textContent = `${t("error")}: ${error.message}`;
      this.error.hidden = false;
      return;
    }
    this.count.textContent = this.items.length ? String(this.items.length) : "";
    if (this.editing === null) this.render();
  }

  render() {
    if (this.items.length === 0) {
      this.list.replaceChildren(el("li", { class: "hint" }, t("alerts.none")));
      return;
    }
    this.list.replaceChildren(...this.items.map((alert) => this.item(alert)));
  }

  item(alert) {
    const plate = this.layer.get(alert.vehicle_id)?.properties.plate ?? alert.vehicle_id;
    const li = el(
      "li",
      { class: `alert level-${alert.level}`, "data-alert": alert.id },
      el("div", { class: "line" }, el("strong", {}, t(`alert.${alert.kind}`)), el("span", { class: "plate" }, plate), el("time", {}, dateTime(alert.time))),
      el("div", { class: "detail" }, alert.detail), // in the page's language (api() asks for it)
      el("div", { class: "small unit" }, alert.organisation_name ?? this.names.get(alert.organisation_id) ?? alert.organisation_id),
    );
    li.addEventListener("click", (event) => {
      if (event.target.closest("form, button")) return;
      this.focus(alert.vehicle_id, alert.latitude, alert.longitude);
    });
    if (this.canAcknowledge) {
      const button = el("button", { type: "button", class: "acknowledge" }, t("alerts.acknowledge"));
      button.addEventListener("click", () => this.noteForm(li, alert));
      li.append(button);
    }
    return li;
  }

  noteForm(li, alert) {
    this.editing = alert.id;
    const note = el("textarea", { name: "note", rows: 2, required: true, maxlength: 2000, placeholder: t("alerts.note_hint") });
    const message = el("p", { class: "error", hidden: true });
    const cancel = el("button", { type: "button" }, t("cancel"));
    const form = el("form", { class: "note" }, note, el("div", { class: "buttons" }, el("button", { type: "submit" }, t("alerts.confirm")), cancel), message);
    cancel.addEventListener("click", () => {
      this.editing = null;
      form.remove();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api(`/alerts/${alert.id}/acknowledge`, { method: "POST", body: { note: note.value.trim() } });
      } catch (error) {
        message.textContent = `${t("error")}: ${error.message}`;
        message.hidden = false;
        return;
      }
      this.editing = null;
      this.items = this.items.filter((item) => item.id !== alert.id);
      this.count.textContent = this.items.length ? String(this.items.length) : "";
      li.replaceWith(el("li", { class: "done", "data-acknowledged": alert.id }, t("alerts.done", { plate: li.querySelector(".plate").textContent })));
    });
    li.querySelector("button.acknowledge")?.remove();
    li.append(form);
    note.focus();
  }
}
