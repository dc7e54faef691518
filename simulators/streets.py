"""The street grid of central Jingdezhen: intersections, streets, the Chang river and its bridges, routes."""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass

from domain.geo import bearing_deg
from simulators import names

# The central area the grid covers (WGS-84): Zhushan east of the Chang river, Changjiang west of it.
SOUTH, NORTH, WEST, EAST = 29.25, 29.33, 117.15, 117.25
_MARGIN = 0.004  # streets stop ~400 m inside the box, so GPS noise never leaves it
_RIVER_LON = 117.19

_MID_LAT = math.radians((SOUTH + NORTH) / 2)
# Local equirectangular metres per degree at the city's latitude; error well under 0.1% over 10 km.
M_PER_DEG_LAT = 111132.92 - 559.82 * math.cos(2 * _MID_LAT) + 1.175 * math.cos(4 * _MID_LAT)
M_PER_DEG_LON = 111412.84 * math.cos(_MID_LAT) - 93.5 * math.cos(3 * _MID_LAT)


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    """East and north offsets in metres from the first point to the second."""
    return (lon2 - lon1) * M_PER_DEG_LON, (lat2 - lat1) * M_PER_DEG_LAT


@dataclass(frozen=True, slots=True)
class Link:
    """A street between two neighbouring intersections, one direction of it."""

    to: int
    length: float  # m
    speed: float  # m/s the traffic flows at when the road is free
    bearing: float  # degrees clockwise from north
    street: str
    arterial: bool


@dataclass(frozen=True, slots=True)
class Streets:
    """Intersections (nodes) on a grid of rows (east-west streets) and columns (north-south streets).

    The river runs between column `river_col` and the next one; only the rows in `bridges` cross it.
    """

    latitudes: tuple[float, ...]  # of the rows, south to north
    longitudes: tuple[float, ...]  # of the columns, west to east
    row_names: tuple[str, ...]
    col_names: tuple[str, ...]
    river_col: int
    bridges: frozenset[int]
    links: tuple[tuple[Link, ...], ...]  # per node

    @property
    def cols(self) -> int:
        return len(self.longitudes)

    @property
    def rows(self) -> int:
        return len(self.latitudes)

    def node(self, row: int, col: int) -> int:
        return row * self.cols + col

    def row_col(self, node: int) -> tuple[int, int]:
        return divmod(node, self.cols)

    def position(self, node: int) -> tuple[float, float]:
        """Latitude and longitude of an intersection."""
        row, col = divmod(node, self.cols)
        return self.latitudes[row], self.longitudes[col]


def _lines(rng: random.Random, low: float, high: float, step: tuple[float, float]) -> list[float]:
    lines = [low + rng.uniform(0, step[0] / 2)]
    while lines[-1] + step[0] < high:
        lines.append(min(high, lines[-1] + rng.uniform(*step)))
    return lines


def build_streets(rng: random.Random) -> Streets:
    """An irregular grid with blocks of 350-750 m, arterials every third street, one diagonal avenue."""
    lats = _lines(rng, SOUTH + _MARGIN, NORTH - _MARGIN, (0.0032, 0.0068))
    lons = _lines(rng, WEST + _MARGIN, EAST - _MARGIN, (0.0036, 0.0075))
    river_col = max(i for i, lon in enumerate(lons) if lon < _RIVER_LON)
    rows, cols = len(lats), len(lons)
    arterial_rows = {r for r in range(rows) if r % 3 == 1}
    arterial_cols = {c for c in range(cols) if c % 3 == 1} | {river_col, river_col + 1}
    bridges = frozenset(arterial_rows | {1, rows - 2})
    row_names = tuple(names.EAST_WEST_STREETS[r % len(names.EAST_WEST_STREETS)] for r in range(rows))
    col_names = tuple(names.NORTH_SOUTH_STREETS[c % len(names.NORTH_SOUTH_STREETS)] for c in range(cols))

    links: list[list[Link]] = [[] for _ in range(rows * cols)]
    speeds: dict[str, float] = {}

    def speed_of(street: str, arterial: bool) -> float:
        if street not in speeds:
            kmh = rng.uniform(48, 60) if arterial else rng.uniform(28, 42)
            speeds[street] = kmh / 3.6
        return speeds[street]

    def connect(a: tuple[int, int], b: tuple[int, int], street: str, arterial: bool) -> None:
        na, nb = a[0] * cols + a[1], b[0] * cols + b[1]
        east, north = metres(lats[a[0]], lons[a[1]], lats[b[0]], lons[b[1]])
        length = math.hypot(east, north)
        v = speed_of(street, arterial)
        links[na].append(Link(nb, length, v, bearing_deg(east, north), street, arterial))
        links[nb].append(Link(na, length, v, bearing_deg(-east, -north), street, arterial))

    for r in range(rows):
        for c in range(cols - 1):
            if c == river_col and r not in bridges:
                continue
            connect((r, c), (r, c + 1), row_names[r], r in arterial_rows)
    for c in range(cols):
        for r in range(rows - 1):
            connect((r, c), (r + 1, c), col_names[c], c in arterial_cols)
    # One avenue cuts diagonally (south-west to north-east) through the blocks east of the river.
    r, c = rng.randrange(0, max(1, rows // 3)), river_col + 2
    while r + 1 < rows and c + 1 < cols:
        connect((r, c), (r + 1, c + 1), names.DIAGONAL_STREET, True)
        r, c = r + 1, c + 1

    return Streets(
        latitudes=tuple(lats),
        longitudes=tuple(lons),
        row_names=row_names,
        col_names=col_names,
        river_col=river_col,
        bridges=bridges,
        links=tuple(tuple(node_links) for node_links in links),
    )


class Router:
    """Fastest routes on free-flowing streets, with next hops cached per destination.

    One Dijkstra per destination (a few ms on ~300 intersections); destinations are the few hundred
    intersections where institutions are, so the cache stays small.
    """

    def __init__(self, streets: Streets) -> None:
        self._streets = streets
        self._toward: dict[int, list[int]] = {}

    def path(self, origin: int, destination: int) -> list[int]:
        """The intersections from origin to destination, both included."""
        toward = self._toward.get(destination)
        if toward is None:
            toward = self._toward[destination] = self._next_hops(destination)
        path = [origin]
        while path[-1] != destination:
            hop = toward[path[-1]]
            if hop < 0:
                raise ValueError(f"no route from node {origin} to node {destination}")
            path.append(hop)
        return path

    def _next_hops(self, destination: int) -> list[int]:
        # Links come in pairs of equal cost, so the search from the destination gives the way to it.
        links = self._streets.links
        cost = [math.inf] * len(links)
        hop = [-1] * len(links)
        cost[destination] = 0.0
        heap = [(0.0, destination)]
        while heap:
            c, node = heapq.heappop(heap)
            if c > cost[node]:
                continue
            for link in links[node]:
                nc = c + link.length / link.speed
                if nc < cost[link.to]:
                    cost[link.to] = nc
                    hop[link.to] = node
                    heapq.heappush(heap, (nc, link.to))
        return hop
