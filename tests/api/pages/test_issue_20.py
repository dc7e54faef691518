"""Issue 20 ("a dispatcher's and an energy officer's first day") is done when page tests in the real browser cover
each of its points, in both languages where the point is about words. This is its table: each point, the page tests
that show it and the languages they see it in (and, for a point that is no page's, the tests that hold it
elsewhere). A test renamed or removed, or a point about words seen in one language only, fails here.

Reads the test files only: it starts no system."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2]
PAGES = Path(__file__).resolve().parent
BOTH = ("zh", "en")


@dataclass(frozen=True)
class Point:
    text: str
    pages: tuple[tuple[str, str, tuple[str, ...]], ...]  # (file in tests/api/pages, test, languages)
    words: bool = False  # about words: seen in both languages
    elsewhere: tuple[str, ...] = ()  # "path/under/tests.py::test" where a point is no page's (a command, an API)
    why_no_page: str = ""


POINTS = (
    Point(
        "A base map: a tile service by URL with its coordinate system, an offline package, else the grid; the page "
        "says which",
        (
            ("test_basemap.py", "test_the_grid_when_no_base_map_is_set", ("zh",)),
            ("test_basemap.py", "test_the_tiles_of_the_offline_package", ("zh",)),
            ("test_basemap.py", "test_a_tile_service_by_url_with_its_key_labels_and_gcj02_for_display_only", ("zh",)),
            ("test_basemap.py", "test_the_base_map_and_areas_are_stated_in_chinese_and_english", BOTH),
            ("test_coordinates.py", "test_each_system_is_stated_in_chinese_and_english", BOTH),
            ("test_first_day.py", "test_a_first_dispatch_from_request_to_the_map_in_the_pages", BOTH),
        ),
        words=True,
    ),
    Point(
        "A fresh start has drivers, and the dispatch panel says how to add one when there is none",
        (
            ("test_map.py", "test_a_fresh_city_has_drivers_to_dispatch_and_a_dispatcher_adds_one_in_the_page", ("zh",)),
            ("test_first_day.py", "test_a_platform_without_drivers_says_how_to_add_one_and_the_dispatcher_does", BOTH),
        ),
        words=True,
    ),
    Point(
        "Unit users submit, follow, cancel and evaluate their requests in the pages; no empty driver selector",
        (
            ("test_map.py", "test_a_units_user_submits_follows_cancels_and_evaluates_requests_in_the_page", ("zh",)),
            ("test_first_day.py", "test_a_first_dispatch_from_request_to_the_map_in_the_pages", BOTH),
        ),
    ),
    Point(
        "Some simulated vehicles are on duty at all hours: the map is never still, on a Sunday evening either",
        (),
        elsewhere=(
            "simulators/test_vehicles.py::test_the_map_is_never_still_some_vehicles_are_on_call_every_evening_and_night",
        ),
        why_no_page="the page system's simulators start now, not on a Sunday evening",
    ),
    Point(
        "The map is light over an office network: compressed, a reconnecting client gets only what changed",
        (
            (
                "test_map_bandwidth.py",
                "test_the_map_stream_is_deflated_and_a_reconnecting_page_gets_only_what_changed",
                ("zh",),
            ),
        ),
        elsewhere=(
            "api/test_compression.py::test_the_map_stream_negotiates_permessage_deflate_as_browsers_offer_it",
            "bench/test_bench.py::test_bench_dispatch_quick_run_reports_every_figure",
        ),
    ),
    Point(
        "Nothing half-translated: alert details and units' names in the page's language, energy and vehicle types "
        "in the files' language, from one vocabulary file per language with a test that finds a missing key",
        (("test_vocabulary.py", "test_an_alert_card_tells_its_detail_and_unit_in_the_page_language", BOTH),),
        words=True,
        elsewhere=(
            "api/pages/test_vocabulary.py::test_the_pages_read_the_vocabulary_the_api_serves",
            "domain/test_vocabulary.py::test_both_languages_have_the_same_keys",
            "domain/test_vocabulary.py::test_every_key_the_pages_name_is_in_the_vocabulary",
            "notifier/test_messages.py::test_a_message_tells_the_detail_in_chinese_and_the_unit_by_name",
            "api/energy/test_energy.py::test_the_xlsx_holds_the_apis_figures_with_chinese_headers_and_english_on_request",
            "api/registry/test_vehicles.py::test_an_exported_vehicles_workbook_imports_back_unchanged",
        ),
    ),
    Point(
        "The energy dashboard opens on the latest whole period with data and says what period is shown",
        (
            ("test_energy.py", "test_the_dashboard_shows_the_citys_indicators_ranking_and_data_quality", ("zh",)),
            ("test_first_day.py", "test_a_first_energy_report_from_the_dashboard_to_an_institutions_xlsx", BOTH),
        ),
        words=True,
    ),
    Point(
        "The English dashboard's legend covers no axis name and every category is labelled",
        (
            (
                "test_energy.py",
                "test_the_english_dashboard_names_every_category_and_its_legend_covers_no_axis_name",
                ("en",),
            ),
        ),
    ),
    Point(
        "The quota panel names no API path: quotas are set in the page",
        (
            ("test_energy.py", "test_an_admin_sets_a_quota_in_the_page_and_the_panel_assesses_it", ("zh",)),
            ("test_energy.py", "test_the_dashboard_shows_quotas_by_category_and_institution", BOTH),
            ("test_first_day.py", "test_a_first_energy_report_from_the_dashboard_to_an_institutions_xlsx", BOTH),
        ),
        words=True,
    ),
    Point(
        "/docs works without internet, and nobody needs it for a first dispatch or energy report",
        (
            # Swagger UI and ReDoc speak their own English whatever the pages' language.
            ("test_docs.py", "test_docs_list_the_operations_with_nothing_from_outside", ()),
            ("test_docs.py", "test_redoc_shows_the_reference_with_nothing_from_outside", ()),
            ("test_first_day.py", "test_a_first_dispatch_from_request_to_the_map_in_the_pages", BOTH),
            ("test_first_day.py", "test_a_first_energy_report_from_the_dashboard_to_an_institutions_xlsx", BOTH),
        ),
    ),
    Point(
        "GET /alerts returns items and next_after, as every list does",
        (("test_map.py", "test_acknowledge_an_alert_with_a_note", ("zh",)),),
        elsewhere=("api/supervision/test_lifecycle.py::test_an_alert_goes_through_its_lifecycle_within_scope",),
    ),
    Point(
        "Approving a request takes a note under one name",
        (
            ("test_map.py", "test_approve_a_request_and_dispatch_a_suggested_vehicle_in_one_click", ("zh",)),
            ("test_first_day.py", "test_a_first_dispatch_from_request_to_the_map_in_the_pages", BOTH),
        ),
        elsewhere=("api/fleet/test_trip_requests.py",),
    ),
    Point(
        "Running start.sh again keeps what users changed in the registry",
        (),
        elsewhere=(
            "db/test_registry.py::test_importing_only_what_is_new_keeps_what_users_changed_and_adds_the_rest",
            "test_compose.py",
        ),
        why_no_page="a command's behaviour",
    ),
    Point(
        "`yiwang broker --help` names every role a service account may have",
        (),
        elsewhere=("yiwang/test_cli_help.py::test_broker_help_names_every_role_a_service_account_may_have",),
        why_no_page="a command's help",
    ),
    Point(
        "Long work says how far it is: backfill, energy and mileage rebuilds, big registry imports",
        (),
        elsewhere=(
            "yiwang/test_progress.py::test_a_backfill_says_how_far_it_is_as_it_goes",
            "yiwang/test_progress.py::test_a_big_registry_import_says_how_far_it_is_as_it_goes",
            "yiwang/test_progress.py::test_an_energy_rebuild_of_a_city_says_how_far_it_is_as_it_goes",
            "yiwang/test_progress.py::test_a_log_gets_a_plain_line_every_so_often_and_the_last_one",
        ),
        why_no_page="commands' output",
    ),
    Point(
        "Admins find refused messages by reason, device and time in a page, with counts per device",
        (
            (
                "test_devices.py",
                "test_an_admin_finds_a_misconfigured_terminal_and_sees_why_its_messages_are_refused",
                BOTH,
            ),
        ),
        words=True,
        elsewhere=("api/dead_letters/test_dead_letters.py",),
    ),
    Point(
        "Done when: a new user makes a first dispatch and a first energy report without the API docs",
        (
            ("test_first_day.py", "test_a_first_dispatch_from_request_to_the_map_in_the_pages", BOTH),
            ("test_first_day.py", "test_a_first_energy_report_from_the_dashboard_to_an_institutions_xlsx", BOTH),
        ),
        words=True,
    ),
)


@cache
def _tests(path: Path) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def _sees_english(path: Path, test: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the test sees English: it switches the page's language (#lang-switch), runs once per language, or
    reads the English texts."""
    source = ast.get_source_segment(path.read_text(encoding="utf-8"), test) or ""
    for decorator in test.decorator_list:
        if "parametrize" in ast.unparse(decorator) and "'en'" in ast.unparse(decorator):
            return True
    return "lang-switch" in source or "_log_in(page, system, language" in source or 'texts["en"]' in source


def test_every_point_of_issue_20_has_its_tests_in_the_languages_it_needs() -> None:
    missing: list[str] = []
    for point in POINTS:
        if not point.pages and not point.why_no_page:
            missing.append(f"{point.text}: no page test, and no reason why")
        seen: set[str] = set()
        for file, name, languages in point.pages:
            test = _tests(PAGES / file).get(name)
            if test is None:
                missing.append(f"{point.text}: no {file}::{name}")
                continue
            if "en" in languages and not _sees_english(PAGES / file, test):
                missing.append(f"{point.text}: {file}::{name} is said to see English and never does")
            seen |= set(languages)
        if point.words and not set(BOTH) <= seen:
            missing.append(f"{point.text}: about words, seen in {sorted(seen)} only")
        for where in point.elsewhere:
            file, _, name = where.partition("::")
            if not (TESTS / file).exists() or (name and name not in _tests(TESTS / file)):
                missing.append(f"{point.text}: no {where}")
    assert missing == []
