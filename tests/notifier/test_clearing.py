"""Alerts clear when their cause ends, judged by the notifier on the vehicle's newest fix (the supervisor is not
involved): positions go through the broker and a real collector into live_position, as in production."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import psycopg
from psycopg.types.json import Jsonb

from collector.metrics import Metrics
from domain.topics import topic
from tests.support.broker import publish
from tests.support.messages import Message
from tests.support.notifier import notifying, raise_alert
from tests.support.registry import Devices
from tests.support.waiting import count, eventually, wait_for_count
from yiwang.settings import Settings
from yiwang.stack import Stack

AREA = {"type": "Polygon", "coordinates": [[[117.1, 29.2], [117.3, 29.2], [117.3, 29.4], [117.1, 29.4], [117.1, 29.2]]]}
INSIDE, OUTSIDE = (29.3, 117.2), (29.3, 117.5)


def fix(root: str, vehicle: str, at: datetime, where: tuple[float, float], speed: float) -> Message:
    latitude, longitude = where
    payload = {"time": at.isoformat(), "latitude": latitude, "longitude": longitude, "speed": speed,
               "heading": 90.0, "odometer": 1000.0, "ignition": True}  # fmt: skip
    return topic(root, "vehicle", vehicle, "position"), orjson.dumps(payload)


async def test_silence_and_area_exit_clear_when_the_vehicle_reports_again_inside(
    notifier_settings: Settings, devices: Devices, collector: Metrics
) -> None:
    url, org, root = notifier_settings.database_url, devices.organisation, notifier_settings.topic_root
    quiet, back, away = devices.vehicles
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO area (name, kind, organisation_id, geometry) VALUES ('市区', 'permitted', %s, %s)",
            (org, Jsonb(AREA)),
        )
    then = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    silent = await raise_alert(url, quiet, org, "silent", "yellow", then)
    off_hours = await raise_alert(url, quiet, org, "off_hours", "red", then)  # an act: no fix undoes it
    exit_back = await raise_alert(url, back, org, "area_exit", "red", then, latitude=29.3, longitude=117.5)
    speeding = await raise_alert(url, back, org, "speeding", "yellow", then, speed=150.0)
    exit_away = await raise_alert(url, away, org, "area_exit", "red", then, latitude=29.3, longitude=117.5)
    # A blind-zone resend older than the alert ends nothing.
    await publish(notifier_settings.mqtt_port, [fix(root, away, then - timedelta(minutes=5), INSIDE, 30.0)])
    async with notifying(notifier_settings) as metrics:
        await publish(
            notifier_settings.mqtt_port,
            [
                fix(root, quiet, then + timedelta(minutes=5), OUTSIDE, 30.0),
                fix(root, back, then + timedelta(minutes=5), INSIDE, 30.0),
                fix(root, away, then + timedelta(minutes=5), OUTSIDE, 30.0),
            ],
        )
        # Once every newest fix is in, a whole sweep after that has judged all five (the ones left are judged
        # active, not merely not looked at yet).
        newest = "SELECT count(*) FROM live_position WHERE vehicle_id = ANY(%s) AND time = %s"
        assert await wait_for_count(url, newest, ([quiet, back, away], then + timedelta(minutes=5)), 3) == 3
        swept = metrics.sweeps
        await eventually(lambda: metrics.sweeps >= swept + 2)
        ours = [silent, off_hours, exit_back, speeding, exit_away]
        query = "SELECT count(*) FROM alert WHERE id = ANY(%s) AND cleared_at IS NOT NULL"
        assert count(url, query, (ours,)) == 3
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute("SELECT id, cleared_reason FROM alert WHERE id = ANY(%s)", (ours,))
        reasons = dict(await cur.fetchall())
    at = (then + timedelta(minutes=5)).isoformat()
    assert reasons == {
        silent: f"reported again at {at}",
        off_hours: None,
        exit_back: f"inside a permitted area at {at}",
        speeding: f"at 30 km/h at {at}",
        exit_away: None,
    }


SCHOOL = {"type": "Point", "coordinates": [117.2, 29.3]}  # a circle round INSIDE
NEAR = (29.3, 117.25)  # in AREA's square, 5 km from SCHOOL


async def test_speeding_and_forbidden_entries_clear_as_supervision_judges_areas(
    notifier_settings: Settings, devices: Devices, collector: Metrics
) -> None:
    """A zone's own speed limit, a forbidden area, and one that applies only in a calendar's hours (a calendar with
    no workdays: never), as the supervisor judges them."""
    url, org, root = notifier_settings.database_url, devices.organisation, notifier_settings.topic_root
    slow, left, never = devices.vehicles
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "INSERT INTO work_calendar (name, workdays) VALUES (%s, '{}') RETURNING id", (f"never {org}",)
        )
        row = await cur.fetchone()
        assert row is not None
        await conn.execute(
            """INSERT INTO area (name, kind, organisation_id, geometry, radius_m, speed_limit_kmh)
               VALUES ('学校', 'forbidden', %s, %s, 2000, 30)""",
            (org, Jsonb(SCHOOL)),
        )
        await conn.execute(
            """INSERT INTO area (name, kind, organisation_id, geometry, calendar_id, hours)
               VALUES ('工地', 'forbidden', %s, %s, %s, 'working')""",
            (org, Jsonb(AREA), row[0]),
        )
    then = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    speeding = await raise_alert(url, slow, org, "speeding", "yellow", then, speed=45.0)
    entry_left = await raise_alert(url, left, org, "area_entry", "red", then)
    entry_stays = await raise_alert(url, slow, org, "area_entry", "red", then)
    entry_never = await raise_alert(url, never, org, "area_entry", "red", then, latitude=NEAR[0], longitude=NEAR[1])
    later = then + timedelta(minutes=5)
    await publish(
        notifier_settings.mqtt_port,
        [
            fix(root, slow, later, INSIDE, 40.0),  # slower, but over the school's 30 and still inside it
            fix(root, left, later, OUTSIDE, 40.0),
            fix(root, never, later, NEAR, 40.0),  # inside 工地, which never applies
        ],
    )
    # Every newest fix is in before the notifier starts: its first sweep judges all four alerts on them.
    newest = "SELECT count(*) FROM live_position WHERE vehicle_id = ANY(%s) AND time = %s"
    assert await wait_for_count(url, newest, ([slow, left, never], later), 3) == 3
    ours = [speeding, entry_left, entry_stays, entry_never]
    async with notifying(notifier_settings):
        query = "SELECT count(*) FROM alert WHERE id = ANY(%s) AND cleared_at IS NOT NULL"
        assert await wait_for_count(url, query, (ours,), 2) == 2
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute("SELECT id, cleared_reason FROM alert WHERE id = ANY(%s)", (ours,))
        reasons = dict(await cur.fetchall())
    at = later.isoformat()
    assert reasons == {
        speeding: None,
        entry_left: f"outside every forbidden area at {at}",
        entry_stays: None,
        entry_never: f"outside every forbidden area at {at}",
    }


# What the notifier's reads of the calendars cost the database: each reads calendar_day once.
CALENDAR_READS = """SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables
                    WHERE relname = 'calendar_day'"""


async def test_sweeps_read_the_calendars_only_when_they_changed(
    notifier_settings: Settings, devices: Devices, collector: Metrics, stack: Stack
) -> None:
    """Every sweep with an alert to judge needs the calendars (they say when an area applies): the notifier reads them
    at its first, then again only after an edit (calendar_version, as the supervisor follows it), and the edit applies
    at once: a forbidden zone that applies outside its calendar's working time is entered at night; once the calendar
    works at every hour, the zone no longer applies and the entry clears."""
    url, org, root = notifier_settings.database_url, devices.organisation, notifier_settings.topic_root
    inside, speeder = devices.vehicles[:2]
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "INSERT INTO work_calendar (name, workdays) VALUES (%s, '{}') RETURNING id", (f"never {org}",)
        )
        row = await cur.fetchone()
        assert row is not None
        calendar_id = row[0]
        await conn.execute(
            """INSERT INTO area (name, kind, organisation_id, geometry, calendar_id, hours)
               VALUES ('夜间禁区', 'forbidden', %s, %s, %s, 'off_hours')""",
            (org, Jsonb(AREA), calendar_id),
        )
    # Whole minutes: the fix is never in the last second of a day, which the edited calendar leaves out.
    then = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    entry = await raise_alert(url, inside, org, "area_entry", "red", then)
    # A cause that lasts (still over the limit): every sweep has it to judge.
    speeding = await raise_alert(url, speeder, org, "speeding", "yellow", then, speed=150.0)
    later = then + timedelta(minutes=5)
    await publish(
        notifier_settings.mqtt_port, [fix(root, inside, later, INSIDE, 30.0), fix(root, speeder, later, INSIDE, 150.0)]
    )
    newest = "SELECT count(*) FROM live_position WHERE vehicle_id = ANY(%s) AND time = %s"
    assert await wait_for_count(url, newest, ([inside, speeder], later), 2) == 2
    cleared = "SELECT count(*) FROM alert WHERE id = ANY(%s) AND cleared_at IS NOT NULL"
    # The statistics of a session are all in once it has ended (PostgreSQL flushes them at its exit at the latest).
    role = stack.postgres.roles["notifier"]
    sessions = "SELECT count(*) FROM pg_stat_activity WHERE usename = %s"
    await eventually(lambda: count(url, sessions, (role,)) == 0)  # an earlier test's notifier
    before = count(url, CALENDAR_READS)
    async with notifying(notifier_settings) as metrics:
        await eventually(lambda: metrics.sweeps >= 6)
        assert count(url, cleared, ([entry, speeding],)) == 0
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(
                """UPDATE work_calendar SET workdays = '{1,2,3,4,5,6,7}', work_start = '00:00', work_end = '23:59:59'
                   WHERE id = %s""",
                (calendar_id,),
            )
        assert await wait_for_count(url, cleared, ([entry, speeding],), 1) == 1
        swept = metrics.sweeps
        await eventually(lambda: metrics.sweeps >= swept + 5)
        sweeps = metrics.sweeps
    await eventually(lambda: count(url, sessions, (role,)) == 0)
    reads = count(url, CALENDAR_READS) - before
    assert sweeps >= 11
    assert 2 <= reads <= 3, f"the calendars read {reads} times in {sweeps} sweeps"  # 3: an edit between two reads
