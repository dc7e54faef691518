"""The coordinate systems of maps in China, for display: WGS-84 (what terminals send and the product stores),
GCJ-02 (the tiles of commercial Chinese map services) and CGCS2000 (Tianditu's).

GCJ-02 ("mars coordinates", 国测局坐标) is WGS-84 shifted by a published obfuscation formula, some hundreds of
metres within China and nothing outside it; the formula below is the one every open implementation uses
(eviltransform, coordtransform, gcoord: Krasovsky 1940's semi-major axis and eccentricity, a polynomial-and-sine
shift in metres). A position drawn on GCJ-02 tiles is shifted by it, for display only: what is stored, answered
by the API and exported stays WGS-84, so it can always be shifted again for another map, never twice.

CGCS2000 (China Geodetic Coordinate System 2000, 2000国家大地坐标系) and WGS-84 are both realisations of the
ITRS on ellipsoids that differ by 0.1 mm at most: at the same epoch they agree to centimetres. CGCS2000 is fixed at
epoch 2000.0, WGS-84 follows the ground's motion, so a point on the ground drifts between them with its plate, a
few centimetres a year (under a metre in 2026). Both are far below a terminal's own GNSS error (several metres),
so no conversion is applied for CGCS2000 tiles (Tianditu): positions are drawn as received.

The page's JavaScript (api/pages/static/js/geo.js) shifts what it draws with the same formula; this module is
its reference (tests/api/pages/test_coordinates.py checks that both agree). `gcj02_to_wgs84` turns a point given
in GCJ-02 back into what is stored: a click on such a map, a GB/T 32960-2025 position flagged GCJ-02
(docs/gbt32960.md).
"""

from __future__ import annotations

import math
from typing import Final, Literal

Coordinates = Literal["wgs84", "gcj02", "cgcs2000"]  # the systems a map's tiles are drawn in

# Krasovsky 1940, the ellipsoid the GCJ-02 formula is written on: semi-major axis (m), first eccentricity squared.
KRASOVSKY_A: Final = 6_378_245.0
KRASOVSKY_EE: Final = 0.00669342162296594323


def in_china(latitude: float, longitude: float) -> bool:
    """Whether GCJ-02 shifts a point: the formula's own rectangle around China (outside it, GCJ-02 is WGS-84)."""
    return 72.004 <= longitude <= 137.8347 and 0.8293 <= latitude <= 55.8271


def _shift_m(x: float, y: float) -> tuple[float, float]:
    """The formula's shift north and east, in metres on the ellipsoid, at x degrees east of 105° E and y degrees
    north of 35° N."""
    common = (20 * math.sin(6 * x * math.pi) + 20 * math.sin(2 * x * math.pi)) * 2 / 3
    north = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + common
    north += (20 * math.sin(y * math.pi) + 40 * math.sin(y / 3 * math.pi)) * 2 / 3
    north += (160 * math.sin(y / 12 * math.pi) + 320 * math.sin(y * math.pi / 30)) * 2 / 3
    east = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + common
    east += (20 * math.sin(x * math.pi) + 40 * math.sin(x / 3 * math.pi)) * 2 / 3
    east += (150 * math.sin(x / 12 * math.pi) + 300 * math.sin(x / 30 * math.pi)) * 2 / 3
    return north, east


def wgs84_to_gcj02(latitude: float, longitude: float) -> tuple[float, float]:
    """Where GCJ-02 tiles draw a WGS-84 point: (latitude, longitude) in degrees; unchanged outside China."""
    if not in_china(latitude, longitude):
        return latitude, longitude
    north, east = _shift_m(longitude - 105.0, latitude - 35.0)
    phi = math.radians(latitude)
    magic = 1 - KRASOVSKY_EE * math.sin(phi) ** 2
    # Metres to degrees: the meridian's and the parallel's radius of curvature on the Krasovsky ellipsoid.
    meridian = KRASOVSKY_A * (1 - KRASOVSKY_EE) / (magic * math.sqrt(magic))
    parallel = KRASOVSKY_A / math.sqrt(magic) * math.cos(phi)
    return latitude + math.degrees(north / meridian), longitude + math.degrees(east / parallel)


def gcj02_to_wgs84(latitude: float, longitude: float, *, tolerance_deg: float = 1e-9) -> tuple[float, float]:
    """The WGS-84 point GCJ-02 tiles draw at a point (a click on such a map), by fixed-point iteration on
    `wgs84_to_gcj02`: the shift changes by millimetres over its own size, so each step gains about five digits and
    two or three steps reach `tolerance_deg` (1e-9 degrees: 0.1 mm). Unchanged outside China."""
    lat, lon = latitude, longitude
    for _ in range(10):
        shifted_lat, shifted_lon = wgs84_to_gcj02(lat, lon)
        d_lat, d_lon = shifted_lat - latitude, shifted_lon - longitude
        lat, lon = lat - d_lat, lon - d_lon
        if abs(d_lat) < tolerance_deg and abs(d_lon) < tolerance_deg:
            break
    return lat, lon
