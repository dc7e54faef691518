// What every page shares: the login kept in this tab, calls to the JSON API, texts in Chinese or English,
// the header, and formatting. Plain ES module, no build step.

import { TEXTS } from "./texts.js";

const AUTH_KEY = "yiwang.auth";
const LANG_KEY = "yiwang.lang";
// Refresh the access token when less than this is left of it (it lives 15 minutes by default).
const REFRESH_MARGIN_MS = 120_000;

// ---- texts --------------------------------------------------------------------------------------------------

export function lang() {
  return localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";
}

export function setLang(value) {
  localStorage.setItem(LANG_KEY, value);
  location.reload();
}

/** The text of `key` in the page's language; `{name}` in it is replaced by vars.name. */
export function t(key, vars = {}) {
  const text = TEXTS[lang()]?.[key] ?? key; // both files hold every key (tests/domain/test_vocabulary.py)
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] ?? ""));
}

/** Fill the elements that name a text: data-i18n (text), data-i18n-placeholder, data-i18n-title. */
export function applyTexts(root = document) {
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}

// ---- the login ----------------------------------------------------------------------------------------------

export function auth() {
  try {
    return JSON.parse(sessionStorage.getItem(AUTH_KEY) || "null");
  } catch {
    return null;
  }
}

export function keepAuth(pair) {
  sessionStorage.setItem(
    AUTH_KEY,
    JSON.stringify({
      access_token: pair.access_token,
      refresh_token: pair.refresh_token,
      expires_at: Date.now() + pair.expires_in * 1000,
    }),
  );
}

export function toLogin() {
  sessionStorage.removeItem(AUTH_KEY);
  const here = location.pathname + location.search;
  location.replace(`login.html?next=${encodeURIComponent(here)}`);
}

let refreshing = null;

/** An access token good for at least a while: refreshed (once, for all callers) when it is about to expire. */
export async function freshToken() {
  const current = auth();
  if (!current) {
    toLogin();
    throw new Error("not logged in");
  }
  if (current.expires_at - Date.now() > REFRESH_MARGIN_MS) return current.access_token;
  refreshing ??= (async () => {
    try {
      const response = await fetch("/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: current.refresh_token }),
      });
      if (!response.ok) {
        toLogin();
        throw new Error("the session has ended");
      }
      keepAuth(await response.json());
      return auth().access_token;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
  }
}

/** Call the API with the bearer token: JSON in and out (or the raw Response with {raw: true}). */
export async function api(path, { method = "GET", body, raw = false } = {}) {
  const send = async () => {
    // Texts the API makes from parameters (an alert's detail) come in the page's language, not the browser's.
    const headers = { Authorization: `Bearer ${await freshToken()}`, "Accept-Language": lang() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  let response = await send();
  if (response.status === 401) {
    // Another tab or a restart may have ended the token early: try a refresh once, then log in again.
    const current = auth();
    if (current) keepAuth({ ...current, expires_in: 0 });
    response = await send();
    if (response.status === 401) {
      toLogin();
      throw new ApiError(401, "log in again");
    }
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail ?? detail;
    } catch {
      /* not JSON: keep the status text */
    }
    throw new ApiError(response.status, detail);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

/** Every item of a paged list (`items`, `next_after`). */
export async function allPages(path, params = {}) {
  const items = [];
  let after = null;
  for (;;) {
    const query = new URLSearchParams({ ...params, limit: "1000" });
    if (after !== null) query.set("after", after);
    const page = await api(`${path}?${query}`);
    items.push(...page.items);
    if (page.next_after === null || page.next_after === undefined) return items;
    after = page.next_after;
  }
}

/** Download a file the API makes (XLSX, CSV) with the bearer token. */
export async function download(path, fallbackName) {
  const response = await api(path, { raw: true });
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

let pageConfig = null;

export async function config() {
  pageConfig ??= fetch("config.json").then((r) => r.json());
  return pageConfig;
}

// ---- the header ---------------------------------------------------------------------------------------------

const NAV = [
  { page: "map", href: "map.html", text: "nav.map", needs: "vehicles" },
  { page: "energy", href: "energy.html", text: "nav.energy", needs: "energy" },
  { page: "devices", href: "devices.html", text: "nav.devices", needs: "devices" },
];
const ROLE_SEES = {
  admin: ["vehicles", "energy", "devices"],
  dispatcher: ["vehicles"],
  energy_staff: ["energy"],
  unit_user: ["vehicles", "energy"],
  auditor: ["vehicles", "energy"],
};

/** Where a role starts. */
export function homeOf(role) {
  return (ROLE_SEES[role] ?? ["vehicles"])[0] === "energy" ? "energy.html" : "map.html";
}

/** The page's header (title, navigation, language, user, logout); resolves to the user. */
export async function start(active) {
  applyTexts();
  if (!auth()) {
    toLogin();
    return new Promise(() => {});
  }
  const me = await api("/users/me");
  const header = document.querySelector("header.top");
  header.innerHTML = "";
  const brand = el("a", { class: "brand", href: homeOf(me.role) }, t("app.name"));
  const nav = el("nav");
  for (const item of NAV) {
    if (!(ROLE_SEES[me.role] ?? []).includes(item.needs)) continue;
    nav.append(el("a", { href: item.href, class: item.page === active ? "active" : "", "data-page": item.page }, t(item.text)));
  }
  const switcher = el("button", { class: "lang", id: "lang-switch", type: "button" }, lang() === "zh" ? "English" : "中文");
  switcher.addEventListener("click", () => setLang(lang() === "zh" ? "en" : "zh"));
  const user = el("span", { class: "user", id: "user-name" }, `${me.name} · ${t(`role.${me.role}`)}`);
  const logout = el("button", { type: "button", id: "logout" }, t("nav.logout"));
  logout.addEventListener("click", async () => {
    try {
      await api("/auth/logout", { method: "POST" });
    } finally {
      sessionStorage.removeItem(AUTH_KEY);
      location.replace("login.html");
    }
  });
  header.append(brand, nav, el("span", { class: "spacer" }), switcher, user, logout);
  return me;
}

// ---- small things -------------------------------------------------------------------------------------------

/** Leaflet content (a tooltip's or popup's) that shows `text` as text: Leaflet puts a string in as HTML, so a name
 * from the server goes through here, never as a string. A function, so that each opening gets its own node. */
export function plain(text) {
  return () => document.createTextNode(String(text));
}

/** An element with attributes and children (strings become text: never HTML). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function number(value, digits = 1) {
  if (value === null || value === undefined || value === "") return "–";
  const n = Number(value);
  if (!Number.isFinite(n)) return "–";
  return n.toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function percent(ratio, digits = 1) {
  if (ratio === null || ratio === undefined) return "–";
  const n = Number(ratio) * 100;
  return `${n > 0 ? "+" : ""}${n.toFixed(digits)}%`;
}

export function dateTime(text) {
  if (!text) return "–";
  return new Date(text).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB", { hour12: false });
}

export function age(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("age.seconds", { n: s });
  if (s < 3600) return t("age.minutes", { n: Math.floor(s / 60) });
  if (s < 86400) return t("age.hours", { n: Math.floor(s / 3600) });
  return t("age.days", { n: Math.floor(s / 86400) });
}

/** yyyy-mm-dd of a local date. */
export function isoDay(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function showError(target, error) {
  const box = typeof target === "string" ? document.querySelector(target) : target;
  if (!box) return;
  box.textContent = error instanceof ApiError ? `${t("error")} ${error.status}: ${error.message}` : `${t("error")}: ${error.message ?? error}`;
  box.hidden = false;
}
