"""WGS-84 to GCJ-02 test vectors as their publishers give them, shared by the Python test (tests/domain/test_datum.py)
and the page test of the same formula in JavaScript (tests/api/pages/test_coordinates.py)."""

from __future__ import annotations

from typing import NamedTuple


class Vector(NamedTuple):
    """A published WGS-84 point, its GCJ-02 point, and how closely the publisher gives the latter (degrees)."""

    name: str
    lat: float
    lon: float
    gcj_lat: float
    gcj_lon: float
    within: float


# - googollee/eviltransform, python/test.py and go/transform_test.go (TESTS: Shanghai, Shenzhen, Beijing), checked
#   there to 6 decimals (0.1 m); the formula reproduces them to the last bit;
# - hujiulong/gcoord, test/unit/crs/WGS84.spec.ts ("WGS84 to GCJ02": [123, 45], given to 8 decimals).
PUBLISHED = [
    Vector("eviltransform-shanghai", 31.1774276, 121.5272106, 31.17530398364597, 121.531541859215, 1e-12),
    Vector("eviltransform-shenzhen", 22.543847, 113.912316, 22.540796131694766, 113.9171764808363, 1e-12),
    Vector("eviltransform-beijing", 39.911954, 116.377817, 39.91334545536069, 116.38404722455657, 1e-12),
    Vector("gcoord-45n-123e", 45.0, 123.0, 45.00197815, 123.00607541, 1e-8),
]
