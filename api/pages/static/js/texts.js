// The pages' words: the vocabulary files (domain/vocabulary/<lang>.json, the same words the exports and the alerts'
// texts use), served by the API at /pages/vocabulary/<lang>.json and revalidated by ETag. Both languages are loaded
// (in parallel, once per page) by a top-level await, so that t() (common.js) stays synchronous and a page can name
// a text in the other language (the language switch). `{name}` in a text is filled in by t(key, {name}).

async function load(language) {
  const response = await fetch(`vocabulary/${language}.json`);
  if (!response.ok) throw new Error(`vocabulary/${language}.json: HTTP ${response.status}`);
  return response.json();
}

// Without its words no page can work: say so on the page (in both languages, as neither loaded) rather than leave a
// blank one, and stop its modules here.
let loaded;
try {
  loaded = await Promise.all([load("zh"), load("en")]);
} catch (error) {
  const told = document.createElement("p");
  told.className = "error";
  told.id = "vocabulary-error";
  told.setAttribute("role", "alert");
  told.textContent = `页面文字未能加载，请刷新重试 / The page's words did not load: reload to try again (${error.message})`;
  document.body.prepend(told);
  throw error;
}
const [zh, en] = loaded;
export const TEXTS = { zh, en };
