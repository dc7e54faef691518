"""The whole system running for the page tests (`yiwang run` with simulators, in a home of its own), the test
vehicle it drives, and what the page tests do in a page: log in, wait for a script, keep a screenshot.

The system is the README's first command in a home of its own (its own TimescaleDB and Mosquitto on free ports,
collector, supervisor, API and the meter and vehicle simulators), not the session's shared stack: the simulated
city it imports would otherwise be among what other tests see as admins. On top of the simulators the tests drive
one vehicle of their own through the broker, as a terminal would, so that what they watch moves whatever the
hour (the simulated fleet keeps office hours).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiomqtt
import httpx
import orjson
import psycopg
from playwright.sync_api import Page

from domain.registry import RegistryDocument, Vehicle
from domain.topics import topic
from tests.support.broker import publish
from tests.support.registry import import_registry
from tests.support.rollups import ZONE
from tests.support.stack import make_stack_home, run_environment, start_run
from tests.support.waiting import wait_until

CHROMIUM = os.environ.get("YIWANG_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1400, "height": 860}
# The browsers' zone: the city's (the system runs in the default one), where its users are. Pages count "today" and
# whole days in the browser's calendar, and the counted days are the city's; a browser in UTC would be a day behind
# from 16:00 to 24:00 UTC.
TIMEZONE = ZONE.key


def today() -> date:
    """The city's today: the browsers' (TIMEZONE)."""
    return datetime.now(ZONE).date()


TEST_VEHICLE = "v-pagetest"
TEST_PLATE = "赣H·TEST1"
START_SECONDS = 300
T = TypeVar("T")


@dataclass
class System:
    """The running system: where its API answers, its admin, and a broker account."""

    url: str
    admin_password: str
    root: str
    mqtt_port: int
    gateway: tuple[str, str]  # user name, password: publishes as a terminal gateway does
    organisation: str  # a simulated unit, which the test vehicle joins
    env: dict[str, str] = field(default_factory=dict)  # the run's YIWANG_* environment (a second API beside it)

    def token(self) -> str:
        response = httpx.post(
            f"{self.url}/auth/token", data={"username": "admin", "password": self.admin_password}, timeout=10
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the API as the admin; the JSON answer."""
        response = httpx.request(
            method, f"{self.url}{path}", headers={"Authorization": f"Bearer {self.token()}"}, timeout=30, **kwargs
        )
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def drive(self, fixes: list[dict[str, object]]) -> None:
        """Publish positions of the test vehicle through the broker (QoS 1), as its terminal would."""
        self.publish([(topic(self.root, "vehicle", TEST_VEHICLE, "position"), orjson.dumps(fix)) for fix in fixes])

    def publish(self, messages: list[tuple[str, bytes]]) -> None:
        """Publish messages through the broker (QoS 1) as the terminal gateway does."""
        user, password = self.gateway
        _run(publish(self.mqtt_port, messages, username=user, password=password))


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from sync code, in a thread of its own: Playwright's sync API keeps an event loop
    running in the test's thread, where asyncio.run refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def fix(at: datetime, step: int, *, speed: float = 18.0) -> dict[str, object]:
    """A fix of the test vehicle, driving east across the simulated city (about 50 m a step)."""
    return {
        "time": int(at.timestamp() * 1000),
        "latitude": 29.2900,
        "longitude": 117.1800 + step * 0.0005,
        "speed": speed,
        "heading": 90.0,
        "odometer": 5000.0 + step * 0.05,
        "ignition": True,
        "soc": 80.0 - step * 0.05,
    }


