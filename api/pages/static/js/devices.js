// Refused messages (dead letters) for admins: the devices most refused in a period, and a device's refusals with
// their reasons and what was sent (GET /dead-letters/devices, GET /dead-letters), so a misconfigured terminal or
// meter is found in a minute.

import { api, dateTime, el, start, t } from "./common.js";

const period = document.getElementById("period");
const deviceRows = document.querySelector("#device-table tbody");
const none = document.getElementById("devices-none");
const error = document.getElementById("devices-error");
const letters = document.getElementById("letters");
const letterRows = document.querySelector("#letter-table tbody");
const more = document.getElementById("letters-more");
let shown = { device: null, next: null };

/** A reason in words, with its code (the code is what docs/failures.md and the metrics name). */
function reasonText(code) {
  const key = `reason.${code}`;
  const words = t(key);
  return words === key ? code : `${words} (${code})`;
}

function since() {
  return new Date(Date.now() - Number(period.value) * 86_400_000).toISOString();
}

async function loadDevices() {
  try {
    const devices = await api(`/dead-letters/devices?${new URLSearchParams({ since: since(), limit: "200" })}`);
    error.hidden = true;
    none.hidden = devices.length > 0;
    deviceRows.replaceChildren(
      ...devices.map((d) => {
        const reasons = Object.entries(d.reasons)
          .sort((a, b) => b[1] - a[1])
          .map(([code, n]) => `${reasonText(code)} × ${n}`)
          .join("; ");
        const row = el(
          "tr",
          { class: "clickable", "data-device": d.device_id ?? "" },
          el("td", {}, d.device_id ?? t("devices.no_device")),
          el("td", { class: "num" }, String(d.refused)),
          el("td", {}, reasons),
          el("td", {}, dateTime(d.last_at)),
        );
        row.addEventListener("click", () => showDevice(d.device_id));
        return row;
      }),
    );
  } catch (e) {
    error.textContent = `${t("error")}: ${e.message}`;
    error.hidden = false;
  }
}

async function showDevice(device, after = null) {
  const params = new URLSearchParams({ since: since(), limit: "50" });
  if (device) params.set("device_id", device);
  if (after) params.set("after", after);
  const page = await api(`/dead-letters?${params}`);
  // A topic that named no device has no device to ask for: its row shows every refusal of the period, newest first.
  const rows = page.items.map((l) =>
      el(
        "tr",
        { "data-letter": l.id },
        el("td", {}, dateTime(l.received_at)),
        el("td", {}, reasonText(l.reason)),
        el("td", {}, l.detail),
      el("td", { class: "payload" }, t("devices.bytes", { n: l.payload_size }), " ", el("code", {}, l.payload_preview)),
    ),
  );
  if (after) letterRows.append(...rows);
  else letterRows.replaceChildren(...rows);
  shown = { device, next: page.next_after };
  more.hidden = page.next_after === null;
  document.getElementById("letters-title").textContent = device ? t("devices.letters_of", { device }) : t("devices.all_letters");
  letters.hidden = false;
}

await start("devices");
period.addEventListener("change", () => {
  letters.hidden = true;
  loadDevices();
});
more.addEventListener("click", () => showDevice(shown.device, shown.next));
await loadDevices();
window.yiwang = { loadDevices, showDevice };
