// An institution's page: its indicators against quotas, consumption by day, month and year against the same
// period last year, per energy type and electricity sub-item, its meters' data quality, and its XLSX report.

import { api, el, isoDay, number, percent, showError, start, t } from "./common.js";
import { chart, correctedMark, energyCorrected, exportButton, figure, kpiCards, periodControls } from "./energy-parts.js";

await start("energy");
const id = new URLSearchParams(location.search).get("id");
const errorBox = document.getElementById("energy-error");
if (!id) {
  showError(errorBox, new Error(t("institution.missing")));
  throw new Error("no institution id");
}
const consumptionChart = chart("consumption-chart");
const subItemChart = chart("sub-item-chart");
const energySelect = document.getElementById("energy-type");
let step = "day";
let period = null;
const loaded = { indicators: false, consumption: false, quality: false };

try {
  const institution = await api(`/institutions/${encodeURIComponent(id)}`);
  document.getElementById("institution-name").textContent = institution.name;
  document.title = `一网 · ${institution.name}`;
  const facts = [t(`category.${institution.category}`), institution.district, institution.key_energy_unit ? t("institution.key_unit") : null, institution.in_assessment ? t("institution.assessed") : null];
  document.getElementById("institution-facts").textContent = facts.filter(Boolean).join(" · ");
} catch (error) {
  showError(errorBox, error);
}

const base = () => new URLSearchParams({ institution_id: id, start: period.start, end: period.end });

const current = periodControls((p) => {
  period = p;
  for (const key of Object.keys(loaded)) loaded[key] = false;
  loadIndicators();
  loadConsumption();
  loadQuality();
});

for (const button of document.querySelectorAll("#step button")) {
  button.addEventListener("click", () => {
    step = button.dataset.step;
    for (const other of document.querySelectorAll("#step button")) other.classList.toggle("active", other === button);
    loadConsumption();
  });
}
energySelect.addEventListener("change", () => loadConsumption());

async function loadIndicators() {
  try {
    const report = await api(`/energy/indicators?${base()}`);
    const row = report.rows[0] ?? null;
    kpiCards(document.getElementById("institution-kpis"), row);
    energyTable(row);
    subItems(row);
  } catch (error) {
    showError(errorBox, error);
  } finally {
    loaded.indicators = true;
  }
}

function energyTable(row) {
  const body = document.querySelector("#energy-table tbody");
  if (!row) {
    body.replaceChildren();
    return;
  }
  const before = new Map(row.last_year.consumption.map((c) => [c.energy_type, Number(c.amount)]));
  body.replaceChildren(
    ...row.current.consumption.map((c) => {
      const last = before.get(c.energy_type);
      const change = last ? (Number(c.amount) - last) / last : null;
      // An energy type absent from last year's consumption had no readings then.
      return el("tr", {}, el("td", {}, t(`energy.${c.energy_type}`)), el("td", { class: "num" }, `${number(c.amount, 1)} ${c.unit}`, correctedMark(c.corrected_days)), el("td", { class: "num" }, figure(last, c.unit, "no_readings")), el("td", { class: "num" }, percent(change)));
    }),
    el(
      "tr",
      { class: "total" },
      el("td", {}, t("indicator.energy_tce")),
      el("td", { class: "num" }, figure(row.current.energy_kgce, "kgce", row.current.reasons?.energy_kgce), correctedMark(energyCorrected(row.current))),
      el("td", { class: "num" }, figure(row.last_year.energy_kgce, "kgce", row.last_year.reasons?.energy_kgce)),
      el("td", { class: "num" }, percent(row.change_last_year.energy_kgce)),
    ),
  );
}

/** Electricity by sub-item (分项): this period against the same period last year. */
function subItems(row) {
  const items = row ? Object.keys({ ...row.current.electricity_sub_items, ...row.last_year.electricity_sub_items }) : [];
  if (items.length === 0) {
    subItemChart.setOption({ title: { text: t("institution.no_sub_items"), left: "center", top: "middle", textStyle: { fontSize: 13, color: "#868e96" } }, series: [] }, true);
    return;
  }
  subItemChart.setOption(
    {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 70, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: items.map((item) => t(`sub_item.${item}`)) },
      yAxis: { type: "value", name: "kWh" },
      series: [
        // A sub-item without readings in a period is a gap, not a bar of 0.
        { type: "bar", name: t("institution.this_period"), data: items.map((item) => amountOrNull(row.current.electricity_sub_items[item])) },
        { type: "bar", name: t("institution.last_year"), data: items.map((item) => amountOrNull(row.last_year.electricity_sub_items[item])), itemStyle: { color: "#adb5bd" } },
      ],
    },
    true,
  );
}

