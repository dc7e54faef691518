// The pages' words: the vocabulary file of the page's language (domain/vocabulary/<lang>.json, the same words the
// exports and the alerts' texts use), served by the API at /pages/vocabulary/<lang>.json and revalidated by ETag.
// Loaded once per page by a top-level await, so that t() (common.js) stays synchronous. `{name}` in a text is
// filled in by t(key, {name}).

const LANGUAGE = localStorage.getItem("yiwang.lang") === "en" ? "en" : "zh";

async function load(language) {
  const response = await fetch(`vocabulary/${language}.json`);
  if (!response.ok) throw new Error(`vocabulary/${language}.json: HTTP ${response.status}`);
  return response.json();
}

export const TEXTS = { [LANGUAGE]: await load(LANGUAGE) };
