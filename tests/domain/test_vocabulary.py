"""The vocabulary (domain/vocabulary): one file per language, the same keys in both, and every key a page, a file or
an alert's text asks for present in each. A key missing from one language fails here, naming the key."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import get_args
from zoneinfo import ZoneInfo

import pytest

from api.access.rules import ROLES
from domain import labels, vocabulary
from domain.alarms import MEANINGS, Rise
from domain.basemap import BaseMap
from domain.datum import Coordinates
from domain.dead_letter import Reason
from domain.energy import CATEGORIES, INDICATORS, NO_FIGURE_REASONS, EnergyType, QuotaStatus, SubItem
from domain.energy_events import ENERGY_EVENT_KINDS, MeterSeen, QuotaFigure, quota_event, silent_meters
from domain.supervision import ALERT_KINDS, AreaHours, AreaKind, Level, speeding_params
from domain.trip_requests import State
from domain.vehicles import LIVE_STATES, VehicleEnergy
from domain.vocabulary import LANGUAGES, WORDS, render

PAGES = Path(__file__).resolve().parents[2] / "api" / "pages" / "static"

# The code lists the pages name by a key made of a prefix and a code (t(`alert.${alert.kind}`)): every prefix a page
# builds keys with must be here, so that every code of its list is checked.
PAGE_CODE_LISTS: dict[str, Iterable[str]] = {
    "alert": (*ALERT_KINDS, *ENERGY_EVENT_KINDS),
    "area.hours": get_args(AreaHours),
    "area.kind": get_args(AreaKind),
    "basemap": get_args(BaseMap),
    "category": CATEGORIES,
    "coordinates": get_args(Coordinates),
    "energy": (*get_args(EnergyType), "other", *get_args(VehicleEnergy)),
    "indicator": INDICATORS,
    "quota": (*get_args(QuotaStatus), "unknown"),
    "reason": (*(r.value for r in Reason), *NO_FIGURE_REASONS),
    "request": get_args(State),
    "role": ROLES,
    "state": LIVE_STATES,
    "sub_item": get_args(SubItem),
}


def _page_sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in [*PAGES.glob("*.html"), *PAGES.glob("js/*.js")])


def page_keys() -> set[str]:
    """The keys the pages name as they are: t("…"), data-i18n(-placeholder, -title)="…", and a header's text: "…"."""
    source = _page_sources()
    keys = set(re.findall(r'\bt\("([^"]+)"', source))
    keys |= set(re.findall(r'data-i18n(?:-placeholder|-title)?="([^"]+)"', source))
    keys |= set(re.findall(r'\btext: "([\w.]+)"', source))
    return keys


def page_prefixes() -> set[str]:
    """The prefixes of the keys the pages build from a code: t(`prefix.${code}`)."""
    return set(re.findall(r"\bt\(`([\w.]+)\.\$\{", _page_sources()))


def test_both_languages_have_the_same_keys() -> None:
    only_zh = sorted(WORDS["zh"].keys() - WORDS["en"].keys())
    only_en = sorted(WORDS["en"].keys() - WORDS["zh"].keys())
    assert (only_zh, only_en) == ([], []), f"keys in one language only: zh {only_zh}, en {only_en}"


def test_every_text_is_words() -> None:
    """Text in each language (English may leave out a Chinese measure word: `quota.institutions_unit`, 家)."""
    for language in LANGUAGES:
        assert all(isinstance(v, str) for v in WORDS[language].values())
    empty = sorted(k for k, v in WORDS["zh"].items() if not v.strip())
    assert empty == [], f"zh: keys without words: {empty}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_the_pages_name_is_in_the_vocabulary(language: vocabulary.Language) -> None:
    keys = page_keys()
    assert len(keys) > 200  # the pattern still finds the pages' keys
    missing = sorted(keys - WORDS[language].keys())
    assert missing == [], f"{language}.json lacks keys the pages use: {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_code_the_pages_name_by_a_prefix_is_in_the_vocabulary(language: vocabulary.Language) -> None:
    unknown = sorted(page_prefixes() - PAGE_CODE_LISTS.keys())
    assert unknown == [], f"the pages build keys with prefixes this test does not know the codes of: {unknown}"
    missing = sorted(
        f"{prefix}.{code}"
        for prefix, codes in PAGE_CODE_LISTS.items()
        for code in codes
        if f"{prefix}.{code}" not in WORDS[language]
    )
    assert missing == [], f"{language}.json lacks codes the pages show: {missing}"


def test_every_label_table_has_its_words_in_both_languages() -> None:
    """The exports' tables (domain/labels.py) are read from the vocabulary: each code's key is in both files."""
    tables = {  # each table of domain/labels.py: the prefix of its keys
        "CATEGORY": "category",
        "SURVEY_CATEGORY": "survey_category",
        "ENERGY_TYPE": "energy",
        "VEHICLE_ENERGY": "energy",
        "ENTRY_SOURCE": "entry_source",
        "ENTRY_PURPOSE": "entry_purpose",
        "SUB_ITEM": "sub_item",
        "QUOTA_STATUS": "quota_status",
        "NO_FIGURE": "reason",
        "ORGANISATION_KIND": "organisation_kind",
        "VEHICLE_TYPE": "vehicle_type",
        "LIFECYCLE": "lifecycle",
        "RETIRED_HOW": "retired_how",
        "ALERT_KIND": "alert",
        "ALERT_LEVEL": "level",
        "AREA_KIND": "area.kind",
        "DERIVED": "derived",
    }
    public = {name for name in dir(labels) if name.isupper() and isinstance(getattr(labels, name), Mapping)}
    assert public == tables.keys(), "a table of domain/labels.py is not checked here"
    missing = sorted(
        f"{language}: {prefix}.{code}"
        for name, prefix in tables.items()
        for code in getattr(labels, name)
        for language in LANGUAGES
        if f"{prefix}.{code}" not in WORDS[language]
    )
    assert missing == []
    assert set(labels.ALERT_KIND) == {*ALERT_KINDS, *ENERGY_EVENT_KINDS}
    assert set(labels.ALERT_LEVEL) == set(get_args(Level))


