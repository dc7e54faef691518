"""Where things are: great-circle distances, bearings, points in polygons, a local plane; plain and in arrays.

Coordinates are WGS-84 degrees as GNSS gives them (the product stores what terminals send); distances are
haversine metres on the mean Earth radius, which errs least on average over a sphere (0.3% at most against the
ellipsoid). The plain forms serve one pair at a time; the array forms (numpy) serve a day's track at once.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius


class Located(Protocol):
    """Anything with a WGS-84 position: a position report, a stop, a candidate vehicle."""

    @property
    def latitude(self) -> float: ...

    @property
    def longitude(self) -> float: ...


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def path_m(points: Sequence[Located]) -> float:
    """Great-circle metres along the points in their order: `distance_m` of each pair, summed, in one loop (a
    day's track is 8,640 pairs, and this runs for every trip counted)."""
    sin, cos, asin, sqrt, rad = math.sin, math.cos, math.asin, math.sqrt, math.radians
    total = 0.0
    if not points:
        return total
    p1, l1 = rad(points[0].latitude), rad(points[0].longitude)
    c1 = cos(p1)
    for point in points[1:]:
        p2, l2 = rad(point.latitude), rad(point.longitude)
        c2 = cos(p2)
        h = sin((p2 - p1) / 2) ** 2 + c1 * c2 * sin((l2 - l1) / 2) ** 2
        total += asin(min(1.0, sqrt(h)))
        p1, l1, c1 = p2, l2, c2
    return 2 * EARTH_RADIUS_M * total


class Sphere:
    """Points in radians, each with its latitude's cosine, for many distances among them: cleaning a track judges
    each fix against the last one kept, and computes each point's part once."""

    __slots__ = ("_cos", "_lat", "_lon")

    def __init__(self, points: Sequence[Located]) -> None:
        self._lat = [math.radians(p.latitude) for p in points]
        self._lon = [math.radians(p.longitude) for p in points]
        self._cos = [math.cos(lat) for lat in self._lat]

    def half_angle(self, i: int, j: int) -> float:
        """Half the central angle between points i and j, in radians (the haversine's arcsine): metres are
        `2 * EARTH_RADIUS_M` times it."""
        lat, lon = self._lat, self._lon
        h = math.sin((lat[j] - lat[i]) / 2) ** 2 + self._cos[i] * self._cos[j] * math.sin((lon[j] - lon[i]) / 2) ** 2
        return math.asin(min(1.0, math.sqrt(h)))


def half_angles(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """`Sphere.half_angle` between each point and the next, in arrays of WGS-84 degrees: one fewer than points."""
    lat, lon = np.radians(latitude), np.radians(longitude)
    h = np.sin(np.diff(lat) / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2
    halves: np.ndarray = np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return halves


def bearing_deg(east_m: float, north_m: float) -> float:
    """Degrees clockwise from north of a displacement on a local plane, in [0, 360): a heading as terminals send
    it (JT/T 808: 0-359)."""
    return math.degrees(math.atan2(east_m, north_m)) % 360.0


def plane(latitude: np.ndarray, longitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metres east and north of the first point on a local equirectangular plane (at the points' mean latitude):
    within a province the error is a few per cent at most and within a stop's radius a few parts per million, and
    it makes distances plane geometry."""
    lat0 = math.radians(float(latitude.mean()))
    east = EARTH_RADIUS_M * math.cos(lat0) * math.pi / 180
    north = EARTH_RADIUS_M * math.pi / 180
    return east * (longitude - longitude[0]), north * (latitude - latitude[0])


Ring = Sequence[tuple[float, float]]  # GeoJSON [longitude, latitude] positions, the last equal to the first


def in_ring(ring: Ring, longitude: float, latitude: float) -> bool:
    """Whether a point is inside a closed ring (ray casting: crossings of a ray going east from the point)."""
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > latitude) != (y2 > latitude) and longitude < x1 + (latitude - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def in_polygon(polygon: Sequence[Ring], longitude: float, latitude: float) -> bool:
    """Whether a point is inside a GeoJSON polygon: within its outline (the first ring) and in none of its holes."""
    outline, *holes = polygon
    return in_ring(outline, longitude, latitude) and not any(in_ring(h, longitude, latitude) for h in holes)


def in_circle(centre: tuple[float, float], radius_m: float, longitude: float, latitude: float) -> bool:
    """Whether a point is within `radius_m` great-circle metres of `centre` ([lon, lat]); the edge is inside."""
    return distance_m(centre[1], centre[0], latitude, longitude) <= radius_m


def distance_to_line_m(line: Ring, longitude: float, latitude: float) -> float:
    """Metres from a point to the nearest point of a polyline ([lon, lat] positions, at least one), on the local plane
    at the point's latitude (as `plane`): a corridor's width is tens of metres to a few km, over which the plane errs
    by parts per million. At a bend the nearest point is the vertex, so a corridor's edge rounds the outside of a
    bend (a buffer, as a road's is) rather than cutting a mitre."""
    east = EARTH_RADIUS_M * math.cos(math.radians(latitude)) * math.pi / 180
    north = EARTH_RADIUS_M * math.pi / 180
    points = [((x - longitude) * east, (y - latitude) * north) for x, y in line]
    best = math.hypot(*points[0])
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        # The segment's point nearest the origin (the point judged): its parameter clamped to the segment.
        t = 0.0 if length2 == 0 else min(1.0, max(0.0, -(x1 * dx + y1 * dy) / length2))
        best = min(best, math.hypot(x1 + t * dx, y1 + t * dy))
    return best


def in_corridor(line: Ring, width_m: float, longitude: float, latitude: float) -> bool:
    """Whether a point is within a corridor: at most half its width from the route's polyline, the edge inside."""
    return distance_to_line_m(line, longitude, latitude) <= width_m / 2
