// The energy dashboard: the city's indicators, quotas by category and institution, by category, the ranking with each
// institution's quota status, data quality, exports.

import { allPages, api, el, lang, number, showError, start, t } from "./common.js";
import { ASSESSED, INDICATOR_UNITS, chart, exportButton, figure, kpiCards, missing, periodControls, quotaBadge, quotaCounts, quotaPanel } from "./energy-parts.js";

const me = await start("energy");
const errorBox = document.getElementById("energy-error");
const categoryChart = chart("category-chart");
const rankingIndicator = document.getElementById("ranking-indicator");
const rankingCategory = document.getElementById("ranking-category");
const rankingSearch = document.getElementById("ranking-search");
const CATEGORIES = ["agency", "public_institution", "school", "hospital", "community", "venue"];
for (const category of CATEGORIES) rankingCategory.append(el("option", { value: category }, t(`category.${category}`)));

let period = null;
// Institution names for the quality table (the ranking has them too, but may come later).
const institutionNames = allPages("/institutions").then((items) => new Map(items.map((i) => [i.id, i.name])), () => new Map());
let ranking = [];
// Each institution's quota checks of the period (GET /energy/indicators?group=institution), for the ranking's badges.
let institutionQuotas = null;
const loaded = { city: false, ranking: false, quality: false };

const current = periodControls(
  (p) => {
    period = p;
    loadAll();
  },
  () => api("/energy/extent"),
);

function loadAll() {
  errorBox.hidden = true;
  for (const key of Object.keys(loaded)) loaded[key] = false;
  loadCity();
  loadRanking();
  loadQuality();
}

async function loadCity() {
  const q = new URLSearchParams({ start: period.start, end: period.end });
  institutionQuotas = null;
  try {
    // Quotas are set per category or institution: the city row carries no quota checks, its groups do.
    const [city, byCategory, byInstitution] = await Promise.all([
      api(`/energy/indicators?${q}&group=city`),
      api(`/energy/indicators?${q}&group=category`),
      api(`/energy/indicators?${q}&group=institution`),
    ]);
    const row = city.rows[0] ?? null;
    const counts = quotaCounts(byInstitution.rows);
    kpiCards(document.getElementById("city-kpis"), row, Object.fromEntries(ASSESSED.map((key) => [key, cityQuotaNote(counts.indicators[key])])));
    quotaPanel(document.getElementById("quota-panel"), { categories: byCategory.rows, institutions: byInstitution.rows, year: period.year });
    institutionQuotas = new Map(byInstitution.rows.map((r) => [r.institution_id, r.quotas]));
    if (loaded.ranking) renderRanking();
    const rows = byCategory.rows.filter((r) => r.category);
    categoryChart.setOption(
      {
        tooltip: { trigger: "axis" },
        // The legend above the axes' names (an English one is long enough to cover them), every category named:
        // a long name breaks onto a second line rather than being dropped.
        legend: { top: 0, type: "scroll" },
        grid: { left: 60, right: 60, top: 64, bottom: 48 },
        xAxis: {
          type: "category",
          data: rows.map((r) => t(`category.${r.category}`)),
          axisLabel: { interval: 0, hideOverlap: false, width: 90, overflow: "break" },
        },
        yAxis: [
          { type: "value", name: INDICATOR_UNITS.energy_per_capita },
          { type: "value", name: INDICATOR_UNITS.energy_per_area },
        ],
        series: [
          { type: "bar", name: t("indicator.energy_per_capita"), data: rows.map((r) => num(r.current.energy_per_capita)) },
          { type: "bar", name: t("indicator.energy_per_area"), yAxisIndex: 1, data: rows.map((r) => num(r.current.energy_per_area)) },
          { type: "line", name: `${t("indicator.energy_per_capita")} ${t("kpi.last_year")}`, data: rows.map((r) => num(r.last_year.energy_per_capita)), lineStyle: { type: "dashed" } },
        ],
      },
      true,
    );
  } catch (error) {
    showError(errorBox, error);
  } finally {
    loaded.city = true;
  }
}

/** The quota line of a city card: how many institutions are over and near the quota of that indicator. */
function cityQuotaNote(c) {
  return c.assessed ? t("kpi.institutions_over", { over: c.over, near: c.near, assessed: c.assessed }) : t("kpi.no_quota");
}

function num(value) {
  return value === null || value === undefined ? null : Number(value);
}

async function loadRanking() {
  const q = new URLSearchParams({ start: period.start, end: period.end, indicator: rankingIndicator.value });
  if (rankingCategory.value) q.set("category", rankingCategory.value);
  try {
    ranking = (await api(`/energy/rankings?${q}`)).items;
    renderRanking();
  } catch (error) {
    showError(errorBox, error);
  } finally {
    loaded.ranking = true;
  }
}

function institutionLink(id, name) {
  const q = new URLSearchParams({ id, year: String(period.year) });
  if (period.month) q.set("month", String(period.month));
  if (period.range) {
    q.set("start", period.start);
    q.set("end", period.end);
  }
  return el("a", { href: `institution.html?${q}`, class: "institution-link", "data-institution": id }, name);
}

