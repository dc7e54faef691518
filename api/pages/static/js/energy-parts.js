// What the energy dashboard and the institution page share: the period chosen, the indicator cards, charts.

import { download, el, isoDay, number, percent, showError, t } from "./common.js";

export const INDICATOR_UNITS = { energy_per_capita: "kgce/人", energy_per_area: "kgce/m²", water_per_capita: "m³/人" };

/** The year and month selects; calls `changed(period)` with {start, end, label} (end exclusive, to tomorrow). */
export function periodControls(changed) {
  const yearSelect = document.getElementById("year");
  const monthSelect = document.getElementById("month");
  const now = new Date();
  for (let year = now.getFullYear(); year >= now.getFullYear() - 5; year -= 1) yearSelect.append(el("option", { value: year }, String(year)));
  monthSelect.append(el("option", { value: "" }, t("period.whole_year")));
  for (let month = 1; month <= 12; month += 1) monthSelect.append(el("option", { value: month }, t("period.month_n", { n: month })));
  const params = new URLSearchParams(location.search);
  if (params.get("year")) yearSelect.value = params.get("year");
  if (params.get("month")) monthSelect.value = params.get("month");
  const period = () => {
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
    if (label) label.textContent = p ? p.label : t("period.future");
    if (p) changed(p);
  };
  yearSelect.addEventListener("change", fire);
  monthSelect.addEventListener("change", fire);
  fire();
  return period;
}

function quotaOf(row, indicator) {
  return row.quotas.find((q) => q.indicator === indicator) ?? null;
}

function card(key, value, unit, change, quota) {
  const status = quota?.status ?? null;
  return el(
    "div",
    { class: `kpi${status ? ` quota-${status}` : ""}`, "data-kpi": key },
    el("div", { class: "label" }, t(`indicator.${key}`)),
    el("div", { class: "value" }, number(value, 2), el("span", { class: "unit" }, ` ${unit}`)),
    el("div", { class: "small" }, `${t("kpi.vs_last_year")} ${percent(change)}`),
    quota ? el("div", { class: "small quota" }, `${t("kpi.quota")} ${number(quota.limit, 2)} · ${t(`quota.${status ?? "unknown"}`)}`) : el("div", { class: "small quota" }, t("kpi.no_quota")),
  );
}

/** The indicator cards of one row of GET /energy/indicators (city, category or institution). */
export function kpiCards(box, row) {
  if (!row) {
    box.replaceChildren(el("p", { class: "hint" }, t("energy.no_data")));
    return;
  }
  const c = row.current;
  const change = row.change_last_year;
  box.replaceChildren(
    card("energy_tce", c.energy_tce, "tce", change.energy_kgce, null),
    card("energy_per_capita", c.energy_per_capita, INDICATOR_UNITS.energy_per_capita, change.energy_per_capita, quotaOf(row, "energy_per_capita")),
    card("energy_per_area", c.energy_per_area, INDICATOR_UNITS.energy_per_area, change.energy_per_area, quotaOf(row, "energy_per_area")),
    card("water_per_capita", c.water_per_capita, INDICATOR_UNITS.water_per_capita, change.water_per_capita, quotaOf(row, "water_per_capita")),
    card("carbon_tco2", c.carbon_tco2, "tCO₂", change.carbon_tco2, null),
  );
}

/** The three assessed indicators against their quotas (bars of value and quota, in % of the quota). */
export function quotaOption(row) {
  const indicators = ["energy_per_capita", "energy_per_area", "water_per_capita"];
  const values = indicators.map((key) => {
    const quota = quotaOf(row, key);
    const value = Number(row.current[key] ?? 0);
    return quota ? Math.round((value / Number(quota.limit)) * 1000) / 10 : null;
  });
  if (values.every((v) => v === null)) {
    return { title: { text: t("kpi.no_quotas"), left: "center", top: "middle", textStyle: { fontSize: 13, color: "#868e96" } }, series: [] };
  }
  return {
    tooltip: { trigger: "axis", valueFormatter: (v) => (v === null ? "–" : `${v}%`) },
    grid: { left: 110, right: 30, top: 20, bottom: 30 },
    xAxis: { type: "value", axisLabel: { formatter: "{value}%" }, max: (extent) => Math.max(110, Math.ceil(extent.max / 10) * 10) },
    yAxis: { type: "category", data: indicators.map((key) => t(`indicator.${key}`)) },
    series: [
      {
        type: "bar",
        name: t("kpi.of_quota"),
        data: values.map((v) => ({ value: v, itemStyle: { color: v === null ? "#adb5bd" : v >= 100 ? "#e03131" : v >= 90 ? "#f08c00" : "#2f9e44" } })),
        label: { show: true, position: "right", formatter: (p) => (p.value === null ? t("kpi.no_quota") : `${p.value}%`) },
        markLine: { symbol: "none", data: [{ xAxis: 100 }], lineStyle: { color: "#e03131", type: "dashed" }, label: { formatter: t("kpi.quota") } },
      },
    ],
  };
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
