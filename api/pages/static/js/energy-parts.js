// What the energy dashboard and the institution page share: the period chosen, the indicator cards, charts.

import { download, el, isoDay, lang, number, percent, showError, t } from "./common.js";

// Read when shown (getters), in the page's language: "kgce/人" in Chinese, "kgce/person" in English.
export const INDICATOR_UNITS = {
  get energy_per_capita() { return t("indicator_unit.energy_per_capita"); },
  get energy_per_area() { return t("indicator_unit.energy_per_area"); },
  get water_per_capita() { return t("indicator_unit.water_per_capita"); },
};

/** A figure the API gives as null, in words: "–" and why (no readings, no floor area...), never 0. */
export function missing(reason) {
  return el("span", { class: "missing", "data-reason": reason ?? "" }, reason ? `– ${t(`reason.${reason}`)}` : "–");
}

/** A figure with its unit, or why it has none. */
export function figure(value, unit, reason, digits = 1) {
  return value === null || value === undefined ? missing(reason) : `${number(value, digits)} ${unit}`;
}

/** The mark of a figure that holds staff's corrections of meters' days (GET /energy/corrections): nothing when none. */
export function correctedMark(days) {
  if (!days) return null;
  return el("span", { class: "corrected", "data-corrected": days, title: t("corrected.title", { n: days }) }, ` ${t("corrected.mark")}`);
}

/** The corrected meter-days in a period's comprehensive energy: its energies' but water's, which is no energy. */
export function energyCorrected(figures) {
  return figures.consumption.filter((c) => c.energy_type !== "water").reduce((n, c) => n + (c.corrected_days || 0), 0);
}

/** The latest whole period the data covers, for a page opened without one: the last whole month with data from its
 * first whole day, else the last (up to) seven whole days with data; null when no whole day has data yet. `extent` is
 * GET /energy/extent's answer; `today` the local date. */
export function openingPeriod(extent, today) {
  if (!extent.last_day) return null;
  const day = (text) => new Date(Number(text.slice(0, 4)), Number(text.slice(5, 7)) - 1, Number(text.slice(8, 10)));
  // The first day with data is most likely partial (data rarely begins at midnight): whole days start after it.
  const first = day(extent.first_day);
  first.setDate(first.getDate() + 1);
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  const last = day(extent.last_day) < yesterday ? day(extent.last_day) : yesterday;
  if (last < first) return null;
  const nextDay = new Date(last.getFullYear(), last.getMonth(), last.getDate() + 1);
  // The month of the last whole day if that day ends it, else the month before.
  const monthEnd = nextDay.getDate() === 1 ? nextDay : new Date(last.getFullYear(), last.getMonth(), 1);
  const monthStart = new Date(monthEnd.getFullYear(), monthEnd.getMonth() - 1, 1);
  if (monthStart >= first) return { year: monthStart.getFullYear(), month: monthStart.getMonth() + 1 };
  const weekStart = new Date(last.getFullYear(), last.getMonth(), last.getDate() - 6);
  return { start: isoDay(weekStart > first ? weekStart : first), end: isoDay(nextDay) };
}

/** The year and month selects (and a range of days, when one is asked or opened on); calls `changed(period)` with
 * {start, end, year, month, label} (end exclusive, to tomorrow). Without a period in the address, `opening` (if
 * given) is asked for the data's extent and the page opens on the latest whole period with data, saying so. */
export function periodControls(changed, opening = null) {
  const yearSelect = document.getElementById("year");
  const monthSelect = document.getElementById("month");
  const now = new Date();
  for (let year = now.getFullYear(); year >= now.getFullYear() - 5; year -= 1) yearSelect.append(el("option", { value: year }, String(year)));
  monthSelect.append(el("option", { value: "" }, t("period.whole_year")));
  for (let month = 1; month <= 12; month += 1) monthSelect.append(el("option", { value: month }, t("period.month_n", { n: month })));
  let range = null; // {start, end} of the range option, when there is one
  let note = ""; // why this period was opened on
  const offerRange = (start, end) => {
    range = { start, end };
    const days = Math.round((new Date(end) - new Date(start)) / 86400_000);
    monthSelect.append(el("option", { value: "range" }, t("period.days_n", { n: days })));
    yearSelect.value = start.slice(0, 4);
    monthSelect.value = "range";
  };
  const period = () => {
    if (monthSelect.value === "range" && range) {
      const until = new Date(new Date(range.end).getTime() - 86400_000);
      return { ...range, year: Number(range.start.slice(0, 4)), month: null, range: true, label: `${range.start} – ${isoDay(until)}` };
    }
    const year = Number(yearSelect.value);
    const month = monthSelect.value ? Number(monthSelect.value) : null;
    const start = new Date(year, month ? month - 1 : 0, 1);
    const end = month ? new Date(year, month, 1) : new Date(year + 1, 0, 1);
    const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
    // A period still running counts to today: quotas are pro rata for the days it covers.
    const until = end > tomorrow ? tomorrow : end;
    if (until <= start) return null;
    return { start: isoDay(start), end: isoDay(until), year, month, label: `${isoDay(start)} – ${isoDay(new Date(until.getTime() - 86400_000))}` };
  };
  const fire = () => {
    const p = period();
    const label = document.getElementById("period-label");
    if (label) label.textContent = p ? `${t("period.shown")}${p.label}${note}` : t("period.future");
    if (p) changed(p);
  };
  const chosen = () => {
    note = "";
    fire();
  };
  yearSelect.addEventListener("change", () => {
    if (monthSelect.value === "range") monthSelect.value = "";
    chosen();
  });
  monthSelect.addEventListener("change", chosen);
  const params = new URLSearchParams(location.search);
  (async () => {
    if (params.get("start") && params.get("end")) {
      offerRange(params.get("start"), params.get("end"));
    } else if (params.get("year")) {
      yearSelect.value = params.get("year");
      if (params.get("month")) monthSelect.value = params.get("month");
    } else if (opening) {
      try {
        const open = openingPeriod(await opening(), now);
        if (open?.month) {
          yearSelect.value = String(open.year);
          monthSelect.value = String(open.month);
          note = t("period.opened_month");
        } else if (open) {
          offerRange(open.start, open.end);
          note = t("period.opened_days");
        }
      } catch {
        // No extent: the year as before.
      }
    }
    fire();
  })();
  return period;
}

