"""Who is told of what, and when: matching, quiet hours (also across midnight), digests, red never held, retries."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.notifications import Rule, masked_url, matching, plan, quiet_at, retry_delay

SHANGHAI = ZoneInfo("Asia/Shanghai")


def rule(**changes: object) -> Rule:
    values: dict[str, object] = {"id": 1, "organisation_id": "org-a", "kinds": None, "levels": None, "event": "new",
                                 "channel": "wecom", "target": "http://robot"}  # fmt: skip
    return Rule(**{**values, **changes})  # type: ignore[arg-type]


def test_a_rule_matches_by_unit_kind_level_and_event() -> None:
    rules = [rule(id=1), rule(id=2, organisation_id=None, kinds=frozenset({"silent"})),
             rule(id=3, levels=frozenset({"red"})), rule(id=4, event="escalation")]  # fmt: skip
    ids = [r.id for r in matching(rules, organisation_id="org-a", kind="silent", level="yellow", event="new")]
    assert ids == [1, 2]
    ids = [r.id for r in matching(rules, organisation_id="org-b", kind="speeding", level="red", event="new")]
    assert ids == []
    ids = [r.id for r in matching(rules, organisation_id="org-a", kind="speeding", level="red", event="escalation")]
    assert ids == [4]


def test_quiet_hours_may_span_midnight() -> None:
    assert quiet_at(time(22), time(7), time(23, 30))
    assert quiet_at(time(22), time(7), time(6, 59))
    assert not quiet_at(time(22), time(7), time(7))
    assert quiet_at(time(12), time(14), time(12))
    assert not quiet_at(time(12), time(14), time(14))


def test_yellow_waits_for_the_quiet_hours_to_end_and_red_does_not() -> None:
    night = rule(quiet_start=time(22), quiet_end=time(7))
    late = datetime(2026, 3, 3, 23, 10, tzinfo=SHANGHAI)
    assert plan(night, "yellow", late, SHANGHAI) == (None, datetime(2026, 3, 4, 7, tzinfo=SHANGHAI))
    early = datetime(2026, 3, 4, 6, 0, tzinfo=SHANGHAI)
    assert plan(night, "yellow", early, SHANGHAI) == (None, datetime(2026, 3, 4, 7, tzinfo=SHANGHAI))
    assert plan(night, "red", late, SHANGHAI) == (None, late)
    day = datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI)
    assert plan(night, "yellow", day, SHANGHAI) == (None, day)


def test_a_digest_gathers_yellow_alerts_by_local_period_and_respects_quiet_hours() -> None:
    hourly = rule(digest_minutes=60)
    at = datetime(2026, 3, 4, 9, 41, tzinfo=SHANGHAI)
    bucket, due = plan(hourly, "yellow", at, SHANGHAI)
    assert bucket == datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI).isoformat()
    assert due == datetime(2026, 3, 4, 10, 0, tzinfo=SHANGHAI)
    assert plan(hourly, "red", at, SHANGHAI) == (None, at)
    daily = rule(digest_minutes=1440, quiet_start=time(0), quiet_end=time(8))
    bucket, due = plan(daily, "yellow", at, SHANGHAI)
    assert bucket == datetime(2026, 3, 4, 0, 0, tzinfo=SHANGHAI).isoformat()  # a local day, not a UTC one
    assert due == datetime(2026, 3, 5, 8, 0, tzinfo=SHANGHAI)  # midnight is quiet: sent at 08:00


def test_retries_back_off_exponentially_up_to_a_cap() -> None:
    assert [retry_delay(n, 30, 3600) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert sum(retry_delay(n, 30, 3600) for n in range(1, 6)) == timedelta(minutes=15.5).total_seconds()


def test_a_robots_url_is_shown_with_the_last_four_characters_of_each_query_value() -> None:
    assert masked_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7a1c-4bc4-97a0-0ec2f1a5b7e3") == (
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…b7e3"
    )
    # A short value would give too much of itself away: nothing of it is shown.
    assert masked_url("https://oapi.dingtalk.com/robot/send?access_token=abcdefgh&x") == (
        "https://oapi.dingtalk.com/robot/send?access_token=…&x"
    )
    assert masked_url("http://relay.example.org/hook") == "http://relay.example.org/hook"
