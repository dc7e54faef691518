"""The product's words, one file per language (zh.json, en.json beside this module, the same keys in both): the
pages' texts (served by the API at /pages/vocabulary/<language>.json), the code lists' labels that files and sheets
show (domain/labels.py reads its tables here) and the alerts' texts, rendered from an alert's kind and parameters.

Keys are dotted: `<list>.<code>` for a code list (`energy.electricity`, `alert.no_dispatch`, `vehicle_type.minibus`),
`<page>.<what>` for the pages' texts, `alert_detail.<form>` for an alert's text. A text names its parameters in
braces: `{n}` for the pages (api/pages/static/js/common.js t() fills them); an alert's text is a Python format
string (`{n:.1f}`), since only Python renders those (`render`).

The files are read once, when this module is first imported: they are part of the code, not of the settings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal, get_args

Language = Literal["zh", "en"]
LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)
FOLDER: Final = Path(__file__).parent
# How a list in an alert's text is joined, per language, unless the vocabulary says otherwise (`<key>.separator`).
_SEPARATOR: Final[Mapping[Language, str]] = {"zh": "、", "en": ", "}
_DAYS_FROM_HOURS: Final = 48  # a span of at least this many hours is told in days


def path(language: Language) -> Path:
    """The vocabulary file of `language`."""
    return FOLDER / f"{language}.json"


def _load(language: Language) -> Mapping[str, str]:
    with path(language).open(encoding="utf-8") as f:
        words: dict[str, str] = json.load(f)
    return MappingProxyType(words)


WORDS: Final[Mapping[Language, Mapping[str, str]]] = MappingProxyType({lang: _load(lang) for lang in LANGUAGES})


def word(language: Language, key: str) -> str:
    """The text of `key` in `language`; the key itself when it has none (a missing key shows, it does not fail)."""
    return WORDS[language].get(key, key)


def table(prefix: str, codes: Sequence[str], language: Language = "zh") -> Mapping[str, str]:
    """A code list's labels: each code of `codes` to the text of `<prefix>.<code>` in `language`."""
    return MappingProxyType({code: word(language, f"{prefix}.{code}") for code in codes})


Params = Mapping[str, object]


def alert_key(kind: str, params: Params) -> str:
    """The key of an alert's text: its form (`params["form"]`, when its kind has several texts) or its kind."""
    return f"alert_detail.{params.get('form', kind)}"


def render(language: Language, kind: str, params: Params) -> str:
    """An alert's text in `language` from its kind and parameters.

    A parameter `p` is available to the text as `{p}`, and as `{p_name}`, the text of the key `p.<value>` (the value
    itself when there is none: `{indicator_name}` of `indicator=energy_per_area`); a number of seconds `p_s` also as
    `{p}`, a span in hours or days. A list is joined (by `<alert's key>.<p>.separator`, else a comma); a list of
    mappings is each rendered by the text `<alert's key>.<p>` and joined.

    Raises:
        KeyError: the text names a parameter that `params` lacks, or there is no text for the kind.
    """
    key = alert_key(kind, params)
    return _fill(language, key, WORDS[language][key], params)


def _fill(language: Language, key: str, template: str, params: Params) -> str:
    values: dict[str, object] = {}
    for name, value in params.items():
        if isinstance(value, list):
            item_key = f"{key}.{name}"
            items = [
                _fill(language, item_key, WORDS[language][item_key], item) if isinstance(item, Mapping) else str(item)
                for item in value
            ]
            values[name] = WORDS[language].get(f"{item_key}.separator", _SEPARATOR[language]).join(items)
            continue
        values[name] = value
        values[f"{name}_name"] = WORDS[language].get(f"{name}.{value}", str(value))
        if name.endswith("_s") and isinstance(value, int | float):
            values[name[:-2]] = span(language, value)
    return template.format_map(values)


def span(language: Language, seconds: float) -> str:
    """A length of time as an alert tells it: hours with a decimal, or days from two days on."""
    hours = seconds / 3600
    if hours >= _DAYS_FROM_HOURS:
        return WORDS[language]["span.days"].format(n=hours / 24)
    return WORDS[language]["span.hours"].format(n=hours)


def named_areas(params: Params, names: Mapping[str, str]) -> Params:
    """An alert's parameters with its areas (`area`, `areas`: ids, as the supervisor keeps them) by their names where
    `names` (id as text -> name) has them: a person reads 学校, not 区域 12."""

    def name(area: object) -> object:
        return names.get(str(area), area)

    named = dict(params)
    if "area" in named:
        named["area"] = name(named["area"])
    areas = named.get("areas")
    if isinstance(areas, list):
        named["areas"] = [name(a) for a in areas]
    return named


def told(
    language: Language | None,
    kind: str,
    params: Params | None,
    stored: str,
    area_names: Mapping[str, str] | None = None,
) -> str:
    """An alert's text for a reader of `language`: rendered from its parameters (its areas by name, when
    `area_names` has them), or `stored` (its English text) when no language is asked, or it has no parameters
    (raised before they were kept) or none its text can use."""
    if language is None or params is None:
        return stored
    try:
        return render(language, kind, named_areas(params, area_names or {}))
    except (KeyError, ValueError, IndexError, TypeError):  # parameters of an older form: its own words still hold
        return stored


def preferred(accept_language: str | None) -> Language | None:
    """The language of ours a reader asks for in an Accept-Language header (RFC 9110: `zh-CN,zh;q=0.9,en;q=0.8`),
    by its weights; None when it names neither Chinese nor English, or there is none."""
    ranked: list[tuple[float, int, Language]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, weight = part.strip().partition(";")
        primary = tag.strip().split("-")[0].casefold()
        if primary not in LANGUAGES:
            continue
        quality = 1.0
        if weight.strip().startswith("q="):
            try:
                quality = float(weight.strip()[2:])
            except ValueError:
                continue
        if quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else None
