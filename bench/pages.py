"""bench/pages: the dispatch map's frame time in headless Chromium with 20,000 vehicles moving, beside baselines.

    .venv/bin/python -m bench.pages            # 20,000 vehicles, 10 s per measure (about 4 minutes)
    .venv/bin/python -m bench.pages --quick    # 2,000 vehicles, 3 s per measure (figures are rough)

Starts its own TimescaleDB and Mosquitto (anonymous, loopback only), registers the vehicles in 200 units, puts
each one's first fix straight into the tables (a benchmark backfill, not the device path), then starts a
collector and the API (`yiwang collect`, `yiwang api`) and drives every vehicle round a circle of its own through
the broker, one position per vehicle every 10 s (2,000 positions/s: every vehicle moving, which the real fleet
never is). Debian's Chromium (Playwright with its executable path) then opens the map page, logged in, and
receives the whole network over WS /positions/stream while this measures the intervals between animation frames
(requestAnimationFrame, in the browser) for `--seconds`, twice per variant: with the map still, and while it is
panned every 200 ms as a dispatcher drags it. The variants, each in a fresh tab of the same browser, same run:

- the page as it is: vehicles drawn and clustered on one canvas (api/pages/static/js/vehicle-layer.js), at the
  city's zoom (13: clusters) and at zoom 16 (every vehicle in view drawn on its own, with its heading);
- baseline: the same page and stream with an empty map (the floor of this machine: 60 Hz is 16.7 ms);
- baseline: one Leaflet circleMarker per vehicle on Leaflet's canvas renderer, moved on every change;
- baseline: one Leaflet DOM marker (divIcon) per vehicle, moved on every change.

The target of the pages issue: a median frame time under 50 ms with 20,000 vehicles.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing as mp
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.synchronize import Event
from pathlib import Path

import psycopg
from playwright.sync_api import Browser, Page, sync_playwright

from bench import loadgen
from bench.services import DISPATCHER, collector_and_api, register_fleet
from db.migrate import migrate
from domain.topics import topic
from yiwang.stack import Stack, free_port

ROOT = "bench"
INTERVAL_S = 10.0
UNITS = 200
TARGET_MEDIAN_MS = 50.0
CHROMIUM = os.environ.get("YIWANG_BENCH_CHROMIUM", "/usr/bin/chromium")
# The simulated city's box: vehicles circle round points spread over it.
SOUTH, NORTH, WEST, EAST = 29.25, 29.33, 117.15, 117.25
RADIUS_DEG = 0.004
PERIOD_S = 600.0  # once round their circle in ten minutes (about 15 km/h)


def _where(vehicle: int, at: float) -> tuple[float, float]:
    """Vehicle `vehicle`'s latitude and longitude at epoch second `at`: round a circle of its own."""
    columns = 200
    centre_lat = SOUTH + (NORTH - SOUTH) * ((vehicle // columns) % 100 + 0.5) / 100
    centre_lon = WEST + (EAST - WEST) * (vehicle % columns + 0.5) / columns
    angle = 2 * math.pi * (at / PERIOD_S + vehicle / 7.0)
    return centre_lat + RADIUS_DEG * math.sin(angle), centre_lon + RADIUS_DEG * math.cos(angle)


def _first_fixes(url: str, vehicles: int) -> None:
    """Every vehicle's position now, straight into the tables (the live map starts from live_position)."""
    now = time.time()
    at = datetime.fromtimestamp(now, UTC)
    rows = [(f"v{i}", at, *_where(i, now)) for i in range(vehicles)]
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        columns = "vehicle_id, time, latitude, longitude, speed, heading, odometer, ignition, soc, received_at"
        with cur.copy(f"COPY position ({columns}) FROM STDIN") as copy:
            for vehicle_id, fix_time, lat, lon in rows:
                copy.write_row((vehicle_id, fix_time, lat, lon, 15.0, 0.0, 1000.0, True, 70.0, fix_time))
        cur.execute(
            "INSERT INTO live_position SELECT DISTINCT ON (vehicle_id) * FROM position ORDER BY vehicle_id, time DESC"
        )


def _drive(port: int, vehicles: int, rate: float, stop: Event) -> None:
    """Publish one position per vehicle every INTERVAL_S (raw-socket QoS 1, bench.loadgen), until `stop` (or an
    hour)."""
    total = int(rate * 3600)
    conn = loadgen.Connection(port, f"bench-pages-{os.getpid()}", window=10_000)
    conn.expect(total)
    topics = [topic(ROOT, "vehicle", f"v{v}", "position") for v in range(vehicles)]
    started = time.perf_counter()
    sent = 0
    while not stop.is_set() and sent < total:
        due = min(total, int((time.perf_counter() - started) * rate) + 1)
        if due > sent:
            now = time.time()
            packets = []
            for i in range(sent, due):
                vehicle = i % vehicles
                lat, lon = _where(vehicle, now)
                heading = (now / PERIOD_S * 360 + vehicle) % 360
                payload = (
                    f'{{"time":{int(now * 1000)},"latitude":{lat:.6f},"longitude":{lon:.6f},"speed":15.0,'
                    f'"odometer":1000.0,"heading":{heading:.0f},"ignition":true,"soc":70}}'
                ).encode()
                packets.append(loadgen.publish_packet(topics[vehicle], payload, loadgen.packet_id(i)))
            conn.send(b"".join(packets), due - sent)
            sent = due
        time.sleep(0.02)
    conn.close()


# ---- in the browser ----------------------------------------------------------------------------------------

# Frame intervals over `seconds`, optionally panning the map by a few pixels every 200 ms meanwhile.
_MEASURE = """([seconds, pan]) => new Promise((resolve) => {
  const map = window.yiwang.map;
  const intervals = [];
  let last = performance.now();
  const end = last + seconds * 1000;
  let direction = 1;
  const panning = pan ? setInterval(() => { direction = -direction; map.panBy([40 * direction, 25 * direction],
    { animate: true, duration: 0.18 }); }, 200) : null;
  const frame = (now) => {
    intervals.push(now - last);
    last = now;
    if (now < end) requestAnimationFrame(frame);
    else { if (panning) clearInterval(panning); resolve(intervals.slice(1)); }
  };
  requestAnimationFrame(frame);
})"""

# The canvas layer's drawing time of each frame it draws.
_DRAW_TIMES = """() => {
  const layer = window.yiwang.layer;
  const draw = layer.draw.bind(layer);
  window.drawMs = [];
  layer.draw = () => { const dirty = layer.dirty; draw(); if (dirty) window.drawMs.push(layer.drawMs); };
}"""

_EMPTY = (
    """() => { const layer = window.yiwang.layer; layer.canvas.remove(); layer.draw = () => { layer.frame = 0; }; }"""
)

# One Leaflet layer per vehicle, moved by each change the page receives (the layer's data stays as it is).
_PER_VEHICLE = """([kind]) => {
  const { map, layer } = window.yiwang;
  layer.canvas.remove();
  layer.draw = () => { layer.frame = 0; };
  const icon = L.divIcon({ className: "bench-vehicle", iconSize: [10, 10], html: "" });
  const make = (lat, lon) => kind === "dom" ? L.marker([lat, lon], { icon }) :
    L.circleMarker([lat, lon], { radius: 5, weight: 1, color: "#fff", fillColor: "#2f9e44", fillOpacity: 1 });
  const markers = new Map();
  const group = L.layerGroup().addTo(map);
  for (const v of layer.vehicles.values()) markers.set(v.id, make(v.lat, v.lon).addTo(group));
  const apply = layer.apply.bind(layer);
  layer.apply = (features, removed) => {
    apply(features, removed);
    for (const f of features) {
      const [lon, lat] = f.geometry.coordinates;
      const m = markers.get(f.id);
      if (m) m.setLatLng([lat, lon]); else markers.set(f.id, make(lat, lon).addTo(group));
    }
    for (const id of removed) { markers.get(id)?.remove(); markers.delete(id); }
  };
  return markers.size;
}"""


@dataclass(frozen=True)
class Measure:
    variant: str
    still: list[float]
    panning: list[float]
    draw_ms: list[float]  # the canvas layer's drawing time per frame drawn (the page as it is only)
    setup_s: float

    @staticmethod
    def q(samples: list[float], p: int) -> float:
        if len(samples) < 2:
            return samples[0] if samples else float("nan")
        return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


@dataclass(frozen=True)
class Site:
    """The browser, the API's address and the dispatcher's password, and how many vehicles the map must show."""

    browser: Browser
    base: str
    password: str
    vehicles: int


def _open(site: Site) -> tuple[Page, float]:
    """A fresh tab, logged in through the login page, once the map has every vehicle; and how long that took."""
    page = site.browser.new_page(viewport={"width": 1400, "height": 860})
    page.goto(f"{site.base}/pages/login.html")
    page.fill("#username", DISPATCHER)
    page.fill("#password", site.password)
    started = time.monotonic()
    page.click("#login-submit")
    page.wait_for_url("**/map.html")
    deadline = time.monotonic() + 120
    shown = f"() => Boolean(window.yiwang && window.yiwang.layer.vehicles.size >= {site.vehicles})"
    while not page.evaluate(shown):
        if time.monotonic() > deadline:
            raise TimeoutError("the map did not get every vehicle within 120 s")
        time.sleep(0.2)
    return page, time.monotonic() - started


def _measure(site: Site, variant: str, seconds: float) -> Measure:
    page, loaded = _open(site)
    try:
        draws: list[float] = []
        started = time.monotonic()
        if variant in {"canvas", "canvas16"}:
            page.evaluate(_DRAW_TIMES)
            if variant == "canvas16":
                page.evaluate("() => window.yiwang.map.setZoom(16, { animate: false })")
        elif variant == "empty":
            page.evaluate(_EMPTY)
        else:
            page.evaluate(_PER_VEHICLE, ["dom" if variant == "dom" else "circle"])
        setup = time.monotonic() - started + (loaded if variant == "canvas" else 0.0)
        time.sleep(1.0)
        still: list[float] = page.evaluate(_MEASURE, [seconds, False])
        panning: list[float] = page.evaluate(_MEASURE, [seconds, True])
        if variant in {"canvas", "canvas16"}:
            draws = page.evaluate("() => window.drawMs")
            page.screenshot(path=str(Path(f"bench/results/pages-{variant}.png")))
        return Measure(variant, still, panning, draws, setup)
    finally:
        page.close()


_NAMES = {
    "canvas": "**the page: one canvas, grid clusters** (zoom 13, the city)",
    "canvas16": "**the page at zoom 16**: every vehicle in view drawn alone",
    "empty": "baseline: empty map (same page, same stream)",
    "circle": "baseline: a Leaflet circleMarker per vehicle (canvas renderer)",
    "dom": "baseline: a Leaflet DOM marker per vehicle",
}


def _report(measures: list[Measure], vehicles: int, seconds: float) -> None:
    print(f"\nframe intervals in headless Chromium, {vehicles:,} vehicles, {seconds:.0f} s each (ms):")
    print("| variant | still p50 | still p95 | panning p50 | panning p95 | set-up s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for m in measures:
        print(
            f"| {_NAMES[m.variant]} | {m.q(m.still, 50):.1f} | {m.q(m.still, 95):.1f} | {m.q(m.panning, 50):.1f} "
            f"| {m.q(m.panning, 95):.1f} | {m.setup_s:.1f} |"
        )
    ours = [m for m in measures if m.variant in {"canvas", "canvas16"}]
    for m in ours:
        if m.draw_ms:
            print(
                f"\n{_NAMES[m.variant]}: the layer drew {len(m.draw_ms)} frames, p50 {m.q(m.draw_ms, 50):.1f} ms, "
                f"p95 {m.q(m.draw_ms, 95):.1f} ms, max {max(m.draw_ms):.1f} ms"
            )
    worst = max(max(m.q(m.still, 50), m.q(m.panning, 50)) for m in ours)
    verdict = "met" if worst < TARGET_MEDIAN_MS else "NOT met"
    print(f"target: median frame under {TARGET_MEDIAN_MS:.0f} ms with the page as it is: {worst:.1f} ms, {verdict}")


QUICK = {"vehicles": 2000, "seconds": 3.0, "variants": ["canvas", "empty"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vehicles", type=int, default=20_000)
    p.add_argument("--seconds", type=float, default=10.0, help="of each measure (still, then panning)")
    p.add_argument(
        "--variants", nargs="+", default=["canvas", "canvas16", "empty", "circle", "dom"], choices=list(_NAMES)
    )
    p.add_argument("--quick", action="store_true", help=f"a small run for a smoke test: {QUICK}")
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if "canvas" not in args.variants:
        args.variants.insert(0, "canvas")
    Path("bench/results").mkdir(parents=True, exist_ok=True)

    home = Path(tempfile.mkdtemp(prefix="yiwang-bench-pages-"))
    home.chmod(0o755)
    stack = Stack.at(home, free_port(), free_port(), shared_buffers="512MB", anonymous=True)
    print(f"bench/pages on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}: stack in {home}")
    began = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack.up()
    measures: list[Measure] = []
    try:
        url = stack.postgres.url
        migrate(url)
        password = secrets.token_urlsafe(16)
        asyncio.run(register_fleet(url, args.vehicles, UNITS, energy="battery_electric", password=password))
        _first_fixes(url, args.vehicles)
        ctx = mp.get_context("fork")
        stop = ctx.Event()
        with collector_and_api(stack, ROOT, home) as (base, _api):
            driver = ctx.Process(
                target=_drive, args=(stack.mosquitto.port, args.vehicles, args.vehicles / INTERVAL_S, stop), daemon=True
            )
            driver.start()
            print(f"  load: {args.vehicles / INTERVAL_S:,.0f} positions/s, every vehicle moving", flush=True)
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                    site = Site(browser, base, password, args.vehicles)
                    for variant in args.variants:
                        print(f"  measuring: {_NAMES[variant]}", flush=True)
                        measures.append(_measure(site, variant, args.seconds))
                    browser.close()
            finally:
                stop.set()
                driver.join(30)
    finally:
        stack.down()
        shutil.rmtree(home, ignore_errors=True)
    _report(measures, args.vehicles, args.seconds)
    print(
        f"\n(whole run {time.monotonic() - began:.0f} s; load average now {os.getloadavg()[0]:.2f}; "
        "screenshots of the page in bench/results/pages-canvas*.png)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
