"""Long commands say how far they are: what is done of how much, the rate, the time left."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from db.ingest import insert_readings, prepare_connection
from db.migrate import migrate
from db.registry import import_document
from domain.reading import Reading
from domain.registry import RegistryDocument
from simulators.city import build_city
from tests.support.broker import TESTER, TESTER_PASSWORD
from yiwang.progress import Progress, line
from yiwang.stack import Stack


def test_a_line_says_done_of_total_rate_and_time_left() -> None:
    assert line("energy rebuild", 1234, 5000, "meters", 30.0) == (
        "energy rebuild: 1,234 of 5,000 meters (24.7%), 41 meters/s, about 1 min 32 s left"
    )
    assert (
        line("backfill", 5000, 5000, "days", 7260.0)
        == "backfill: 5,000 of 5,000 days (100.0%), 0.7 days/s, done in 2 h 01 min"
    )
    # Before a total is known, and before any time has passed: no percentage, no rate.
    assert line("import", 10, None, "rows", 0.1) == "import: 10 rows"


def test_a_log_gets_a_plain_line_every_so_often_and_the_last_one() -> None:
    now = [0.0]
    out = io.StringIO()  # not a terminal
    progress = Progress("mileage rebuild", "vehicles", total=100, stream=out, every=10, clock=lambda: now[0])
    for step in range(1, 101):
        now[0] = step * 0.5  # 50 s in all: a line at 0.5 s, then every 10 s
        progress.update(step)
    progress.finish()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 6  # 0.5, 10.5, 20.5, 30.5, 40.5 s, and the end
    assert lines[-1] == "mileage rebuild: 100 of 100 vehicles (100.0%), 2.0 vehicles/s, done in 50 s"


def test_a_log_gets_the_last_line_once() -> None:
    # A last update that is due (as every one is with a short period) said where the work ended: the finish wrote
    # the same line again.
    now = [0.0]
    out = io.StringIO()
    progress = Progress("registry import", "rows", total=2, stream=out, every=0.001, clock=lambda: now[0])
    now[0] = 1.0
    progress.update(1)
    now[0] = 2.0
    progress.update(2)
    progress.finish()
    assert out.getvalue().splitlines() == [
        "registry import: 1 of 2 rows (50.0%), 1.0 rows/s, about 1 s left",
        "registry import: 2 of 2 rows (100.0%), 1.0 rows/s, done in 2 s",
    ]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_line_rewritten_in_place() -> None:
    now = [0.0]
    out = _Terminal()
    progress = Progress("backfill", "days", total=3, stream=out, clock=lambda: now[0])
    for day in (1, 2, 3):
        now[0] += 1
        progress.update(day)
    progress.finish()
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 4
    assert text.endswith("done in 3 s\n")
    assert text.count("\n") == 1


def test_a_backfill_says_how_far_it_is_as_it_goes(stack: Stack, tag: str) -> None:
    # Long work used to be silent until it ended: a backfill through the real broker now tells, line by line (its
    # output is not a terminal here), the hours of history put in of all of them, and how it ended.
    env = {
        **os.environ,
        "YIWANG_HOME": str(stack.postgres.home.parent),
        "YIWANG_MQTT_PORT": str(stack.mosquitto.port),
        "YIWANG_MQTT_USERNAME": TESTER,
        "YIWANG_MQTT_PASSWORD": TESTER_PASSWORD,
        "YIWANG_MQTT_TOPIC_ROOT": f"t{tag}",
        "YIWANG_SIM_INSTITUTIONS": "2",
        "YIWANG_SIM_VEHICLES": "2",
        "YIWANG_PROGRESS_SECONDS": "0.001",
    }
    done = subprocess.run(
        [sys.executable, "-m", "yiwang.cli", "simulate", "backfill", "--days", "0.5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("backfill: ")]
    assert len(lines) >= 3, done.stderr  # a line an hour of history, and the last
    assert " of 12 hours of history (" in lines[0]
    assert lines[-1].startswith("backfill: 12 of 12 hours of history (100.0%)")
    assert "done in" in lines[-1]


@contextmanager
def _database_of_its_own(stack: Stack, tag: str) -> Iterator[str]:
    """A migrated database of the test's own in the session's cluster (the owner's URL): a city's registry imported
    there is in no other test's lists."""
    name = f"yiwang_import_{tag}"
    with psycopg.connect(stack.postgres.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(stack.postgres.owner))
        )
    try:
        url = stack.postgres.url_of(stack.postgres.owner, name)
        migrate(url)
        yield url
    finally:
        with psycopg.connect(stack.postgres.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_a_big_registry_import_says_how_far_it_is_as_it_goes(stack: Stack, tag: str, tmp_path: Path) -> None:
    # A city's registry (1,000 institutions, 5,000 vehicles, their meters and drivers: about 15,500 rows) took its
    # while in silence and then said "imported ...": now, as `yiwang run` and compose run it (with --keep-existing,
    # output not a terminal), it writes a plain line every YIWANG_PROGRESS_SECONDS with the rows written of all of
    # them, the rate and the time left, and a last line saying how it ended.
    env = {
        **os.environ,
        "YIWANG_HOME": str(stack.postgres.home.parent),
        "YIWANG_SIM_INSTITUTIONS": "1000",
        "YIWANG_SIM_VEHICLES": "5000",
    }
    city = tmp_path / "city.json"
    made = subprocess.run(
        [sys.executable, "-m", "yiwang.cli", "simulate", "city", "--out", str(city)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    with _database_of_its_own(stack, tag) as url:

        def import_city(*options: str, seconds: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "yiwang.cli", "registry", "import", str(city), *options],
                env=env | {"YIWANG_DATABASE_URL": url, "YIWANG_PROGRESS_SECONDS": seconds},
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )

        done = import_city("--keep-existing", seconds="0.001")
        # Imported again (every row written again) with an hour between lines: the first line and the last.
        again = import_city(seconds="3600")
    assert done.returncode == 0, done.stderr
    assert again.returncode == 0, again.stderr
    assert len([line for line in again.stderr.splitlines() if line.startswith("registry import: ")]) == 2, again.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("registry import: ")]
    assert "\r" not in done.stderr
    assert len(lines) >= 10, done.stderr  # a line per thousand rows written, here where a line is due each time
    total = re.match(r"registry import: [\d,]+ of ([\d,]+) rows \(", lines[0])
    assert total is not None, lines[0]
    rows = int(total.group(1).replace(",", ""))
    assert rows > 15_000
    assert any(re.search(r", [\d,.]+ rows/s, about .+ left$", line) for line in lines[:-1]), lines
    assert lines[-1].startswith(f"registry import: {rows:,} of {rows:,} rows (100.0%)"), lines[-1]
    assert "done in" in lines[-1]
    assert "1000 institutions" in done.stdout, done.stdout
    assert "5000 vehicles" in done.stdout, done.stdout


async def _a_city_with_readings(url: str, institutions: int) -> int:
    """The simulated city's registry and two readings of each of its meters, a day apart; how many meters."""
    document = RegistryDocument.model_validate(build_city(20260101, institutions, 10).registry_document())
    now = datetime.now(UTC).replace(microsecond=0)
    readings = [
        Reading(meter.id, now - timedelta(days=days), 1000.0 - 10 * days, now)
        for meter in document.meters
        for days in (2, 1)
    ]
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await import_document(conn, document)
        await prepare_connection(conn)
        await insert_readings(conn, readings)
        await conn.commit()
    return len(document.meters)


def test_an_energy_rebuild_of_a_city_says_how_far_it_is_as_it_goes(stack: Stack, tag: str) -> None:
    # A city's meters (1,000 or so, under the worker's turn of 10,000) were recounted in one turn: the rebuild said
    # nothing until it had done them all. Told in turns of a hundred, it writes its lines as it goes.
    with _database_of_its_own(stack, tag) as url:
        meters = asyncio.run(_a_city_with_readings(url, 120))
        done = subprocess.run(
            [sys.executable, "-m", "yiwang.cli", "energy", "rebuild"],
            env={
                **os.environ,
                "YIWANG_HOME": str(stack.postgres.home.parent),
                "YIWANG_DATABASE_URL": url,
                "YIWANG_PROGRESS_SECONDS": "0.001",
            },
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("energy rebuild: ")]
    assert meters > 300
    assert len(lines) >= meters // 100, done.stderr
    assert any(re.search(r", [\d,.]+ meters/s, about .+ left$", line) for line in lines[:-1]), lines
    assert lines[-1].startswith(f"energy rebuild: {meters:,} of {meters:,} meters (100.0%)"), lines[-1]
