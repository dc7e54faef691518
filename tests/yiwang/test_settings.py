"""Settings: the city's time zone under its new name (the old one read for one release); published secrets refused."""

from __future__ import annotations

import warnings
from zoneinfo import ZoneInfo

import pytest

from api.pages import config
from yiwang.settings import Settings


def test_the_time_zone_is_read_from_its_own_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIWANG_TIME_ZONE", "Asia/Urumqi")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new name warns of nothing
        settings = Settings()
    assert settings.zone == ZoneInfo("Asia/Urumqi")


def test_the_old_name_still_sets_the_time_zone_and_warns_of_the_new_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIWANG_TIME_ZONE", raising=False)
    monkeypatch.setenv("YIWANG_ENERGY_ZONE", "Asia/Urumqi")
    with pytest.warns(FutureWarning, match="YIWANG_TIME_ZONE"):
        settings = Settings()
    assert settings.zone == ZoneInfo("Asia/Urumqi")
    assert "YIWANG_ENERGY_ZONE" not in Settings.unknown_environment()  # not reported as a typo


def test_the_new_name_wins_over_the_old(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIWANG_TIME_ZONE", "Asia/Shanghai")
    monkeypatch.setenv("YIWANG_ENERGY_ZONE", "Asia/Urumqi")
    assert Settings().zone == ZoneInfo("Asia/Shanghai")


def test_an_unknown_zone_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIWANG_ENERGY_ZONE", "Asia/Shangai")
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="Asia/Shangai"):
        Settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("YIWANG_API_TOKEN_SECRET", "development-only-secret-change-me-in-dot-env"),
        ("YIWANG_MQTT_PASSWORD", "collector-dev"),
        ("YIWANG_DATABASE_URL", "postgresql://yiwang:yiwang@timescaledb:5432/yiwang"),
        ("YIWANG_API_DATABASE_URL", "postgresql://yiwang_api:observer-dev@db/yiwang"),
    ],
)
def test_a_secret_an_earlier_compose_file_published_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """An old .env (or compose's old defaults) would otherwise keep a password everyone knows in force."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=f"{variable} uses a published default"):
        Settings()


@pytest.mark.parametrize("variable", ["YIWANG_SUPERVISION_HOLIDAYS", "YIWANG_SUPERVISION_EXTRA_WORKDAYS"])
def test_a_holiday_set_in_the_retired_environment_names_is_refused_with_where_it_goes(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """The calendar's days are data now: an old .env's holidays must not be dropped without a word."""
    monkeypatch.setenv(variable, "2026-10-01")
    with pytest.raises(ValueError, match=rf"{variable} is no longer read: .*PUT /calendar/years/\{{year\}}"):
        Settings()
    monkeypatch.setenv(variable, "")  # set empty, as an old compose file passes it: nothing is lost
    Settings()


def test_the_old_workdays_name_still_sets_the_week_and_warns_of_the_new_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIWANG_WORKDAYS", raising=False)
    monkeypatch.setenv("YIWANG_SUPERVISION_WORKDAYS", "1,2,3,4,5,6")
    with pytest.warns(FutureWarning, match="YIWANG_WORKDAYS"):
        settings = Settings()
    assert settings.week_workdays == frozenset({0, 1, 2, 3, 4, 5})


def test_the_tiles_coordinate_system_reaches_the_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tianditu's tiles are CGCS2000: named as such, and the map states it (drawn as received).
    monkeypatch.setenv("YIWANG_PAGES_TILE_COORDINATES", "cgcs2000")
    assert config(Settings(), None)["tile_coordinates"] == "cgcs2000"
    # Baidu's BD-09 is not supported: refused by name rather than drawn hundreds of metres off.
    monkeypatch.setenv("YIWANG_PAGES_TILE_COORDINATES", "bd09")
    with pytest.raises(ValueError, match="pages_tile_coordinates"):
        Settings()