/** The assessed indicators (考核指标), in the order the pages show them. */
export const ASSESSED = ["energy_per_capita", "energy_per_area", "water_per_capita"];
const SEVERITY = { unknown: 0, ok: 1, near: 2, over: 3 };

function quotaOf(row, indicator) {
  return row.quotas.find((q) => q.indicator === indicator) ?? null;
}

/** The worst status of a row's quota checks: over, near, ok, unknown (no check can be computed), or null (no quota). */
export function worstStatus(checks) {
  if (!checks?.length) return null;
  return checks.reduce((worst, q) => ((SEVERITY[q.status ?? "unknown"] > SEVERITY[worst]) ? q.status : worst), "unknown");
}

/** A value in % of its quota (null when the quota is nil: a tiny year's quota pro rata for a few days). */
export function percentOfQuota(check) {
  const limit = Number(check.limit);
  return check.value === null || !(limit > 0) ? null : (Number(check.value) / limit) * 100;
}

/** "indicator value / quota · status", a line per check: the title of a badge or cell. */
export function quotaDetails(checks) {
  return checks
    .map((q) => `${t(`indicator.${q.indicator}`)}: ${number(q.value, 2)} / ${number(q.limit, 4)} ${INDICATOR_UNITS[q.indicator]} · ${t(`quota.${q.status ?? "unknown"}`)}`)
    .join("\n");
}

/** A badge of an institution's quota status (its worst indicator), its checks in the title. */
export function quotaBadge(checks) {
  const status = worstStatus(checks);
  if (!status) return el("span", { class: "quota-badge quota-none", "data-status": "none", title: t("kpi.no_quota") }, t("quota.none"));
  return el("span", { class: `quota-badge quota-${status}`, "data-status": status, title: quotaDetails(checks) }, t(`quota.${status}`));
}

/** How many rows are over, near, ok, unknown (worst status) and without quota; per indicator too. */
export function quotaCounts(rows) {
  const counts = { over: 0, near: 0, ok: 0, unknown: 0, none: 0, indicators: {} };
  for (const key of ASSESSED) counts.indicators[key] = { over: 0, near: 0, ok: 0, unknown: 0, assessed: 0 };
  for (const row of rows) {
    counts[worstStatus(row.quotas) ?? "none"] += 1;
    for (const q of row.quotas) {
      const c = counts.indicators[q.indicator];
      c.assessed += 1;
      c[q.status ?? "unknown"] += 1;
    }
  }
  return counts;
}

function card(key, value, unit, change, quota, note, reason, incomplete = false) {
  const status = quota?.status ?? null;
  let quotaLine = el("div", { class: "small quota" }, t("kpi.no_quota"));
  if (note) quotaLine = el("div", { class: "small quota" }, note);
  else if (quota) quotaLine = el("div", { class: "small quota" }, `${t("kpi.quota")} ${number(quota.limit, 2)} · ${t(`quota.${status ?? "unknown"}`)}`);
  return el(
    "div",
    { class: `kpi${status ? ` quota-${status}` : ""}`, "data-kpi": key },
    el("div", { class: "label" }, t(`indicator.${key}`)),
    value === null || value === undefined
      ? el("div", { class: "value" }, missing(reason))
      : el("div", { class: "value" }, number(value, 2), el("span", { class: "unit" }, ` ${unit}`)),
    // Shown, but its readings do not cover the period: not final, and never to look complete.
    incomplete ? el("div", { class: "small incomplete" }, missing("incomplete_period")) : "",
    el("div", { class: "small" }, `${t("kpi.vs_last_year")} ${percent(change)}`),
    quotaLine,
  );
}

