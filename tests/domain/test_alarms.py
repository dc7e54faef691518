"""The terminal's alarm word read for a dispatcher: which bits raise an alert, once per rise, judged by fix time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.alarms import RUNS_KEPT, AlarmMemory
from domain.jt808.location import Alarm
from domain.position import Position
from domain.supervision import Rules, Watch

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEN = datetime(2026, 3, 3, 10, tzinfo=SHANGHAI)  # a Tuesday, working hours: no other rule speaks
RULES = Rules(zone=SHANGHAI)


def at(minute: float) -> datetime:
    return TEN + timedelta(minutes=minute)


def kinds(memory: AlarmMemory, minute: float, word: int) -> list[str]:
    return [r.kind for r in memory.judge(at(minute), word)]


def test_an_alarm_raises_when_it_rises_not_while_it_stays_and_again_after_it_clears() -> None:
    memory = AlarmMemory()
    words = [0, Alarm.EMERGENCY, Alarm.EMERGENCY, Alarm.EMERGENCY, 0, 0, Alarm.EMERGENCY, Alarm.EMERGENCY]
    raised = {m: kinds(memory, m, w) for m, w in enumerate(words)}
    assert raised == {0: [], 1: ["emergency"], 2: [], 3: [], 4: [], 5: [], 6: ["emergency"], 7: []}


def test_a_vehicles_first_report_with_an_alarm_set_raises_it() -> None:
    assert kinds(AlarmMemory(), 0, Alarm.MAIN_POWER_CUT) == ["power_cut"]


@pytest.mark.parametrize(
    ("bit", "kind"),
    [
        (Alarm.EMERGENCY, "emergency"),
        (Alarm.OVERSPEED, "terminal_overspeed"),
        (Alarm.FATIGUE, "fatigue"),
        (Alarm.GNSS_ANTENNA_CUT, "gnss_antenna"),
        (Alarm.GNSS_ANTENNA_SHORT, "gnss_antenna"),
        (Alarm.MAIN_POWER_CUT, "power_cut"),
    ],
)
def test_each_bit_a_dispatcher_acts_on_has_its_kind(bit: Alarm, kind: str) -> None:
    memory = AlarmMemory()
    assert kinds(memory, 0, 0) == []
    assert kinds(memory, 1, bit) == [kind]


def test_several_bits_rising_together_raise_each_kind_once() -> None:
    memory = AlarmMemory()
    kinds(memory, 0, 0)
    word = Alarm.EMERGENCY | Alarm.GNSS_ANTENNA_CUT | Alarm.GNSS_ANTENNA_SHORT | Alarm.MAIN_POWER_CUT | Alarm.FATIGUE
    rises = memory.judge(at(1), word)
    assert sorted(r.kind for r in rises) == ["emergency", "fatigue", "gnss_antenna", "power_cut"]
    antenna = next(r for r in rises if r.kind == "gnss_antenna")
    assert antenna.bits == Alarm.GNSS_ANTENNA_CUT | Alarm.GNSS_ANTENNA_SHORT
    assert antenna.detail == "alarm bits 5 (GNSS antenna cut or not connected), 6 (GNSS antenna short)"
    # The antenna, cut then shorted while cut, is one fault still set: nothing new. The others cleared.
    assert kinds(memory, 2, Alarm.GNSS_ANTENNA_SHORT) == []
    # Power cut again with the antenna still faulty: only the power cut rose.
    assert kinds(memory, 3, Alarm.GNSS_ANTENNA_SHORT | Alarm.MAIN_POWER_CUT) == ["power_cut"]


def test_warnings_faults_and_vendor_bits_raise_nothing_and_do_not_split_a_held_alarm() -> None:
    memory = AlarmMemory()
    meaningless = [
        Alarm.OVERSPEED_WARNING,  # bit 13: the driver is warned before the limit
        Alarm.FATIGUE_WARNING,  # bit 14
        Alarm.DANGER_WARNING,
        Alarm.GNSS_MODULE_FAULT,
        Alarm.MAIN_POWER_LOW,
        Alarm.CAMERA_FAULT,
        Alarm.AREA_ENTRY_EXIT,  # the platform judges areas itself
        Alarm.COLLISION_WARNING,
        Alarm(1 << 31 | 1 << 17),
        Alarm(0xFFFFFFFF & ~(1 << 0 | 1 << 1 | 1 << 2 | 1 << 5 | 1 << 6 | 1 << 8)),  # every other bit at once
    ]
    for minute, word in enumerate(meaningless):
        assert kinds(memory, minute, word) == [], word
    # An emergency held while other bits come and go rose once.
    assert kinds(memory, 20, Alarm.EMERGENCY) == ["emergency"]
    assert kinds(memory, 21, Alarm.EMERGENCY | Alarm.CAMERA_FAULT | Alarm(1 << 31)) == []
    assert kinds(memory, 22, Alarm.EMERGENCY) == []


def test_a_late_fix_does_not_raise_again_an_alarm_a_newer_fix_raised() -> None:
    memory = AlarmMemory()
    assert kinds(memory, 0, 0) == []
    assert kinds(memory, 10, Alarm.EMERGENCY) == ["emergency"]  # back in coverage, the button held
    # The blind zone's fixes arrive afterwards: the press began in the tunnel, the same press.
    assert [kinds(memory, m, Alarm.EMERGENCY) for m in (7, 8, 9)] == [[], [], []]
    # A redelivered fix raises nothing.
    assert kinds(memory, 10, Alarm.EMERGENCY) == []


def test_an_alarm_that_rose_and_cleared_inside_a_blind_zone_is_raised_once() -> None:
    memory = AlarmMemory()
    assert kinds(memory, 0, 0) == []
    assert kinds(memory, 10, 0) == []  # the newest fix: all clear
    # The batch of the blind zone between: the button pressed at minute 3, held to 5, released at 6.
    batch = [(1, 0), (2, 0), (3, Alarm.EMERGENCY), (4, Alarm.EMERGENCY), (5, Alarm.EMERGENCY), (6, 0)]
    assert [kinds(memory, m, w) for m, w in batch] == [[], [], ["emergency"], [], [], []]
    # The batch sent newest first (terminals differ): still once, at the first of its fixes to arrive.
    memory = AlarmMemory()
    kinds(memory, 0, 0)
    kinds(memory, 10, 0)
    assert [kinds(memory, m, w) for m, w in reversed(batch)] == [[], ["emergency"], [], [], [], []]


def test_a_late_fix_between_two_alarmed_fixes_joins_their_alarm() -> None:
    memory = AlarmMemory()
    assert kinds(memory, 0, Alarm.FATIGUE) == ["fatigue"]
    assert kinds(memory, 2, Alarm.FATIGUE) == []
    assert kinds(memory, 1, Alarm.FATIGUE) == []
    # A clear fix arriving late inside the episode is a gap of one fix: the episode was raised, nothing new.
    assert kinds(memory, 1.5, 0) == []
    # After a newer clear fix, a late alarm next to the episode's last fix (nothing known between) continues it.
    assert kinds(memory, 5, 0) == []
    assert kinds(memory, 4, Alarm.FATIGUE) == []  # 2 (set) < 4 < 5 (clear)
    # A late alarm between a clear fix and a set one is that set fix's episode, raised already.
    assert kinds(memory, 3, 0) == []
    assert kinds(memory, 3.5, Alarm.FATIGUE) == []  # 3 (clear) < 3.5 < 4 (set)


def test_a_blind_zone_with_two_alarms_apart_raises_two() -> None:
    memory = AlarmMemory()
    kinds(memory, 0, 0)
    kinds(memory, 10, 0)
    batch = [(3, Alarm.GNSS_ANTENNA_CUT), (5, 0), (7, Alarm.GNSS_ANTENNA_CUT)]
    assert [kinds(memory, m, w) for m, w in batch] == [["gnss_antenna"], [], ["gnss_antenna"]]
    assert [kinds(memory, m, w) for m, w in batch] == [[], [], []]  # the batch again


def test_the_memory_keeps_a_bounded_number_of_runs() -> None:
    memory = AlarmMemory()
    for m in range(4 * RUNS_KEPT):
        kinds(memory, m, Alarm.EMERGENCY if m % 2 else 0)
    assert len(memory.runs) == RUNS_KEPT


def fix(minute: float, alarm: int | None) -> Position:
    t = at(minute)
    return Position("v1", t, t, 29.3005, 117.2005, 0.0, 0.0, True, alarm=alarm)


def test_the_supervisor_rules_raise_alarm_alerts_graded_and_named_by_their_bits() -> None:
    watch = Watch()
    alerts = watch.judge(fix(0, Alarm.EMERGENCY | Alarm.MAIN_POWER_CUT | Alarm.OVERSPEED), dispatched=True,
                         areas=[], rules=RULES)  # fmt: skip
    graded = {a.kind: (a.level, a.detail) for a in alerts}
    assert graded == {
        "emergency": ("red", "alarm bit 0 (emergency button)"),
        "power_cut": ("red", "alarm bit 8 (main power cut, the terminal may be being removed)"),
        "terminal_overspeed": ("yellow", "alarm bit 1 (overspeed)"),
    }
    assert {a.time for a in alerts} == {at(0)}
    antenna = watch.judge(fix(1, Alarm.GNSS_ANTENNA_SHORT), dispatched=True, areas=[], rules=RULES)
    assert [(a.kind, a.level) for a in antenna] == [("gnss_antenna", "yellow")]


def test_an_alarm_rises_again_within_the_repeat_time_and_a_fix_without_a_word_changes_nothing() -> None:
    watch = Watch()

    def judge(minute: float, alarm: int | None) -> list[str]:
        return [a.kind for a in watch.judge(fix(minute, alarm), dispatched=True, areas=[], rules=RULES)]

    assert judge(0, Alarm.FATIGUE) == ["fatigue"]
    assert judge(1, None) == []  # a report without the word (another path): neither clear nor set
    assert judge(2, Alarm.FATIGUE) == []
    assert judge(3, 0) == []
    assert judge(4, Alarm.FATIGUE) == ["fatigue"]  # 4 minutes after the first: each rise is raised
