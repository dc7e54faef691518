// The login page: POST /auth/token (OAuth2 password form); the token pair stays in this tab's sessionStorage.
import { applyTexts, homeOf, keepAuth, lang, setLang, t } from "./common.js";

applyTexts();
const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const switcher = document.getElementById("lang-switch");
switcher.textContent = lang() === "zh" ? "English" : "中文";
switcher.addEventListener("click", () => setLang(lang() === "zh" ? "en" : "zh"));

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const button = document.getElementById("login-submit");
  button.disabled = true;
  try {
    const response = await fetch("/auth/token", { method: "POST", body: new URLSearchParams(new FormData(form)) });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      error.textContent = response.status === 429 ? t("login.too_many") : response.status === 401 ? t("login.wrong") : (body.detail ?? response.statusText);
      error.hidden = false;
      return;
    }
    keepAuth(await response.json());
    const next = new URLSearchParams(location.search).get("next");
    // Only a page of ours: never an address elsewhere.
    if (next && /^\/pages\/[\w.-]+\.html(\?[^#]*)?$/.test(next)) {
      location.replace(next);
      return;
    }
    const me = await fetch("/users/me", { headers: { Authorization: `Bearer ${JSON.parse(sessionStorage.getItem("yiwang.auth")).access_token}` } }).then((r) => r.json());
    location.replace(homeOf(me.role));
  } catch (exc) {
    error.textContent = `${t("error")}: ${exc.message}`;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});
document.getElementById("login-submit").disabled = false;
