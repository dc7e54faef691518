"""WGS-84 to GCJ-02 against the test vectors published with two independent implementations, outside China
unchanged, and back."""

from __future__ import annotations

import pytest

from domain.datum import gcj02_to_wgs84, in_china, wgs84_to_gcj02
from domain.geo import distance_m
from tests.support.datum import PUBLISHED

# The page's JavaScript is checked against the same vectors (tests/api/pages/test_coordinates.py).
CASES = [pytest.param(*vector[1:], id=vector.name) for vector in PUBLISHED]


@pytest.mark.parametrize(("lat", "lon", "gcj_lat", "gcj_lon", "within"), CASES)
def test_wgs84_to_gcj02_gives_the_published_values(
    lat: float, lon: float, gcj_lat: float, gcj_lon: float, within: float
) -> None:
    shifted = wgs84_to_gcj02(lat, lon)
    assert shifted == pytest.approx((gcj_lat, gcj_lon), abs=within, rel=0)
    # The shift is what makes a marker miss its street on Chinese tiles: some hundreds of metres.
    assert 100 < distance_m(lat, lon, *shifted) < 1000


@pytest.mark.parametrize(("lat", "lon", "gcj_lat", "gcj_lon", "within"), CASES)
def test_gcj02_to_wgs84_finds_the_point_back_within_a_millimetre(
    lat: float, lon: float, gcj_lat: float, gcj_lon: float, within: float
) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lon))
    assert distance_m(lat, lon, *back) < 0.001
    # eviltransform's own check of its exact inverse: the published GCJ-02 point, within 0.5 m.
    assert distance_m(lat, lon, *gcj02_to_wgs84(gcj_lat, gcj_lon)) < 0.5


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (45.0, 183.0),  # gcoord's "not in China"
        (48.8584, 2.2945),  # Paris
        (-33.8568, 151.2153),  # Sydney
        (60.0, 100.0),  # north of the formula's rectangle
        (0.5, 110.0),  # south of it
    ],
)
def test_outside_china_nothing_changes(lat: float, lon: float) -> None:
    assert not in_china(lat, lon)
    assert wgs84_to_gcj02(lat, lon) == (lat, lon)
    assert gcj02_to_wgs84(lat, lon) == (lat, lon)
