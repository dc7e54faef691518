"""Reports and exports read from a real streaming standby of the session's TimescaleDB (pg_basebackup -R,
yiwang/standby.py): the same figures as the primary's once it has caught up, and proof that they were the replica's
(with its replay paused it answers what it holds, not what the primary has); the audit log still records an
auditor's read on the primary; a replica that is down, or too far behind, leaves the reports to the primary; a
response from the replica says as of when."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from api.app import create_app
from tests.support.api import AsUser, Units, address_for, audit_rows, client_at
from tests.support.files import csv_body
from tests.support.stack import make_stack_home, settings_for
from tests.support.standby import caught_up, pause_replay, resume_replay, sessions_named, until
from yiwang.settings import Settings
from yiwang.stack import Stack, free_port
from yiwang.standby import Standby

JUNE = {"start": "2025-06-01", "end": "2025-07-01"}
# Where a report's figures were read and as of when: what a client relies on (api/reads.py).
READ_FROM = "Yiwang-Read-From"
AS_OF = "Yiwang-Data-As-Of"


@pytest.fixture(scope="module")
def standby(stack: Stack) -> Iterator[Standby]:
    """A hot standby of the session's cluster, streaming from it, for this module's tests."""
    replica = Standby(stack.postgres, make_stack_home("standby"), free_port())
    replica.create()
    replica.start()
    try:
        yield replica
    finally:
        replica.remove()


@pytest.fixture
def api_settings(stack: Stack, tag: str, standby: Standby) -> Settings:
    """The conftest's settings with the standby as the API's read replica; a replica that failed is tried again
    after a second."""
    return settings_for(
        stack,
        tag,
        api_token_secret=secrets.token_urlsafe(48),
        api_read_database_url=standby.url_of("yiwang_api"),
        api_read_retry_seconds=1.0,
    )


@asynccontextmanager
async def another_api(settings: Settings, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A second API process on the same primary, with its own settings (the same token secret: the same users)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application), client_at(application, address) as client:
        yield client


def primary_only(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_read_database_url": None})


def add_alerts(url: str, vehicle: str, organisation: str, times: list[datetime]) -> datetime:
    """Speeding alerts of a vehicle at those fix times, committed on the primary: the time of the commit's start."""
    with psycopg.connect(url) as conn:
        for time in times:
            conn.execute(
                """INSERT INTO alert (vehicle_id, organisation_id, kind, level, time, received_at, detail)
                   VALUES (%s, %s, 'speeding', 'red', %s, %s, 'test')""",
                (vehicle, organisation, time, time),
            )
        row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    committed: datetime = row[0]
    return committed


def june(day: int) -> datetime:
    return datetime.fromisoformat(f"2025-06-{day:02d}T10:00:00+08:00")


def speeding_of(report: dict[str, Any], organisation: str) -> int:
    """The unit's red speeding alerts in a dispatch report."""
    return sum(
        line["red"]
        for line in report["alerts"]
        if line["organisation_id"] == organisation and line["kind"] == "speeding"
    )


async def test_a_report_and_an_export_from_the_replica_hold_the_primarys_figures(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, units: Units, standby: Standby
) -> None:
    add_alerts(api_settings.database_url, units.a.vehicles[0], units.a.organisation, [june(3), june(4), june(5)])
    await caught_up(standby)
    headers = await as_user("dispatcher")
    report = await client.get("/reports/dispatch", params=JUNE, headers=headers)
    csv = await client.get("/exports/dispatch.csv", params={**JUNE, "view": "alerts"}, headers=headers)
    with_provenance = await client.get("/exports/dispatch.xlsx", params=JUNE, headers=headers)
    async with another_api(primary_only(api_settings), "10.200.0.1") as primary:
        report_of_primary = await primary.get("/reports/dispatch", params=JUNE, headers=headers)
        csv_of_primary = await primary.get("/exports/dispatch.csv", params={**JUNE, "view": "alerts"}, headers=headers)

    assert report.status_code == csv.status_code == with_provenance.status_code == 200, report.text
    assert report.headers.get(READ_FROM) == csv.headers.get(READ_FROM) == "replica"
    assert AS_OF in report.headers
    assert report_of_primary.headers.get(READ_FROM) == "primary"
    assert AS_OF not in report_of_primary.headers
    assert speeding_of(report.json(), units.a.organisation) == 3
    assert report.json() == report_of_primary.json()
    assert csv_body(csv.text) == csv_body(csv_of_primary.text)
    assert units.a.organisation in csv_body(csv.text)
    # The CSV's provenance says where and as of when; the primary's file says nothing of a replica.
    provenance = [line for line in csv.text.splitlines() if line.startswith("#")]
    assert any(line.startswith("#read_from,") and "read replica" in line for line in provenance), provenance
    assert any(line.startswith("#data_as_of,") for line in provenance), provenance
    assert not any(line.startswith("#read_from,") for line in csv_of_primary.text.splitlines())