function renderRanking() {
  const wanted = rankingSearch.value.trim();
  const unit = INDICATOR_UNITS[rankingIndicator.value];
  const rows = ranking
    .filter((r) => !wanted || r.institution_name.includes(wanted) || r.institution_id.includes(wanted))
    .slice(0, 300)
    .map((r) =>
      el(
        "tr",
        {},
        el("td", {}, r.rank ?? "–"),
        el("td", {}, institutionLink(r.institution_id, r.institution_name)),
        el("td", {}, t(`category.${r.category}`)),
        // Unranked: no figure, or one on incomplete data, and why (listed after the ranked ones); without a
        // headcount, its rank by floor area.
        el(
          "td",
          { class: "num" },
          figure(r.value, unit, r.reason, 2),
          r.value !== null && r.reason ? missing(r.reason) : "",
          r.floor_area_rank ? el("div", { class: "small" }, t("ranking.by_floor_area", { rank: r.floor_area_rank })) : "",
        ),
        el("td", { class: "quota-status" }, institutionQuotas ? quotaBadge(institutionQuotas.get(r.institution_id) ?? []) : "…"),
      ),
    );
  document.querySelector("#ranking-table tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 5, class: "hint" }, t("energy.no_data")))]));
}

rankingIndicator.addEventListener("change", loadRanking);
rankingCategory.addEventListener("change", loadRanking);
rankingSearch.addEventListener("input", renderRanking);

async function loadQuality() {
  const q = new URLSearchParams({ start: period.start, end: period.end });
  try {
    const report = await api(`/energy/quality?${q}`);
    const institutions = report.institutions;
    const meters = report.meters.length;
    const silent = report.meters.filter((m) => m.silent).length;
    const readings = institutions.reduce((sum, i) => sum + i.readings, 0);
    const expected = institutions.reduce((sum, i) => sum + i.expected, 0);
    document.getElementById("quality-kpis").replaceChildren(
      el("div", { class: "kpi" }, el("div", { class: "label" }, t("quality.meters")), el("div", { class: "value" }, number(meters, 0))),
      el("div", { class: "kpi" }, el("div", { class: "label" }, t("quality.completeness")), el("div", { class: "value" }, expected ? `${((readings / expected) * 100).toFixed(1)}%` : "–")),
      el("div", { class: `kpi${silent ? " quota-over" : ""}` }, el("div", { class: "label" }, t("quality.silent")), el("div", { class: "value" }, number(silent, 0))),
    );
    const names = await institutionNames;
    // The worst first: least complete, then most silent meters.
    const worst = [...institutions].sort((a, b) => Number(a.completeness ?? 0) - Number(b.completeness ?? 0) || b.silent_meters - a.silent_meters).slice(0, 50);
    document.querySelector("#quality-table tbody").replaceChildren(
      ...worst.map((i) =>
        el(
          "tr",
          {},
          el("td", {}, institutionLink(i.institution_id, names.get(i.institution_id) ?? i.institution_id)),
          el("td", { class: "num" }, i.meters),
          el("td", { class: "num" }, i.completeness === null ? "–" : `${(Number(i.completeness) * 100).toFixed(1)}%`),
          el("td", { class: "num" }, i.silent_meters),
          el("td", { class: "num" }, i.implausible),
        ),
      ),
    );
  } catch (error) {
    showError(errorBox, error);
  } finally {
    loaded.quality = true;
  }
}

/** Quotas set in the page by those who keep them (admins and energy staff): PUT /quotas for a category or an
 * institution, then the panel and the ranking again. */
async function offerQuotaForm() {
  const box = document.getElementById("quota-set");
  const year = document.getElementById("quota-year");
  const indicator = document.getElementById("quota-indicator");
  const holder = document.getElementById("quota-holder");
  const unit = document.getElementById("quota-unit");
  const message = document.getElementById("quota-message");
  indicator.replaceChildren(...ASSESSED.map((key) => el("option", { value: key }, t(`indicator.${key}`))));
  const showUnit = () => (unit.textContent = INDICATOR_UNITS[indicator.value]);
  indicator.addEventListener("change", showUnit);
  showUnit();
  const names = await institutionNames;
  holder.replaceChildren(
    el("optgroup", { label: t("quota.by_category") }, ...CATEGORIES.map((c) => el("option", { value: `category:${c}` }, t(`category.${c}`)))),
    el("optgroup", { label: t("quota.by_institution") }, ...[...names].sort((a, b) => a[1].localeCompare(b[1], "zh")).map(([id, name]) => el("option", { value: `institution:${id}` }, name))),
  );
  box.addEventListener("toggle", () => {
    if (box.open && !year.value) year.value = String(period?.year ?? new Date().getFullYear());
  });
  box.hidden = false;
  document.getElementById("quota-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const [kind, id] = holder.value.split(/:(.*)/s);
    const body = { year: Number(year.value), indicator: indicator.value, limit_value: document.getElementById("quota-limit").value };
    body[kind === "category" ? "category" : "institution_id"] = id;
    try {
      await api("/quotas", { method: "PUT", body });
      message.textContent = t("quota.saved", { year: body.year, holder: holder.selectedOptions[0].textContent, indicator: t(`indicator.${body.indicator}`), value: body.limit_value, unit: INDICATOR_UNITS[body.indicator] });
      loadCity();
    } catch (error) {
      message.textContent = `${t("error")}: ${error.message}`;
    }
  });
}
if (["admin", "energy_staff"].includes(me.role)) offerQuotaForm();

const exportParams = (extra = {}) => () => {
  const p = current();
  return { start: p.start, end: p.end, ...extra };
};
exportButton("export-xlsx", "/exports/energy.xlsx", exportParams({ language: "zh" }), "energy.xlsx", errorBox);
exportButton("export-xlsx-en", "/exports/energy.xlsx", exportParams({ language: "en" }), "energy.xlsx", errorBox);
exportButton("export-csv", "/exports/energy.csv", () => ({ ...exportParams({ header: lang(), bom: "true" })(), view: document.getElementById("csv-view").value }), "energy.csv", errorBox);

window.yiwang = { loaded, period: current };