function amountOrNull(value) {
  return value === null || value === undefined ? null : Number(value);
}

function yearBefore(day) {
  const [y, m, d] = day.split("-").map(Number);
  return isoDay(new Date(y - 1, m - 1, d));
}

/** The range the chart shows for a step: the period's days (at most the last 31), its months, or five years. */
function rangeOf(chosen) {
  if (chosen === "year") {
    const first = `${period.year - 4}-01-01`;
    return { start: first, end: period.end };
  }
  if (chosen === "day" && !period.month) {
    const [y, m, d] = period.end.split("-").map(Number);
    return { start: isoDay(new Date(y, m - 1, d - 31)), end: period.end };
  }
  return { start: period.start, end: period.end };
}

const labelLength = { hour: 13, day: 10, month: 7, year: 4 };

function pointsOf(body, energy) {
  const series = body.series.find((s) => s.energy_type === energy && s.sub_item === null);
  return { unit: series?.unit ?? "", points: new Map((series?.points ?? []).map((p) => [p.start.slice(0, labelLength[body.step]), Number(p.amount)])) };
}

async function loadConsumption() {
  const chosen = step;
  const range = rangeOf(chosen);
  const q = (r) => new URLSearchParams({ institution_id: id, start: r.start, end: r.end, step: chosen });
  try {
    const wanted = [api(`/energy/consumption?${q(range)}`)];
    if (chosen !== "year") wanted.push(api(`/energy/consumption?${q({ start: yearBefore(range.start), end: yearBefore(range.end) })}`));
    const [now, before] = await Promise.all(wanted);
    if (chosen !== step) return; // another step was chosen meanwhile
    const types = [...new Set(now.series.filter((s) => s.sub_item === null).map((s) => s.energy_type))];
    const choice = energySelect.value && types.includes(energySelect.value) ? energySelect.value : types.includes("electricity") ? "electricity" : types[0];
    energySelect.replaceChildren(...types.map((type) => el("option", { value: type }, t(`energy.${type}`))));
    if (choice) energySelect.value = choice;
    const current = pointsOf(now, choice);
    const labels = [...current.points.keys()].sort();
    const series = [{ type: "bar", name: t("institution.this_period"), data: labels.map((label) => current.points.get(label) ?? null) }];
    if (before) {
      const last = pointsOf(before, choice);
      // Last year's point of the same day or month: the label a year on.
      const shifted = new Map([...last.points].map(([label, amount]) => [`${Number(label.slice(0, 4)) + 1}${label.slice(4)}`, amount]));
      series.push({ type: "line", name: t("institution.same_period_last_year"), data: labels.map((label) => shifted.get(label) ?? null), lineStyle: { type: "dashed" }, itemStyle: { color: "#868e96" } });
    }
    consumptionChart.setOption(
      {
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 80, right: 20, top: 40, bottom: 40 },
        xAxis: { type: "category", data: labels },
        yAxis: { type: "value", name: current.unit },
        dataZoom: labels.length > 40 ? [{ type: "inside" }, { type: "slider", height: 18, bottom: 5 }] : [],
        series,
      },
      true,
    );
  } catch (error) {
    showError(errorBox, error);
  } finally {
    loaded.consumption = true;
  }
}

async function loadQuality() {
  try {
    const report = await api(`/energy/quality?${base()}`);
    document.querySelector("#meter-quality tbody").replaceChildren(
      ...report.meters.map((m) =>
        el(
          "tr",
          { class: m.silent ? "silent" : "" },
          el("td", {}, m.meter_id),
          el("td", {}, t(`energy.${m.energy_type}`)),
          el("td", { class: "num" }, `${m.readings} / ${m.expected}`),
          el("td", { class: "num" }, m.completeness === null ? "–" : `${(Number(m.completeness) * 100).toFixed(1)}%`),
          el("td", {}, m.last_day_with_readings ?? "–"),
          el("td", {}, m.silent ? t("quality.is_silent") : t("quality.reporting")),
          el("td", { class: "num" }, `${m.rollovers} / ${m.resets} / ${m.jitter} / ${m.implausible} / ${m.conflicts}`),
        ),
      ),
    );
  } catch (error) {
    showError(errorBox, error);
  } finally {
    loaded.quality = true;
  }
}

const exportParams = (language) => () => {
  const p = current();
  return { institution_id: id, start: p.start, end: p.end, language };
};
exportButton("export-xlsx", "/exports/energy.xlsx", exportParams("zh"), `energy-${id}.xlsx`, errorBox);
exportButton("export-xlsx-en", "/exports/energy.xlsx", exportParams("en"), `energy-${id}.xlsx`, errorBox);

window.yiwang = { loaded };
