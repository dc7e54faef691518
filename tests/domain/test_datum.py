"""WGS-84 to GCJ-02 against the test vectors published with two independent implementations, outside China
unchanged, and back."""

from __future__ import annotations

import pytest

from domain.datum import gcj02_to_wgs84, in_china, wgs84_to_gcj02
from domain.geo import distance_m

# (WGS-84 latitude, longitude, GCJ-02 latitude, longitude), as published:
# - googollee/eviltransform, python/test.py and go/transform_test.go (TESTS: Shanghai, Shenzhen, Beijing), checked
#   there to 6 decimals (0.1 m);
# - hujiulong/gcoord, test/unit/crs/WGS84.spec.ts ("WGS84 to GCJ02": [123, 45], given to 8 decimals).
# The page's JavaScript is checked against the same vectors (tests/api/pages/test_coordinates.py).
PUBLISHED = [
    pytest.param(31.1774276, 121.5272106, 31.17530398364597, 121.531541859215, 1e-12, id="eviltransform-shanghai"),
    pytest.param(22.543847, 113.912316, 22.540796131694766, 113.9171764808363, 1e-12, id="eviltransform-shenzhen"),
    pytest.param(39.911954, 116.377817, 39.91334545536069, 116.38404722455657, 1e-12, id="eviltransform-beijing"),
    pytest.param(45.0, 123.0, 45.00197815, 123.00607541, 1e-8, id="gcoord-45n-123e"),
]


@pytest.mark.parametrize(("lat", "lon", "gcj_lat", "gcj_lon", "within"), PUBLISHED)
def test_wgs84_to_gcj02_gives_the_published_values(
    lat: float, lon: float, gcj_lat: float, gcj_lon: float, within: float
) -> None:
    shifted = wgs84_to_gcj02(lat, lon)
    assert shifted == pytest.approx((gcj_lat, gcj_lon), abs=within, rel=0)
    # The shift is what makes a marker miss its street on Chinese tiles: some hundreds of metres.
    assert 100 < distance_m(lat, lon, *shifted) < 1000


@pytest.mark.parametrize(("lat", "lon", "gcj_lat", "gcj_lon", "within"), PUBLISHED)
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