def test_page_texts_name_the_same_parameters_in_both_languages() -> None:
    """`{n}` in one language and not the other is a figure a reader of that language never sees."""

    def names(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    differ = sorted(
        key
        for key in WORDS["zh"]
        if not key.startswith("alert_detail.") and names(WORDS["zh"][key]) != names(WORDS["en"][key])
    )
    assert differ == []


def _samples() -> list[tuple[str, dict[str, object]]]:
    """An alert of every form, with the parameters the rules give it."""
    zone = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 12, 7, 9, tzinfo=UTC)
    samples: list[tuple[str, dict[str, object]]] = [
        ("speeding", speeding_params(63.4, 60.0, None)),
        ("speeding", speeding_params(41.0, 30.0, 12)),
        ("off_hours", {}),
        ("no_dispatch", {"moved_m": 50}),
        ("area_exit", {}),
        ("area_entry", {"areas": [3, 4]}),
        ("parking", {}),
        ("silent", {"form": "silent_ignition_on", "quiet": "0:10:00"}),
        ("silent", {"form": "silent_ignition_off", "quiet": "1:00:00"}),
        ("silent", {"form": "silent_no_ignition", "quiet": "2:00:00"}),
    ]
    samples += [(kind, Rise(kind, bits).params) for kind, bits in MEANINGS.items()]
    [silent] = silent_meters([MeterSeen("m-1", "inst-1", now - timedelta(days=3))], now, 3600)
    [near] = [
        e
        for e in [
            quota_event(
                "inst-1",
                [QuotaFigure("energy_per_area", Decimal("9.5"), Decimal("10"), "near")],
                start=date(2026, 1, 1),
                end=date(2026, 12, 7),
                zone=zone,
            )
        ]
        if e is not None
    ]
    # Night events are built from hours (tests/domain/test_energy_events.py): their parameters as night_events gives.
    for event in (silent, near):
        assert event.params is not None
        samples.append((event.kind, dict(event.params)))
    samples.append(
        (
            "night_base_load",
            {"ratio_pct": "60", "days": 7, "start": "2026-11-30", "end": "2026-12-06", "threshold_pct": "40"},
        )
    )
    samples.append(
        (
            "night_water_flow",
            {"meter": "m-w", "nights": 4, "start": "2026-12-03", "end": "2026-12-06", "flow": "0.2", "leak_nights": 3},
        )
    )
    return samples


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_alert_text_renders_from_its_parameters(language: vocabulary.Language) -> None:
    samples = _samples()
    for kind, params in samples:
        text = render(language, kind, params)
        assert "{" not in text, (kind, text)
    forms = {vocabulary.alert_key(kind, params) for kind, params in samples}
    texts = {k for k in WORDS[language] if k.startswith("alert_detail.") and k.count(".") == 1}
    assert texts == forms, "an alert text with no sample here, or a sample with no text"
    kinds = {kind for kind, _ in samples}
    assert kinds == {*ALERT_KINDS, *ENERGY_EVENT_KINDS}


def test_an_alert_is_told_in_chinese_and_in_english() -> None:
    """Issue 20: "moved over 50 m without a dispatched request" was all a Chinese reader was given."""
    assert render("zh", "no_dispatch", {"moved_m": 50}) == "无派车单行驶超过 50 米"
    assert render("en", "no_dispatch", {"moved_m": 50}) == "moved over 50 m without a dispatched request"
    assert render("zh", "speeding", speeding_params(41.0, 30.0, 12)) == "车速 41 km/h，区域 12 内限速 30 km/h"
    zh = render("zh", "gnss_antenna", {"form": "alarm_bits", "bits": [{"alarm_bit": 5}, {"alarm_bit": 6}]})
    assert zh == "报警位 5（GNSS 天线未接或被剪断）、6（GNSS 天线短路）"


def test_an_alerts_areas_are_told_by_name_where_known() -> None:
    names = {"12": "学校", "14": "医院"}
    assert vocabulary.told("zh", "speeding", speeding_params(41.0, 30.0, 12), "s", names) == (
        "车速 41 km/h，区域 学校 内限速 30 km/h"
    )
    assert vocabulary.told("en", "area_entry", {"areas": [12, 13]}, "s", names) == "entered forbidden area 学校, 13"


def test_an_alert_without_parameters_keeps_its_stored_words() -> None:
    assert vocabulary.told("zh", "no_dispatch", None, "moved over 50 m") == "moved over 50 m"
    assert vocabulary.told(None, "no_dispatch", {"moved_m": 50}, "stored") == "stored"
    assert vocabulary.told("zh", "no_dispatch", {"something": 1}, "stored") == "stored"  # an older form


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5, zh;q=0.7", "zh"),
        ("zh;q=0, en", "en"),
        ("fr", None),
        ("", None),
        (None, None),
    ],
)
def test_the_reader_language_is_the_preferred_of_ours(header: str | None, language: str | None) -> None:
    assert vocabulary.preferred(header) == language
