// A unit's own trip requests (用车申请) in the requests tab, for its users: submit one (POST /requests), follow each
// through approval, dispatch and return, cancel it while it has not departed, and evaluate the trip once returned.

import { api, dateTime, el, t } from "./common.js";

const REFRESH_MS = 15_000;
const SHOWN = 30;
const CANCELLABLE = new Set(["submitted", "approved", "dispatched"]);

export class MyRequests {
  constructor({ names, unitsLoaded }) {
    this.names = names;
    this.unitsLoaded = unitsLoaded; // resolves once `names` holds the user's units
    this.list = document.getElementById("request-list");
    this.error = document.getElementById("requests-error");
    this.count = document.getElementById("request-count");
    this.form = document.getElementById("request-form");
    this.message = document.getElementById("request-message");
  }

  start() {
    document.getElementById("request-new").hidden = false;
    this.wireForm();
    this.load();
    setInterval(() => this.load(), REFRESH_MS);
  }

  wireForm() {
    const unit = document.getElementById("request-unit");
    // The user's units as soon as they are known: the form cannot be sent without one.
    this.unitsLoaded.then(() => unit.replaceChildren(...[...this.names].map(([id, name]) => el("option", { value: id }, name))));
    // A sensible start: the next whole hour but one, for two hours (the browser's local time); again after each.
    const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    const times = () => {
      const hour = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 3_600_000);
      document.getElementById("request-start").value = local(hour);
      document.getElementById("request-end").value = local(new Date(hour.getTime() + 7_200_000));
    };
    times();
    this.form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = (id) => document.getElementById(id).value.trim();
      const body = {
        organisation_id: unit.value,
        purpose: value("request-purpose"),
        passengers: Number(value("request-passengers")),
        origin: value("request-origin"),
        destination: value("request-destination"),
        wanted_start: new Date(value("request-start")).toISOString(),
        wanted_end: new Date(value("request-end")).toISOString(),
      };
      try {
        const created = await api("/requests", { method: "POST", body });
        this.message.textContent = t("mine.submitted", { id: created.id });
        this.form.reset();
        times();
        await this.load();
      } catch (error) {
        this.message.textContent = `${t("error")}: ${error.message}`;
      }
    });
  }

  async load() {
    try {
      // The newest of the unit's requests, whatever their state: a list in id order, read to its end.
      const items = [];
      let after = null;
      for (;;) {
        const page = await api(`/requests?${new URLSearchParams({ limit: "1000", ...(after ? { after } : {}) })}`);
        items.push(...page.items);
        if (!page.next_after) break;
        after = page.next_after;
      }
      this.items = items.sort((a, b) => b.id - a.id).slice(0, SHOWN);
      this.error.hidden = true;
    } catch (error) {
      this.error.textContent = `${t("error")}: ${error.message}`;
      this.error.hidden = false;
      return;
    }
    const open = this.items.filter((r) => !["rejected", "cancelled", "evaluated"].includes(r.state)).length;
    this.count.textContent = open ? String(open) : "";
    this.list.replaceChildren(...(this.items.length ? this.items.map((r) => this.item(r)) : [el("li", { class: "hint" }, t("mine.none"))]));
  }

  item(request) {
    const facts = [request.organisation_name ?? this.names.get(request.organisation_id), t("requests.passengers", { n: request.passengers }), dateTime(request.wanted_start)];
    const li = el(
      "li",
      { class: `request state-${request.state}`, "data-request": request.id },
      el("div", { class: "line" }, el("strong", {}, `#${request.id} ${request.purpose}`), el("span", { class: "pill", "data-state": request.state }, t(`request.${request.state}`))),
      el("div", {}, `${request.origin} → ${request.destination}`),
      el("div", { class: "small" }, facts.join(" · ")),
    );
    if (request.vehicle_plate) {
      const driver = [request.driver_name, request.driver_phone].filter(Boolean).join(" ");
      li.append(el("div", { class: "small assigned" }, t("mine.assigned", { plate: request.vehicle_plate, driver: driver || "–" })));
    }
    if (request.evaluation_score) li.append(el("div", { class: "small" }, t("mine.score", { n: request.evaluation_score })));
    const message = el("p", { class: "error", hidden: true });
    const fail = (error) => {
      message.textContent = `${t("error")}: ${error.message}`;
      message.hidden = false;
    };
    if (CANCELLABLE.has(request.state)) {
      const cancel = el("button", { type: "button", class: "cancel" }, t("mine.cancel"));
      cancel.addEventListener("click", async () => {
        const note = prompt(t("mine.cancel_reason"));
        if (!note || !note.trim()) return;
        try {
          await api(`/requests/${request.id}/cancel`, { method: "POST", body: { note: note.trim() } });
          await this.load();
        } catch (error) {
          fail(error);
        }
      });
      li.append(el("div", { class: "buttons" }, cancel));
    }
    if (request.state === "returned") {
      const score = el("select", { class: "score" }, ...[5, 4, 3, 2, 1].map((n) => el("option", { value: n }, t("mine.score_n", { n }))));
      const note = el("input", { class: "note", maxlength: "1000", placeholder: t("mine.note") });
      const evaluate = el("button", { type: "button", class: "evaluate" }, t("mine.evaluate"));
      evaluate.addEventListener("click", async () => {
        const body = { score: Number(score.value), ...(note.value.trim() ? { note: note.value.trim() } : {}) };
        try {
          await api(`/requests/${request.id}/evaluate`, { method: "POST", body });
          await this.load();
        } catch (error) {
          fail(error);
        }
      });
      li.append(el("div", { class: "buttons" }, score, note, evaluate));
    }
    li.append(message);
    return li;
  }
}
