"""All settings of every Yiwang process, read once from YIWANG_* environment variables."""

from __future__ import annotations

import logging
import os
import re
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.basemap import template_problem
from domain.calendar import iso_workdays
from domain.counters import MAX_GAP
from domain.datum import Coordinates
from domain.ids import SERVICE_CLIENT_ID_PREFIX
from domain.track import TrackRules
from domain.trips import TripRules

_log = logging.getLogger(__name__)

# Environment names renamed in this release -> the setting now read; dropped in the next release.
RENAMED = {"YIWANG_ENERGY_ZONE": "time_zone", "YIWANG_SUPERVISION_WORKDAYS": "workdays"}

# Environment names no longer read, and where what they held lives now: refused when set, so that no holiday set there
# is silently dropped.
_CALENDAR_DAYS = (
    "the working calendar's holidays and make-up workdays are data in the database now: import the year's days with "
    "PUT /calendar/years/{year} or set each with PUT /calendar/days/{day} (admins; docs/calendar.md), then unset it"
)
RETIRED = {"YIWANG_SUPERVISION_HOLIDAYS": _CALENDAR_DAYS, "YIWANG_SUPERVISION_EXTRA_WORKDAYS": _CALENDAR_DAYS}

# Secrets an earlier docker-compose.yml gave as defaults: published, so known to anyone. Refused wherever a secret
# is set (the token secret, the broker and database passwords), so that an old .env cannot keep one in force.
PUBLISHED_SECRETS = frozenset(
    {"development-only-secret-change-me-in-dot-env", "collector-dev", "simulator-dev", "observer-dev", "yiwang"}
)
_DATABASE_URLS = (
    "database_url",
    "api_database_url",
    "collector_database_url",
    "supervisor_database_url",
    "gateway_database_url",
    "notifier_database_url",
    "worker_database_url",
    "emqx_database_url",
    "api_read_database_url",
    "database_admin_url",
)


def _password_of(url: str) -> str | None:
    """The password in a libpq URL (postgresql://user:password@host/db) or key=value string. Not psycopg's parser:
    the simulators read these settings and must not import the database driver (the import contract)."""
    if "://" in url:
        password = urlsplit(url).password
        return None if password is None else unquote(password)
    found = re.search(r"(?:^|\s)password\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))", url)
    return None if found is None else (found.group(1) if found.group(1) is not None else found.group(2))


# secret_key's file in YIWANG_HOME when no other is named (made by `yiwang stack up`).
SECRET_KEY_FILE: Final = "secret.key"  # noqa: S105 - a file's name, not a secret


