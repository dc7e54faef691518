// The pages' words: the vocabulary files (domain/vocabulary/<lang>.json, the same words the exports and the alerts'
// texts use), served by the API at /pages/vocabulary/<lang>.json and revalidated by ETag. Both languages are loaded
// (in parallel, once per page) by a top-level await, so that t() (common.js) stays synchronous and a page can name
// a text in the other language (the language switch). `{name}` in a text is filled in by t(key, {name}).

async function load(language) {
  const response = await fetch(`vocabulary/${language}.json`);
  if (!response.ok) throw new Error(`vocabulary/${language}.json: HTTP ${response.status}`);
  return response.json();
}

const [zh, en] = await Promise.all([load("zh"), load("en")]);
export const TEXTS = { zh, en };
