"""SQL of energy events (domain/energy_events.py): what the notifier's energy watch reads to judge them (meters in
service and their last reading), how it raises them (alerts of the institution's unit, once per subject, kind and
period, one active at a time) and the active ones it judges for clearing."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from db.alerts import lock_inserts, params_value
from domain.energy_events import EnergyEvent, MeterSeen


async def meters_in_service(conn: AsyncConnection, today: date, seen_since: datetime) -> list[MeterSeen]:
    """The meters installed (or of no known installation date) and not replaced by `today`, with their last
    reading's time since `seen_since` (None: none since then, or never read), in meter order. One index probe per
    meter and chunk of readings from `seen_since` on (reading's key is meter, time): a meter never read walks only
    those chunks, not the whole history."""
    cur = await conn.execute(
        """SELECT m.id, m.institution_id, r.time
           FROM meter m
           LEFT JOIN LATERAL (SELECT time FROM reading WHERE meter_id = m.id AND time >= %(since)s
                              ORDER BY time DESC LIMIT 1) r ON true
           WHERE (m.installed_on IS NULL OR m.installed_on <= %(today)s)
             AND (m.replaced_on IS NULL OR m.replaced_on > %(today)s)
           ORDER BY m.id""",
        {"today": today, "since": seen_since},
    )
    return [MeterSeen(meter_id, institution_id, last) for meter_id, institution_id, last in await cur.fetchall()]


async def readings_after(conn: AsyncConnection, after: Mapping[str, datetime]) -> dict[str, datetime]:
    """The time of each meter's last reading after its given time (a meter with none since is absent); bounded by
    that time, so a meter still silent costs only the chunks since."""
    cur = await conn.execute(
        """SELECT m, r.time FROM unnest(%s::text[], %s::timestamptz[]) AS a (m, t)
           JOIN LATERAL (SELECT time FROM reading WHERE meter_id = a.m AND time > a.t
                         ORDER BY time DESC LIMIT 1) r ON true""",
        (list(after), list(after.values())),
    )
    return dict(await cur.fetchall())


async def raise_events(conn: AsyncConnection, events: Sequence[EnergyEvent]) -> list[int]:
    """Store events as alerts of their institution's unit, none twice (unique per subject, kind and period judged;
    at most one active per subject and kind); the ids stored. Not announced on the alert channel: the map's
    WebSocket carries vehicles' alerts, and the notifier that raises them plans them in the same sweep.
    Holds db.alerts.lock_inserts to the commit (alert ids commit in order)."""
    ids: list[int] = []
    if events:
        await lock_inserts(conn)
    async with conn.cursor() as cur:
        for e in events:
            await cur.execute(
                """INSERT INTO alert (institution_id, meter_id, organisation_id, kind, level, time, received_at,
                                      detail, params)
                   SELECT i.id, %s, i.organisation_id, %s, %s, %s, now(), %s, %s FROM institution i WHERE i.id = %s
                   ON CONFLICT DO NOTHING RETURNING id""",
                (e.meter_id, e.kind, e.level, e.time, e.detail, params_value(e.params), e.institution_id),
            )
            found = await cur.fetchone()
            if found is not None:
                ids.append(found[0])
    return ids


async def active(conn: AsyncConnection, kinds: Collection[str]) -> list[dict[str, Any]]:
    """Active (neither cleared nor closed) energy events of these kinds: id, kind, level, time, institution_id,
    meter_id; in id order."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT id, kind, level, time, institution_id, meter_id FROM alert
               WHERE institution_id IS NOT NULL AND cleared_at IS NULL AND closed_at IS NULL AND kind = ANY(%s)
               ORDER BY id""",
            (list(kinds),),
        )
        return await cur.fetchall()