class Settings(BaseSettings):
    """One flat settings class; each process reads what it needs and is handed it as an argument.

    Defaults start the local stack of `yiwang stack up` on ports that do not collide with a
    system PostgreSQL (5432) or Mosquitto (1883).
    """

    model_config = SettingsConfigDict(env_prefix="YIWANG_", extra="ignore")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="every process's log lines: text for people, json (one object a line: time, level, logger, "
        "message, process, exception) for a log collector; applied in one place (yiwang/logs.py)",
    )
    progress_seconds: float = Field(
        default=10.0,
        gt=0,
        description="how often a long command (backfill, energy or mileage rebuild, registry import) writes a progress "
        "line when its output is not a terminal (on a terminal one line is redrawn in place)",
    )

    # Where `yiwang stack` keeps the local database and broker (git-ignored).
    home: Path = Path(".yiwang")

    # TimescaleDB
    # The owner of the tables (db/roles.py): migrations, imports and the other `yiwang` administration commands.
    # Never a superuser. A URL without a password finds it in libpq's password file (PGPASSFILE; the local stack's
    # is YIWANG_HOME/postgres/pgpass).
    database_url: str = "postgresql://yiwang@127.0.0.1:55432/yiwang"
    # Each process's own role, holding only its grants (db/roles.py GRANTS); unset: database_url's role (one role
    # for every process, as before this setting: the API could then change the audit log's table).
    api_database_url: str | None = Field(default=None, repr=False)
    collector_database_url: str | None = Field(default=None, repr=False)
    supervisor_database_url: str | None = Field(default=None, repr=False)
    gateway_database_url: str | None = Field(default=None, repr=False)
    notifier_database_url: str | None = Field(default=None, repr=False)
    worker_database_url: str | None = Field(default=None, repr=False)
    # The role EMQX's authenticator and authorizer log in as, where a deployment runs EMQX (broker/emqx/emqx.conf):
    # `yiwang db roles` makes it with this URL's password, `yiwang db migrate` grants it the two views of the broker's
    # accounts (db/roles.py GRANTS["emqx"]). No Yiwang process connects with it; unset, no such role is made.
    emqx_database_url: str | None = Field(default=None, repr=False)
    # A read replica for the API's heavy reads (docs/operating.md, "A read replica").
    api_read_database_url: str | None = Field(
        default=None,
        repr=False,
        description="the API's role on a streaming standby of the database: reports, energy statistics, exports and "
        "the survey read there (writes, logins and the audit log stay on the primary); unset: they read the primary",
    )
    api_read_max_lag_seconds: float = Field(
        default=300.0,
        gt=0,
        description="a replica further behind the primary than this does not answer: the primary does",
    )
    api_read_wait_seconds: float = Field(
        default=2.0,
        gt=0,
        description="how long a report waits for a connection to the replica before the primary answers it",
    )
    api_read_retry_seconds: float = Field(
        default=30.0,
        gt=0,
        description="after the replica could not be reached, reports go to the primary this long before trying again",
    )
    # Only for `yiwang db roles`: a superuser, who makes the roles of the URLs above (their passwords too) and gives
    # the database to database_url's role. No process connects as it.
    database_admin_url: str | None = Field(default=None, repr=False)
    db_pool_min: int = 1
    db_pool_max: int = 8
    # Local stack only: the memory PostgreSQL keeps hot: enough for the active chunks (the current day of
    # reading and position, with their indexes) to stay in memory.
    db_shared_buffers: str = "2GB"

    # MQTT
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 11883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_protocol: Literal["3.1.1", "5"] = "3.1.1"
    mqtt_topic_root: str = "yiwang"
    # A service's client id starts with `yiwang-`, which no device id may (domain/ids.py): else a device could be
    # named so as to take over the service's session.
    mqtt_client_id: str = Field(default="yiwang-collector", pattern=f"^{SERVICE_CLIENT_ID_PREFIX}")
    # Several collectors with the same group split one stream ($share/<group>/...).
    mqtt_shared_group: str | None = None
    # Messages the broker may send before we acknowledge: at least twice the batch (DEVELOPERS.md, the local stack).
    mqtt_receive_maximum: int = 4000
    mqtt_keepalive: int = 30
    # Connect over TLS, trusting this CA (PEM); None: plain TCP (the local stack's loopback listener).
    mqtt_tls_ca_file: Path | None = None
    # Local stack only: the devices' listener on loopback, apart from the services' (mqtt_port), where the client id
    # is the device's user name, so that no device can take a service's session (docs/access.md).
    mqtt_device_port: int | None = 11884
    # Local stack only: a devices' TLS listener on all interfaces, for devices outside the machine (PEM files).
    mqtt_tls_listener_port: int | None = None
    mqtt_tls_certfile: Path | None = None
    mqtt_tls_keyfile: Path | None = None

    # Collector
    batch_size: int = 1000
    batch_wait_ms: int = 100
    # Messages read but not yet taken for writing, at most: reading pauses above (memory stays bounded
    # after an outage, when the broker sends a session's whole backlog at once).
    inbox_limit: int = 4000
    max_payload_bytes: int = 65536
    max_future_seconds: float = 600.0
    # Readings and positions older than this are refused as nonsense clocks, not as history.
    oldest_time: str = "2000-01-01T00:00:00+00:00"
    registry_refresh_seconds: float = 60.0
    db_retry_max_seconds: float = 10.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9108
    # The supervisor's own metrics and health (on metrics_host).
    supervisor_metrics_port: int = 9109
    # What one device may send (docs/device-protocol.md, Limits): messages and payload bytes per minute, and a burst
    # of this many minutes of both after a quiet spell or an outage. Beyond, a message is not read: it is counted in
    # one `rate_limited` dead letter per device and minute. 0 turns a rate off. Each collector of a shared group
    # counts its share of a device's messages.
    device_messages_per_minute: float = Field(default=120.0, ge=0)
    device_bytes_per_minute: float = Field(default=65_536.0, ge=0)
    device_burst_minutes: float = Field(default=60.0, gt=0)
    # A dead letter keeps this many first bytes of its payload, with the payload's size and SHA-256.
    dead_letter_prefix_bytes: int = Field(default=1024, ge=0)
    # The collector deletes dead letters older than this, and each device's beyond its newest this many, every
    # dead_letter_prune_seconds.
    dead_letter_retention_days: float = Field(default=30.0, gt=0)
    dead_letter_max_per_device: int = Field(default=1000, ge=1)
    dead_letter_prune_seconds: float = Field(default=300.0, gt=0)
    # Also read the positions EMQX's JT/T 808 gateway publishes, where a deployment runs EMQX for its terminals: the
    # collector subscribes to EMQX's default up topic `jt808/+/+/up` (outside the topic root) and maps each
    # terminal's phone number to the vehicle registered with that terminal id (docs/device-protocol.md, "EMQX's
    # JT/T 808 gateway"). Off: that topic is not read.
    emqx_jt808: bool = False

    # API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_metrics_port: int = Field(
        default=9112,
        ge=0,
        le=65535,
        description="the API's Prometheus /metrics (and a /health of its own), on metrics_host: never on the public "
        "port, which answers /metrics with 404; 0 picks a free port",
    )
    metrics_database_seconds: float = Field(
        default=60.0, gt=0, description="the API measures the database's size (yiwang_database_size_bytes) this often"
    )
    # How often the live map re-reads the whole map (vehicles, units, plates, lifecycle, requests, drivers, fixes):
    # a safety net for a change notification lost while the API was not listening and any fix its quick looks at
    # live_position missed.
    live_refresh_seconds: float = Field(default=10.0, gt=0)
    # The live map reads the positions committed since its last look this often, and a WebSocket client gets
    # the changes at most this often, one message each time.
    live_batch_ms: int = Field(default=250, gt=0)
    live_resume_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="a client that reconnects with the live map's cursor (since=) gets only what changed since, if "
        "the cursor is at most this old and of this API process; else the whole map, flagged as such",
    )
    api_gzip_level: int = Field(
        default=1,
        ge=0,
        le=9,
        description="gzip level of HTTP answers to clients that accept it (1: the fastest, as nginx's default; the "
        "whole live map shrinks some 7 times); 0: never compress",
    )
    api_gzip_min_bytes: int = Field(
        default=1024, ge=0, description="HTTP answers smaller than this go uncompressed: gzip would not pay"
    )
    api_ws_deflate: bool = Field(
        default=True,
        description="offer permessage-deflate on WebSockets (browsers ask for it): the live map's changes shrink "
        "some 8 times; each message is compressed once for all its clients (docs/figures.md, Dispatch)",
    )

    # JT/T 808 gateway (`yiwang gateway jt808`, docs/device-protocol.md "JT/T 808 terminals"). It logs in to the
    # broker with mqtt_username/mqtt_password, an account with the `gateway` role, as gateway_client_id.
    # The address terminals connect to: 127.0.0.1 serves this machine only; 0.0.0.0 every interface.
    jt808_host: str = "127.0.0.1"
    jt808_port: int = Field(default=17808, ge=0, le=65535)
    gateway_client_id: str = Field(default="yiwang-gateway-jt808", pattern=f"^{SERVICE_CLIENT_ID_PREFIX}")
    # The gateway's metrics and health (on metrics_host).
    gateway_metrics_port: int = 9110
    # Bounds on what one terminal connection may cost. Connections beyond jt808_max_connections are closed as they
    # open; a connection silent for jt808_idle_seconds is closed (terminals send a heartbeat every 60 s by default);
    # a connection whose frames were refused jt808_max_refusals times is closed, so that one sender of garbage cannot
    # fill the dead-letter table. A connection's buffering is bounded by the codec: one frame of at most 2090 bytes,
    # and at most 8 unfinished multi-packet messages of at most 128 packets, each at most
    # jt808_multipacket_seconds old.
    jt808_max_connections: int = Field(default=30_000, ge=1)
    jt808_idle_seconds: float = Field(default=180.0, gt=0)
    jt808_max_refusals: int = Field(default=200, ge=1)
    jt808_multipacket_seconds: float = Field(default=60.0, gt=0)
    # The gateway's MQTT publications awaiting their PUBACK, at most (paho's in-flight window; beyond it paho queues
    # them in order); and how long one may wait for its PUBACK before the terminal goes unanswered (it sends again).
    gateway_max_inflight: int = Field(default=1000, ge=1)
    gateway_publish_timeout_seconds: float = Field(default=10.0, gt=0)

    # The notifier (`yiwang notify`, docs/notifications.md): the alert lifecycle's sweeps and deliveries by rules.
    notifier_metrics_port: int = Field(default=9111, description="the notifier's /metrics and /health (metrics_host)")
    notifier_poll_seconds: float = Field(
        default=5.0, gt=0, description="the notifier looks for new alerts, due deliveries and ended causes this often"
    )
    alert_escalate_seconds: float = Field(
        default=1800.0, gt=0, description="an active alert unacknowledged this long is escalated (once)"
    )
    notify_max_attempts: int = Field(default=6, ge=1, description="a delivery failing this often is dead")
    notify_retry_seconds: float = Field(
        default=30.0, gt=0, description="the first retry's delay; each next one doubles, up to notify_retry_max_seconds"
    )
    notify_retry_max_seconds: float = Field(default=3600.0, gt=0, description="the longest delay between two tries")
    notify_timeout_seconds: float = Field(default=10.0, gt=0, description="one SMTP or webhook attempt at most")
    notify_lease_seconds: float | None = Field(
        default=None, gt=0, description="a claimed delivery is left to its notifier this long: one killed meanwhile "
        "leaves it to be tried again after (at least once); unset: long enough for every attempt of a claimed batch "
        "to end (10 times notify_timeout_seconds, plus 60). Keep it above twice notify_timeout_seconds"
    )  # fmt: skip
    smtp_host: str | None = Field(default=None, description="the SMTP server for e-mail rules; unset: none is sent")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="587 with STARTTLS, 465 with TLS, 25 with none")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls: upgrade after connecting; tls: TLS from the start (465); none"
    )
    smtp_username: str | None = Field(default=None, description="log in with this user (unset: no login)")
    smtp_password: str | None = Field(default=None, repr=False, description="smtp_username's password")
    smtp_from: str = Field(default="yiwang@localhost", description="the sender of every e-mail")
    # Secrets the database keeps encrypted (db/sealing.py): robots' webhook keys, 钉钉 signing secrets.
    secret_key: str | None = Field(
        default=None, repr=False, description="Fernet keys, comma-separated, newest first: the first encrypts, each "
        "decrypts (rotation: docs/notifications.md); unset: those of secret_key_file"
    )  # fmt: skip
    secret_key_file: Path | None = Field(
        default=None, description="a file of secret_key's keys, one a line, newest first; unset: YIWANG_HOME/"
        "secret.key, which `yiwang stack up` makes for the local stack"
    )  # fmt: skip

    # The worker (`yiwang worker`, worker/): the roll-ups, track packing and retention, out of the API. Several may run.
    worker_metrics_port: int = Field(default=9113, description="the worker's /metrics and /health (metrics_host)")
    # Retention (worker/retention.py, docs/operating.md "Retention"): raw data older than this is dropped a chunk
    # at a time; the roll-ups (consumption, mileage) and the packed track hours made from it are kept for good.
    # 0 keeps it for good. Not under 31 days: collectors and terminals buffer about 30 days, so younger raw data may
    # still be recounted when a late batch arrives.
    position_retention_days: float = Field(
        default=0.0,
        ge=0,
        description="positions older than this many days are dropped (0: kept for good); at least 31; mileage and "
        "packed track hours stay",
    )
    reading_retention_days: float = Field(
        default=0.0,
        ge=0,
        description="meter readings older than this many days are dropped (0: kept for good); at least 31; the "
        "consumption roll-up's days and months stay",
    )
    # Compression of raw data on the full edition (the worker sets TimescaleDB's policy; on the Apache edition it logs
    # that there is none and changes nothing). 0: not compressed. Not under 31 days, for the same late batches.
    position_compress_after_days: float = Field(
        default=0.0,
        ge=0,
        description="on the full TimescaleDB edition, positions older than this many days are compressed (0: never);"
        " at least 31",
    )
    reading_compress_after_days: float = Field(
        default=0.0,
        ge=0,
        description="on the full TimescaleDB edition, readings older than this many days are compressed (0: never);"
        " at least 31",
    )
    # The audit log is never deleted in place: rows older than this move to audit_log_archive (same database,
    # append-only too), which the operator may dump and keep elsewhere. China's Cybersecurity Law (art. 21) asks
    # for network logs kept at least six months, so not under 183 days.
    audit_retention_days: float = Field(
        default=0.0,
        ge=0,
        description="audit rows older than this many days move to audit_log_archive (0: they stay); at least 183",
    )
    retention_check_seconds: float = Field(
        default=3600.0, gt=0, description="the worker applies the retention settings this often"
    )

    @field_validator(
        "position_retention_days",
        "reading_retention_days",
        "position_compress_after_days",
        "reading_compress_after_days",
    )
    @classmethod
    def _raw_days(cls, value: float) -> float:
        if 0 < value < 31:
            raise ValueError(
                "raw data is dropped or compressed after 31 days or more (0: never): late batches of up to 30 days"
                " are written and recounted into it"
            )
        return value

    @field_validator("audit_retention_days")
    @classmethod
    def _audit_retention(cls, value: float) -> float:
        if 0 < value < 183:
            raise ValueError("keep the audit log at least 183 days (six months, Cybersecurity Law art. 21), or 0")
        return value

    # Simulators
    sim_seed: int = 20260101
    sim_institutions: int = 30
    sim_vehicles: int = 60
    sim_meter_interval_s: float = 900.0
    sim_vehicle_interval_s: float = 10.0
    sim_acceleration: float = 1.0
    sim_faults: float = Field(default=0.0, ge=0.0, le=1.0)
    sim_client_id: str = Field(default="yiwang-simulator", pattern=f"^{SERVICE_CLIENT_ID_PREFIX}")
    # The share of the simulated fleet whose terminals report over JT/T 808 through the gateway (jt808_host,
    # jt808_port: simulators/terminal.py) instead of JSON over MQTT; which vehicles follows from the seed.
    sim_jt808_share: float = Field(default=0.2, ge=0.0, le=1.0)

    # A vehicle whose newest fix is older than this shows as offline on the live map.
    vehicle_offline_seconds: float = Field(default=600.0, gt=0)

    # Supervision (collector/supervisor.py, rules in domain/supervision.py): its own persistent MQTT session, the
    # rules' thresholds and calendar.
    supervisor_client_id: str = Field(default="yiwang-supervisor", pattern=f"^{SERVICE_CLIENT_ID_PREFIX}")
    supervision_speed_limit_kmh: float = Field(default=120.0, gt=0)
    supervision_moved_m: float = Field(default=50.0, gt=0)  # moved this far without a dispatch: an alert
    supervision_work_hours: str = Field(default="08:00-18:00", pattern=r"^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$")
    # The usual workdays of the week, for supervision's working hours and energy's working-hours baseline; the
    # dated exceptions (holidays, make-up workdays) are the calendar_day table's (domain/calendar.py).
    workdays: str = Field(
        default="1,2,3,4,5",
        pattern=r"^[1-7](,[1-7])*$",
        description="the usual workdays of the week, ISO numbers (Monday 1); holidays and 调休 are /calendar/days",
    )

    @property
    def week_workdays(self) -> frozenset[int]:
        """`workdays` as date.weekday() numbers (Monday 0), as domain/calendar.py's WorkCalendar takes them."""
        return iso_workdays(self.workdays)

    supervision_repeat_seconds: float = Field(default=600.0, ge=0)  # the same alert of a vehicle at most this often
    supervision_silent_ignition_seconds: float = Field(default=300.0, gt=0)
    supervision_silence_check_seconds: float = Field(default=30.0, gt=0)
    supervision_silent_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="no report for this long from a parked vehicle (ignition off, or not reported and still) raises "
        "`silent`; keep it above the terminals' sleep report interval (JT/T 808 parameter 0x0027)",
    )

    # Tracks and trips (domain/track.py, domain/trips.py): thresholds as Traccar's filter.* and report.trip.* settings.
    # Fixes implying a faster jump are dropped; fixes this far after their receipt are dropped.
    track_max_speed_kmh: float = Field(default=250.0, gt=0)
    track_future_seconds: float = Field(default=86_400.0, gt=0)
    # A stop: staying within this radius for at least this long (also what ends a trip with the engine on).
    track_stop_radius_m: float = Field(default=50.0, gt=0)
    track_stop_seconds: float = Field(default=180.0, gt=0)
    # Tracks with more fixes than this are simplified (Douglas-Peucker) to this tolerance unless asked otherwise.
    # A day at one fix per 10 s (8,640) is served whole: a browser draws it at ease and a replay wants every fix;
    # a week (60,480) or a month is simplified.
    track_simplify_above: int = Field(default=20_000, ge=2)
    track_simplify_m: float = Field(default=10.0, ge=0)
    trip_min_distance_m: float = Field(default=200.0, ge=0)
    trip_min_seconds: float = Field(default=180.0, ge=0)
    trip_max_gap_seconds: float = Field(default=3_600.0, gt=0)
    trip_use_ignition: bool = True
    trip_moving_kmh: float = Field(default=5.0, ge=0)

    @property
    def track_rules(self) -> TrackRules:
        """The track_* thresholds as domain/track.py takes them (tracks served, the mileage roll-up, matching)."""
        return TrackRules(
            future_tolerance=timedelta(seconds=self.track_future_seconds),
            max_speed_kmh=self.track_max_speed_kmh,
            stop_radius_m=self.track_stop_radius_m,
            min_stop_seconds=self.track_stop_seconds,
        )

    @property
    def trip_rules(self) -> TripRules:
        """The trip_* thresholds as domain/trips.py takes them."""
        return TripRules(
            min_trip_distance_m=self.trip_min_distance_m,
            min_trip_seconds=self.trip_min_seconds,
            max_gap_seconds=self.trip_max_gap_seconds,
            use_ignition=self.trip_use_ignition,
            moving_kmh=self.trip_moving_kmh,
            min_stop_seconds=self.track_stop_seconds,
            stop_radius_m=self.track_stop_radius_m,
        )

    # Dispatch suggestions (domain/suggestions.py): arrival at this average speed over great-circle distance times
    # the detour, plus minutes of preference for what makes a vehicle a worse choice.
    suggest_speed_kmh: float = Field(default=30.0, gt=0)
    suggest_detour: float = Field(default=1.3, ge=1)
    suggest_other_unit_minutes: float = Field(default=10.0, ge=0)
    suggest_fuel_minutes: float = Field(default=5.0, ge=0)
    suggest_spare_seat_minutes: float = Field(default=1.0, ge=0)
    suggest_silent_minutes: float = Field(default=15.0, ge=0)
    suggest_min_soc: float = Field(default=20.0, ge=0, le=100)
    # Trips matched to trip requests (domain/matching.py): the thresholds of detours, windows and stops.
    matching_road_factor: float = Field(
        default=1.3,
        ge=1,
        description="road km per straight-line km: a request's estimate is origin -> destination -> origin times it",
    )
    matching_detour_tolerance: float = Field(
        default=0.3, ge=0, description="a request's km over its estimate by more than this fraction of it: a detour"
    )
    matching_detour_min_km: float = Field(
        default=2.0, ge=0, description="and by more than this many km (a short request's small excess is no detour)"
    )
    matching_window_slack_minutes: float = Field(
        default=30.0, ge=0, description="driving this long before wanted_start or after wanted_end is still in window"
    )
    matching_stop_seconds: float = Field(
        default=300.0, gt=0, description="a rest between two trips of a request this long is a stop"
    )
    matching_place_radius_m: float = Field(
        default=500.0, gt=0, description="a stop farther than this from the destination and origin is a foreign stop"
    )
    # The geofence and matching reports judge every fix of every vehicle in pure Python (in a worker thread, so the
    # API keeps serving): a request over more vehicle-days than this is refused (422) before anything is read.
    report_max_vehicle_days: int = Field(
        default=1_000,
        ge=1,
        description="vehicles x days a geofence or matching report may cover (a month of 32 vehicles, a day of "
        "1,000); a larger request is refused with 422 and asked to narrow the period or name one unit",
    )
    # How often the worker brings the mileage roll-up (trips and kilometres per vehicle and local day, in the city's
    # time_zone) up to date with new and late positions. Reports are of days, not of minutes: a city's
    # moving vehicles are recounted once per turn, so a longer turn costs the database less. A change of the zone or of
    # a track_* or trip_* setting needs `yiwang mileage rebuild`.
    mileage_refresh_seconds: float = Field(default=300.0, gt=0)
    # How often the worker packs each vehicle's hours of fixes that are over (worker/packed.py): tracks read a
    # packed hour as one row. An hour is packed once it ended this turn plus the mileage refresher's ago.
    track_pack_seconds: float = Field(default=60.0, gt=0)

    @property
    def track_settle(self) -> timedelta:
        """How long after its end an hour is packed: past the mileage refresher's turn (which, claiming the marks
        of an hour's last live fixes, would have it packed again) and a few minutes of late live batches."""
        return timedelta(seconds=self.mileage_refresh_seconds + self.track_pack_seconds + 300)

    # Vehicle fuel and charging statements (api/fleet/fuel.py, docs/api.md "Fuel and charging").
    fuel_gasoline_kg_per_litre: float = Field(
        default=0.73,
        gt=0.6,
        lt=0.9,
        description="kg per litre that imported gasoline counts as in the energy statistics (reported in kg): "
        "the conversion public-institution statistics commonly use (1 L = 0.73 kg; GB 17930 allows 720-775 kg/m³ "
        "at 20 °C). Kept with each purchase as imported.",
    )
    fuel_diesel_kg_per_litre: float = Field(
        default=0.86,
        gt=0.7,
        lt=1.0,
        description="kg per litre that imported diesel counts as (1 L = 0.86 kg, the common statistical "
        "conversion; GB 19147 allows 810-850 kg/m³ at 20 °C for 0#). Kept with each purchase as imported.",
    )
    fuel_idle_days: int = Field(
        default=3,
        ge=0,
        le=31,
        description="a purchase is flagged when its vehicle's track drove no kilometre this many local days either "
        "side of it",
    )
    fuel_litres_per_100km_low: float = Field(default=3.0, ge=0, description="below it, L/100 km is flagged")
    fuel_litres_per_100km_high: float = Field(
        default=40.0, gt=0, description="above it, L/100 km is flagged (a city bus burns some 30)"
    )
    fuel_kwh_per_100km_low: float = Field(default=8.0, ge=0, description="below it, kWh/100 km is flagged")
    fuel_kwh_per_100km_high: float = Field(
        default=120.0, gt=0, description="above it, kWh/100 km is flagged (an electric city bus uses some 100)"
    )

    # The city's time zone: the local days, months and years that consumption and mileage are counted in, and the
    # hours of supervision rules (a change needs `yiwang energy rebuild` and `yiwang mileage rebuild`).
    time_zone: str = "Asia/Shanghai"

    # Energy statistics
    # How often the worker brings the consumption roll-up up to date with new and late readings.
    energy_refresh_seconds: float = Field(default=10.0, gt=0)
    # A delta between two readings further apart than this many days is not shared between the days it spans: it is
    # held unapportioned (listed by /energy/flagged as a `gap`) for staff to decide. One wrong clock (a reading dated
    # 2001) would otherwise spread a meter's delta over decades. A month: collectors buffer about 30 days, so a
    # longer gap is data that was lost, not late. A change needs `yiwang energy rebuild`.
    energy_max_gap_days: float = Field(
        default=MAX_GAP / timedelta(days=1),
        gt=0,
        description="readings further apart: their delta is held for staff, not shared out",
    )

    @property
    def energy_max_gap(self) -> timedelta:
        """energy_max_gap_days as the span the roll-up compares a delta's with."""
        return timedelta(days=self.energy_max_gap_days)

    # An indicator at this share of its quota or more is flagged near-quota.
    energy_quota_near: float = Field(default=0.9, gt=0, le=1)
    # Key energy-using units (重点用能单位) proposed beside the registry's flag: an institution whose comprehensive
    # energy of a year is at least this many tce (pro rata for a shorter period). 10,000 tce is the national criterion
    # of 《重点用能单位节能管理办法》 (2018), article 2 (1); its (2) lets the authorities designate units of 5,000 to
    # 10,000 tce, and a city may set its own threshold for public institutions here.
    energy_key_unit_threshold_tce: float = Field(
        default=10_000.0,
        gt=0,
        description="a year's comprehensive energy (tce) from which an institution is proposed as a key energy-using "
        "unit (pro rata for a shorter period)",
    )
    # Data quality: how long without a reading makes a meter silent (how often each reports is in the registry).
    energy_silent_seconds: float = Field(default=86_400.0, gt=0)
    # Anomalies: night (00-06 h) and weekend daytime load per hour at or above these shares of the
    # working-hour load, and a water meter whose night flow never reached zero for this many nights in a row.
    energy_night_load_ratio: float = Field(default=0.5, gt=0)
    energy_weekend_load_ratio: float = Field(default=0.6, gt=0)
    energy_leak_nights: int = Field(default=3, ge=1)
    # Energy events (docs/notifications.md): how often the notifier's energy watch judges meters' silence and the
    # night anomalies (by the rules above) and raises or clears their alerts, and over how many whole days before
    # today it measures night base load (a water meter's run of nights is judged over at least energy_leak_nights).
    energy_watch_seconds: float = Field(
        default=900.0,
        gt=0,
        description="seconds between two judgements of energy events, by each watch: the notifier's (silence, night "
        "anomalies) and each API process's (quota_near)",
    )
    energy_watch_days: int = Field(
        default=7, ge=1, le=62, description="whole days before today over which the energy watch measures night load"
    )
    # A meter's last reading is looked for this far back only (each day more is an index probe in one more chunk of
    # readings per meter): a meter silent longer than energy_silent_seconds and these days is alerted while it is in
    # the window, and one silent since before it (or never read) raises nothing.
    energy_silent_lookback_days: int = Field(
        default=31,
        ge=1,
        le=366,
        description="days beyond energy_silent_seconds the energy watch looks back for a meter's last reading",
    )

    # Web pages (api/pages): the map's tile URL template, e.g. http://tiles.intranet/{z}/{x}/{y}.png; empty: no
    # tiles from a service (then the offline package below, or without one a grid on a plain background under the
    # vehicles and areas; docs/basemap.md says how to set each). What is stored, answered and exported
    # stays WGS-84, as terminals send it; the pages shift what they draw onto GCJ-02 tiles (domain/datum.py).
    pages_tile_url: str = ""
    pages_tile_attribution: str = ""
    pages_tile_max_zoom: int = Field(default=18, ge=1, le=22)
    pages_tile_coordinates: Coordinates = Field(
        default="wgs84",
        description="the coordinate system the map's tiles are drawn in: wgs84 (OpenStreetMap and most "
        "self-hosted tiles), gcj02 (AMap, Tencent and most commercial Chinese services: positions are shifted for "
        "display only) or cgcs2000 (Tianditu: within a metre of WGS-84, drawn as received); the map states it",
    )
    # The service's key, filled in where the template says {key} (Tianditu: ...&tk={key}). The page sends it with
    # each tile request, so it is public: use a browser key bound to the pages' domain in the service's console.
    pages_tile_key: str = Field(
        default="",
        description="the tile service's key, put where the URL template has {key} (Tianditu's tk=); public: every "
        "browser sees it",
    )
    pages_tile_labels_url: str = Field(
        default="",
        description="a second tile layer drawn over the service's tiles, with the same key, subdomains and "
        "coordinates: Tianditu's labels (cva_w), which its base layers (vec_w, img_w) do not carry",
    )
    pages_tile_subdomains: str = Field(
        default="abc",
        description="the letters the page puts for {s} in the URL template, one per request (Tianditu: 01234567)",
    )
    pages_tile_name: str = Field(
        default="",
        description="the base map's name as the map states it (e.g. 天地图矢量); default: the tile server's host, or "
        "the package's own name",
    )
    # An offline tile package (docs/basemap.md): an MBTiles file or a PMTiles archive, served read-only by the API at
    # /tiles/{z}/{x}/{y} for intranets with no tile server. Either this or pages_tile_url; neither: the grid.
    pages_tile_package: Path | None = Field(
        default=None,
        description="an MBTiles file (SQLite) or a PMTiles archive (.pmtiles) of the region's raster tiles, which the "
        "API serves at /tiles/{z}/{x}/{y}.png (not with YIWANG_PAGES_TILE_URL)",
    )
    pages_tile_cache_seconds: int = Field(
        default=86_400,
        ge=0,
        description="how long browsers keep a tile of the package without asking again (then by ETag)",
    )
    # Where the map opens (WGS-84; default: Jingdezhen, the simulated city) and at what zoom.
    pages_map_latitude: float = Field(default=29.29, ge=-90, le=90)
    pages_map_longitude: float = Field(default=117.20, ge=-180, le=180)
    pages_map_zoom: int = Field(default=13, ge=1, le=22)

    # API access
    # Signs the API's access tokens (HS256). No default: `yiwang api` refuses to start without one of at
    # least 32 characters, e.g. from `python -c "import secrets; print(secrets.token_urlsafe(48))"`.
    api_token_secret: str | None = Field(default=None, repr=False)
    api_access_token_minutes: float = Field(default=15.0, gt=0)
    # A refresh token unused this long expires (idle end); a login ends after api_session_hours whatever.
    api_refresh_token_hours: float = Field(default=12.0, gt=0)
    api_session_hours: float = Field(default=168.0, gt=0)
    # Login limit (docs/access.md, "Login limit"): failed logins fill counters per (user name, client address)
    # pair, per name and per address, each leaking its limit per window; once one is full the next attempt waits
    # (429 with Retry-After), from api_login_delay_seconds doubling up to api_login_max_delay_seconds.
    # Failures per (name, address) pair within the window before delays start.
    api_login_max_failures: int = Field(default=5, ge=1)
    api_login_window_seconds: float = Field(default=3600.0, gt=0)
    # Failures per name from all the addresses where it has not logged in lately (a botnet guessing one name).
    api_login_name_max_failures: int = Field(default=20, ge=1)
    # Failures per address across names (a spray): above an office NAT's typing errors.
    api_login_address_max_failures: int = Field(default=30, ge=1)
    api_login_delay_seconds: float = Field(default=1.0, gt=0)
    api_login_max_delay_seconds: float = Field(default=900.0, gt=0)
    # A name that logged in from an address within this many days is judged there on its own pair alone.
    api_login_known_days: float = Field(default=90.0, gt=0)
    # The largest request body (and WebSocket message) the API reads, in bytes: a larger one gets 413 (1009)
    # before it is read whole (the registry's file imports have their own limit, api/registry/upload.py). The
    # largest other body is an area's GeoJSON outline: 64 KiB holds some 2,500 points.
    api_max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto the API believes: addresses or networks,
    # comma-separated ("10.0.0.5,10.1.0.0/16"). Empty (the default): none, so the address the login limit and
    # the audit log see is the connection's, whatever headers a client sends. No "*": uvicorn would then believe
    # the first address of X-Forwarded-For, which the client writes.
    api_trusted_proxies: str = Field(default="", pattern=r"^[^*]*$")

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, values: Any) -> Any:
        """Old environment names still work for one release, with a warning naming the new one."""
        if isinstance(values, dict):
            for old, new in RENAMED.items():
                if old in os.environ and f"YIWANG_{new.upper()}" not in os.environ and new not in values:
                    warnings.warn(
                        f"{old} is renamed YIWANG_{new.upper()}; the old name goes in the next release",
                        FutureWarning,
                        stacklevel=2,
                    )
                    values = {**values, new: os.environ[old]}
        return values

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, values: Any) -> Any:
        """A retired environment name that is set (not empty) stops the process with where its value goes now."""
        for name, instead in RETIRED.items():
            if os.environ.get(name, "").strip():
                raise ValueError(f"{name} is no longer read: {instead}")
        return values

    @model_validator(mode="after")
    def _no_published_secret(self) -> Settings:
        secrets: dict[str, object] = {"api_token_secret": self.api_token_secret, "mqtt_password": self.mqtt_password}
        for name in _DATABASE_URLS:
            url = getattr(self, name)
            secrets[name] = _password_of(url) if url else None
        for name, secret in secrets.items():
            if secret in PUBLISHED_SECRETS:
                raise ValueError(f"YIWANG_{name.upper()} uses a published default password or secret: choose your own")
        return self

    @model_validator(mode="after")
    def _one_base_map(self) -> Settings:
        if self.pages_tile_url and self.pages_tile_package is not None:
            raise ValueError(
                "YIWANG_PAGES_TILE_URL and YIWANG_PAGES_TILE_PACKAGE are both set: the map shows one base map"
            )
        if self.pages_tile_url and (problem := template_problem(self.pages_tile_url, self.pages_tile_key)):
            raise ValueError(f"YIWANG_PAGES_TILE_URL: {problem}")
        if self.pages_tile_labels_url and not self.pages_tile_url:
            raise ValueError("YIWANG_PAGES_TILE_LABELS_URL is drawn over YIWANG_PAGES_TILE_URL's tiles: set that too")
        if self.pages_tile_labels_url and (
            problem := template_problem(self.pages_tile_labels_url, self.pages_tile_key)
        ):
            raise ValueError(f"YIWANG_PAGES_TILE_LABELS_URL: {problem}")
        return self

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"no time zone {value!r}: use an IANA name such as Asia/Shanghai") from exc
        return value

    @classmethod
    def unknown_environment(cls) -> list[str]:
        """YIWANG_* variables that name no setting: a typo would otherwise fall back to a default unseen."""
        known = {f"YIWANG_{name.upper()}" for name in cls.model_fields} | set(RENAMED)
        return sorted(k for k in os.environ if k.startswith("YIWANG_") and k not in known)

    def secret_keys(self) -> list[str]:
        """The keys of secret_key, else those of its file (none when neither is there), newest first."""
        text = self.secret_key
        if not text:
            path = self.secret_key_file or self.home / SECRET_KEY_FILE
            text = path.read_text(encoding="ascii") if path.is_file() else ""
        return [k.strip() for k in text.replace("\n", ",").split(",") if k.strip()]

    def database_url_of(
        self, service: Literal["api", "collector", "supervisor", "gateway", "notifier", "worker", "emqx"]
    ) -> str:
        """The URL a process connects with: its own role's, else the owner's."""
        own: str | None = getattr(self, f"{service}_database_url")
        # EMQX is no process of ours, and a deployment on Mosquitto has no role for it: nothing to warn of.
        if own is None and service != "emqx":
            # Works (an installation of before the roles), but the owner can switch the audit log's trigger off.
            _log.warning(
                "YIWANG_%s_DATABASE_URL is not set: the %s connects as the owner of the tables; give it its own role "
                "(docs/access.md, Database roles)",
                service.upper(),
                service,
            )
        return own or self.database_url

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def topic_root(self) -> str:
        return self.mqtt_topic_root.strip("/")