async def test_the_figures_are_the_replicas_own_as_of_its_replay(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, units: Units, standby: Standby
) -> None:
    """With its replay paused, the replica holds three alerts while the primary holds four: the API's report says
    three, as of a moment before the fourth, until the replica has replayed it."""
    url = api_settings.database_url
    add_alerts(url, units.a.vehicles[0], units.a.organisation, [june(3), june(4), june(5)])
    await caught_up(standby)
    headers = await as_user("dispatcher")
    await pause_replay(standby)
    try:
        fourth_committed = add_alerts(url, units.a.vehicles[1], units.a.organisation, [june(6)])
        held = await client.get("/reports/dispatch", params=JUNE, headers=headers)
        async with another_api(primary_only(api_settings), "10.200.0.2") as primary:
            live = await primary.get("/reports/dispatch", params=JUNE, headers=headers)
        assert sessions_named(standby, "yiwang-api-reads") >= 1
    finally:
        await resume_replay(standby)
    assert held.headers.get(READ_FROM) == "replica"
    assert speeding_of(held.json(), units.a.organisation) == 3
    assert datetime.fromisoformat(held.headers[AS_OF]) < fourth_committed
    assert speeding_of(live.json(), units.a.organisation) == 4

    await caught_up(standby)
    replayed = await client.get("/reports/dispatch", params=JUNE, headers=headers)
    assert replayed.headers.get(READ_FROM) == "replica"
    assert speeding_of(replayed.json(), units.a.organisation) == 4
    assert datetime.fromisoformat(replayed.headers[AS_OF]) > fourth_committed


async def test_an_auditors_read_from_the_replica_is_in_the_audit_log(
    client: httpx.AsyncClient, as_user: AsUser, api_settings: Settings, units: Units, standby: Standby
) -> None:
    await caught_up(standby)
    headers = await as_user("auditor")
    me = (await client.get("/users/me", headers=headers)).json()
    report = await client.get("/reports/dispatch", params=JUNE, headers=headers)
    exported = await client.get("/exports/dispatch.xlsx", params=JUNE, headers=headers)
    assert report.status_code == exported.status_code == 200
    assert report.headers.get(READ_FROM) == exported.headers.get(READ_FROM) == "replica"
    recorded = audit_rows(api_settings.database_url, "user_id = %s", (me["id"],))
    reads = [(row["endpoint"], row["status"], row["outcome"]) for row in recorded if row["method"] == "GET"]
    assert ("/reports/dispatch", 200, "ok") in reads
    assert ("/exports/dispatch.xlsx", 200, "ok") in reads


async def test_a_replica_that_is_down_leaves_the_reports_to_the_primary(
    *,
    app: FastAPI,
    client: httpx.AsyncClient,
    as_user: AsUser,
    api_settings: Settings,
    units: Units,
    standby: Standby,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_alerts(api_settings.database_url, units.a.vehicles[0], units.a.organisation, [june(3)])
    await caught_up(standby)
    headers = await as_user("dispatcher")
    assert (await client.get("/reports/dispatch", params=JUNE, headers=headers)).headers.get(READ_FROM) == "replica"
    standby.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="api.reads"):
            down = await client.get("/reports/dispatch", params=JUNE, headers=headers)
            exported = await client.get("/exports/dispatch.csv", params=JUNE, headers=headers)
        assert down.status_code == exported.status_code == 200, down.text
        assert down.headers.get(READ_FROM) == exported.headers.get(READ_FROM) == "primary"
        assert AS_OF not in down.headers
        assert speeding_of(down.json(), units.a.organisation) == 1
        assert any("reports read from the primary" in r.getMessage() for r in caplog.records)
        counted = app.state.metrics.registry.get_sample_value("yiwang_api_reads_total", {"source": "primary"})
        assert counted is not None
        assert counted >= 2
    finally:
        standby.start()
    # Back: after YIWANG_API_READ_RETRY_SECONDS the replica answers again.

    async def from_replica() -> bool:
        answer = await client.get("/reports/dispatch", params=JUNE, headers=headers)
        return answer.headers.get(READ_FROM) == "replica"

    await until(from_replica, 30, "the replica answers again once it is back")