/** The indicator cards of one row of GET /energy/indicators (city, category or institution). A row that carries no
 * quota checks of its own (the city) may be given `notes`: a quota line per indicator, e.g. how many are over. */
export function kpiCards(box, row, notes = {}) {
  if (!row) {
    box.replaceChildren(el("p", { class: "hint" }, t("energy.no_data")));
    return;
  }
  const c = row.current;
  const change = row.change_last_year;
  const partial = (key) => (c.incomplete ?? []).includes(key);
  box.replaceChildren(
    card("energy_tce", c.energy_tce, "tce", change.energy_kgce, null, null, c.reasons?.energy_tce, partial("energy_tce")),
    ...ASSESSED.map((key) => card(key, c[key], INDICATOR_UNITS[key], change[key], quotaOf(row, key), notes[key] ?? null, c.reasons?.[key], partial(key))),
    card("carbon_tco2", c.carbon_tco2, "tCO₂", change.carbon_tco2, null, null, c.reasons?.carbon_tco2, partial("carbon_tco2")),
  );
}

function shareText(share) {
  if (share === null) return "–";
  if (share > 0 && share < 0.1) return "<0.1%";
  return `${number(share, share >= 1000 ? 0 : 1)}%`;
}

function quotaCell(check) {
  if (!check) return el("td", { class: "quota-cell", "data-status": "none" }, el("span", { class: "hint" }, t("kpi.no_quota")));
  const status = check.status ?? "unknown";
  const share = percentOfQuota(check);
  const fill = el("span", { class: "fill" });
  // The track is 0-120% of the quota; its tick marks 100%.
  fill.style.width = `${share === null ? (status === "over" ? 100 : 0) : Math.min(share, 120) / 1.2}%`;
  return el(
    "td",
    { class: `quota-cell quota-${status}`, "data-indicator": check.indicator, "data-status": status, title: quotaDetails([check]) },
    el("div", { class: "quota-line" }, el("span", { class: "share" }, shareText(share)), el("span", { class: `quota-badge quota-${status}` }, t(`quota.${status}`))),
    el("div", { class: "quota-bar" }, fill),
    el("div", { class: "small" }, `${number(check.value, 2)} / ${number(check.limit, 2)} ${INDICATOR_UNITS[check.indicator]}`),
  );
}

/** The quota panel: institutions over and near quota, and each category's assessed indicators in % of its quota,
 * from the category and institution rows of GET /energy/indicators (the city row carries no quota checks). */
export function quotaPanel(box, { categories, institutions, year }) {
  const counts = quotaCounts(institutions);
  const withQuota = categories.filter((r) => r.category && r.quotas.length);
  if (!withQuota.length && counts.none === institutions.length) {
    box.replaceChildren(
      el("p", { class: "quota-none-set", id: "quota-none" }, t("quota.none_set", { year })),
      el("p", { class: "small" }, t("quota.how_to_set")),
    );
    return;
  }
  const chip = (status, n) =>
    el("span", { class: `quota-chip quota-${status}`, "data-status": status }, el("span", { class: "label" }, t(`quota.${status}`)), " ", el("b", { class: "count" }, String(n)), t("quota.institutions_unit"));
  const summary = el(
    "div",
    { class: "quota-summary", id: "quota-summary" },
    chip("over", counts.over),
    chip("near", counts.near),
    chip("ok", counts.ok),
    counts.unknown ? chip("unknown", counts.unknown) : null,
    counts.none ? chip("none", counts.none) : null,
  );
  const table = withQuota.length
    ? el(
        "table",
        { id: "quota-table" },
        el("thead", {}, el("tr", {}, el("th", {}, t("ranking.category")), ...ASSESSED.map((key) => el("th", {}, t(`indicator.${key}`))))),
        el(
          "tbody",
          {},
          withQuota.map((row) => el("tr", { "data-category": row.category }, el("td", {}, t(`category.${row.category}`)), ...ASSESSED.map((key) => quotaCell(quotaOf(row, key))))),
        ),
      )
    : el("p", { class: "hint" }, t("quota.no_category_quotas"));
  const without = categories.filter((r) => r.category && !r.quotas.length).map((r) => t(`category.${r.category}`));
  const notes = [without.length ? t("quota.categories_without", { list: without.join(lang() === "zh" ? "、" : ", ") }) : null, t("quota.pro_rata")];
  box.replaceChildren(el("div", { class: "small" }, t("quota.counted", { year })), summary, table, el("p", { class: "small" }, notes.filter(Boolean).join(" ")));
}

/** An ECharts chart in `id`, resized with the window. */
export function chart(id) {
  const box = document.getElementById(id);
  const instance = window.echarts.init(box, null, { renderer: "canvas" });
  window.addEventListener("resize", () => instance.resize());
  return instance;
}

/** Wire an export button: the energy report of the period (and filters) as a file. */
export function exportButton(id, path, params, name, errorBox) {
  document.getElementById(id).addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      await download(`${path}?${new URLSearchParams(params())}`, name);
    } catch (error) {
      showError(errorBox, error);
    } finally {
      button.disabled = false;
    }
  });
}