@contextmanager
def running_system() -> Iterator[System]:
    """`yiwang run` with a small simulated city, two days of meter history, and the test vehicle's last 20 minutes."""
    home = make_stack_home("pages")
    env = run_environment(
        home,
        sim_institutions="8",
        sim_vehicles="40",
        # New vehicles and states reach the map within this (default 10 s), and the collector and supervisor know
        # a new vehicle within this (default 60 s: until then its reports are dead letters).
        live_refresh_seconds="2",
        registry_refresh_seconds="2",
        # The API counts the meter history into the consumption roll-up within this (default 10 s).
        energy_refresh_seconds="2",
    )
    mqtt_port = int(env["YIWANG_MQTT_PORT"])
    api_port = int(env["YIWANG_API_PORT"])
    run, printed = start_run(env, history_days=2, seconds=START_SECONDS)
    assert run.stdout is not None
    try:
        assert "Yiwang is running" in printed, printed
        url = f"http://127.0.0.1:{api_port}"
        database_url = env["YIWANG_DATABASE_URL"]
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT organisation_id FROM vehicle ORDER BY id LIMIT 1").fetchone()
        assert row is not None
        organisation = row[0]
        document = RegistryDocument(
            vehicles=[
                Vehicle(
                    id=TEST_VEHICLE,
                    organisation_id=organisation,
                    plate=TEST_PLATE,
                    energy="battery_electric",
                    seats=5,
                )
            ]
        )
        _run(import_registry(database_url, document))
        account = subprocess.run(
            [sys.executable, "-m", "yiwang.cli", "broker", "account", "pagetest", "--role", "gateway"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        user, password = account.stdout.split("\n")[0].split()
        found = System(
            url=url,
            admin_password=(home / "admin_password").read_text().strip(),
            root="yiwang",
            mqtt_port=mqtt_port,
            gateway=(user, password),
            organisation=organisation,
            env=env,
        )
        # Twenty minutes of history, the last two fixes fast enough to be speeding (an alert at any hour).
        now = datetime.now(UTC)
        history = [fix(now - timedelta(seconds=10 * (120 - i)), i) for i in range(118)]
        history += [fix(now - timedelta(seconds=10 * (120 - i)), i, speed=135.0) for i in (118, 119)]
        wait_until(lambda: _stored(found, database_url, history), 60, "the test vehicle's history stored", every=0.5)
        wait_until(lambda: _on_map(found), 60, "the test vehicle on the live map", every=0.5)
        wait_until(
            lambda: _alerted(found, history[-2:]),
            60,
            "the supervisor's alert of the test vehicle's speeding",
            every=0.5,
        )
        wait_until(lambda: _counted(database_url), 120, "the meter history counted into the roll-up", every=0.5)
        yield found
    finally:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(60)
        except subprocess.TimeoutExpired:
            run.kill()
        run.stdout.close()
        subprocess.run([sys.executable, "-m", "yiwang.cli", "stack", "down"], env=env, check=False, timeout=60)
        if not os.environ.get("YIWANG_KEEP_TEST_STACK"):
            shutil.rmtree(home, ignore_errors=True)


def _stored(system: System, database_url: str, fixes: list[dict[str, object]]) -> bool:
    """Publish the fixes (again: stored once, by key), then whether they are all stored within a few seconds. The
    broker takes the new account, and the collector the new vehicle, a moment after they are made: until then a
    publish is refused or its fixes are dead letters, and only publishing again stores them."""
    try:
        system.drive(fixes)
    except aiomqtt.MqttError:
        return False

    def stored() -> bool:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT count(*) FROM position WHERE vehicle_id = %s", (TEST_VEHICLE,)).fetchone()
        return row is not None and row[0] >= len(fixes)

    try:
        wait_until(stored, 3, "the fixes stored", every=0.2)
    except TimeoutError:
        return False
    return True


def _counted(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        stale = conn.execute("SELECT count(*) FROM consumption_stale").fetchone()
        days = conn.execute("SELECT count(*) FROM consumption_day").fetchone()
    return stale == (0,) and days is not None and days[0] > 0


def _alerted(system: System, speeding: list[dict[str, object]]) -> bool:
    """Publish the speeding fixes again until the supervisor has raised their alert (once: by vehicle, kind and
    time). The supervisor learns of a new vehicle on its own registry refresh, and judges no fix of a vehicle it does
    not know yet: the first copies may have come before that, and the collector's refresh is no sign of its."""
    if system.api("GET", f"/alerts?open=true&vehicle_id={TEST_VEHICLE}")["items"]:
        return True
    system.drive(speeding)
    return False


def _on_map(system: System) -> bool:
    live = system.api("GET", "/positions/live")
    return any(feature["id"] == TEST_VEHICLE for feature in live["features"])


def login_page(page: Page, system: System) -> None:
    """Open the login page as a new user does (the system's address), and wait until its script has the form: its
    words come with its vocabulary, and until then its button is disabled and its language switch does nothing."""
    page.goto(f"{system.url}/")
    page.wait_for_url("**/login.html*")
    until(page, "!document.querySelector('#login-submit').disabled")


def login(page: Page, system: System, landing: str = "map.html") -> None:
    """Log in through the login page as the admin; the admin lands on the map."""
    login_page(page, system)
    page.fill("#username", "admin")
    page.fill("#password", system.admin_password)
    page.click("#login-submit")
    page.wait_for_url(f"**/{landing}*")


def until(page: Page, script: str, seconds: float = 20.0) -> Any:
    """Poll a JavaScript expression in the page until it is truthy; its value.

    Not Playwright's wait_for_function: that evaluates a string in the page, which the pages' Content-Security-Policy
    (no eval) refuses; page.evaluate runs through the DevTools protocol, which the policy does not govern.
    """
    deadline = time.monotonic() + seconds
    while True:
        value = page.evaluate(f"() => {script}")
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{script}: still {value!r} after {seconds:.0f} s")
        time.sleep(0.2)


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Keep a picture of the page for people to look at (test-artifacts/screenshots/NAME.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