def _one_row(url: str, query: str, params: tuple[object, ...] = ()) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def failed_reads(app: FastAPI) -> float:
    counted = app.state.metrics.registry.get_sample_value("yiwang_api_replica_reads_failed_total")
    return counted or 0.0


async def test_a_report_the_replica_fails_midway_is_read_again_from_the_primary(
    *,
    app: FastAPI,
    client: httpx.AsyncClient,
    as_user: AsUser,
    api_settings: Settings,
    units: Units,
    standby: Standby,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A report already running on the replica when its server ends it (a recovery conflict cancels it when replay
    needs what it holds; here an administrator ends it) is answered by the primary, not with a 500."""
    add_alerts(api_settings.database_url, units.a.vehicles[0], units.a.organisation, [june(3), june(4)])
    await caught_up(standby)
    headers = await as_user("dispatcher")
    failed_before = failed_reads(app)
    # The report is held on the replica at a known point: a lock on `alert` taken on the primary is replayed there,
    # and the report's read of `alert` waits for it.
    with psycopg.connect(api_settings.database_url) as holder:
        holder.execute("LOCK TABLE alert IN ACCESS EXCLUSIVE MODE")
        # Another transaction's commit flushes the WAL up to it, the lock's record with it: the replica gets it now.
        _one_row(api_settings.database_url, "SELECT txid_current()")
        alert = _one_row(api_settings.database_url, "SELECT 'alert'::regclass::oid")
        held = "SELECT count(*) FROM pg_locks WHERE relation = %s AND mode = 'AccessExclusiveLock' AND granted"
        await until(
            lambda: asyncio.to_thread(lambda: _one_row(standby.admin_url, held, (alert,)) == 1),
            30,
            "the replica replays the primary's lock",
        )
        report = asyncio.create_task(client.get("/reports/dispatch", params=JUNE, headers=headers))
        waiting = """SELECT pid FROM pg_stat_activity WHERE application_name = 'yiwang-api-reads'
                     AND wait_event_type = 'Lock'"""
        with psycopg.connect(standby.admin_url, autocommit=True) as replica:
            await until(
                lambda: asyncio.to_thread(lambda: replica.execute(waiting).fetchone() is not None),
                30,
                "the report waits on the replica",
            )
            with caplog.at_level(logging.WARNING, logger="api.reads"):
                replica.execute(f"SELECT pg_terminate_backend(pid) FROM ({waiting}) w")
                holder.rollback()  # the primary may answer now
                answered = await report
    assert answered.status_code == 200, answered.text
    assert answered.headers.get(READ_FROM) == "primary"
    assert speeding_of(answered.json(), units.a.organisation) == 2
    assert any("read again from the primary" in r.getMessage() for r in caplog.records)
    assert failed_reads(app) == failed_before + 1
    # The replica was not rested for it: the next report is its again.
    again = await client.get("/reports/dispatch", params=JUNE, headers=headers)
    assert again.headers.get(READ_FROM) == "replica"


async def test_a_promoted_replica_never_answers_for_the_primary(
    *, stack: Stack, tag: str, as_user: AsUser, api_settings: Settings, units: Units, caplog: pytest.LogCaptureFixture
) -> None:
    """A standby promoted (a failover drill, a split) says it is current, for it has replayed all of its own WAL,
    while the primary goes on without it: its figures would be frozen, labelled as now."""
    promoted = Standby(stack.postgres, make_stack_home("promoted"), free_port())
    promoted.create()
    promoted.start()
    try:
        settings = api_settings.model_copy(update={"api_read_database_url": promoted.url_of("yiwang_api")})
        add_alerts(api_settings.database_url, units.a.vehicles[0], units.a.organisation, [june(3)])
        await caught_up(promoted)
        async with another_api(settings, address_for(tag, 7)) as client:
            headers = await as_user("dispatcher")
            before = await client.get("/reports/dispatch", params=JUNE, headers=headers)
            assert before.headers.get(READ_FROM) == "replica"
            promoted.promote()
            add_alerts(api_settings.database_url, units.a.vehicles[0], units.a.organisation, [june(4)])
            with caplog.at_level(logging.WARNING, logger="api.reads"):
                after = await client.get("/reports/dispatch", params=JUNE, headers=headers)
            assert after.headers.get(READ_FROM) == "primary"
            assert (
                speeding_of(after.json(), units.a.organisation) == speeding_of(before.json(), units.a.organisation) + 1
            )
            assert any("out of recovery" in r.getMessage() for r in caplog.records)
    finally:
        promoted.remove()


async def test_a_replica_busy_with_long_reads_is_not_taken_for_a_dead_one(
    *, tag: str, as_user: AsUser, api_settings: Settings, standby: Standby
) -> None:
    """Every replica connection lent (long exports at the busiest hour): that report is answered by the primary, and
    the next one, once a connection is free, by the replica again, not after a rest meant for a dead replica."""
    settings = api_settings.model_copy(
        update={"db_pool_min": 1, "db_pool_max": 1, "api_read_wait_seconds": 0.3, "api_read_retry_seconds": 600.0}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application), client_at(application, address_for(tag, 8)) as client:
        headers = await as_user("dispatcher")
        await caught_up(standby)
        assert (await client.get("/reports/dispatch", params=JUNE, headers=headers)).headers[READ_FROM] == "replica"
        async with application.state.resources.replica.pool.connection():  # a long export holds the only one
            busy = await client.get("/reports/dispatch", params=JUNE, headers=headers)
        assert busy.status_code == 200
        assert busy.headers[READ_FROM] == "primary"
        again = await client.get("/reports/dispatch", params=JUNE, headers=headers)
        assert again.headers[READ_FROM] == "replica"


async def test_after_a_long_outage_the_replica_answers_again_soon_after_its_return(
    app: FastAPI, client: httpx.AsyncClient, as_user: AsUser, standby: Standby
) -> None:
    """The replica's pool retries a lost connection with doubling delays: retried for ever, the delay after ten
    failures (two chains of five: 1 + 2 + 4 + 8 s) is 16 s, and the replica would stay unused that long after its
    return. Given up after YIWANG_API_READ_RETRY_SECONDS (1 s here), the next report's try starts anew."""
    headers = await as_user("dispatcher")
    pool = app.state.resources.replica.pool
    standby.stop()
    try:

        async def failed_often() -> bool:
            answer = await client.get("/reports/dispatch", params=JUNE, headers=headers)
            assert answer.headers.get(READ_FROM) == "primary"
            return int(pool.get_stats().get("connections_errors", 0)) >= 10

        await until(failed_often, 60, "the replica's pool fails to connect ten times")
    finally:
        standby.start()

    async def from_replica() -> bool:
        answer = await client.get("/reports/dispatch", params=JUNE, headers=headers)
        return answer.headers.get(READ_FROM) == "replica"

    await until(from_replica, 10, "the replica answers again within seconds of its return")


async def test_a_replica_further_behind_than_allowed_leaves_the_reports_to_the_primary(
    as_user: AsUser, api_settings: Settings, units: Units, standby: Standby
) -> None:
    url = api_settings.database_url
    add_alerts(url, units.a.vehicles[0], units.a.organisation, [june(3)])
    await caught_up(standby)
    headers = await as_user("dispatcher")
    strict = api_settings.model_copy(update={"api_read_max_lag_seconds": 0.5})
    async with another_api(strict, "10.200.0.3") as client:
        await pause_replay(standby)
        try:
            add_alerts(url, units.a.vehicles[0], units.a.organisation, [june(4)])
            answers: list[httpx.Response] = []

            async def passed_over() -> bool:
                answers.append(await client.get("/reports/dispatch", params=JUNE, headers=headers))
                return answers[-1].headers.get(READ_FROM) == "primary"

            await until(passed_over, 30, "the primary answers once the replica is further behind than allowed")
        finally:
            await resume_replay(standby)
    # Until the lag passed the limit it answered what it held, saying as of when; then the primary, with both alerts.
    for answer in answers[:-1]:
        assert answer.headers.get(READ_FROM) == "replica"
        assert speeding_of(answer.json(), units.a.organisation) == 1
    assert speeding_of(answers[-1].json(), units.a.organisation) == 2


def test_the_apis_role_on_the_replica_keeps_its_grants_and_writes_nothing(standby: Standby) -> None:
    """A physical copy: the same roles and grants; and a standby refuses every write, whoever asks."""
    with psycopg.connect(standby.url_of("yiwang_api"), autocommit=True) as api:
        assert api.execute("SELECT count(*) FROM organisation").fetchone() is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            api.execute("SELECT password_hash FROM service_account")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            api.execute(
                "INSERT INTO audit_log (action, method, endpoint, status, outcome) VALUES ('t', 'T', 't', 200, 'ok')"
            )
