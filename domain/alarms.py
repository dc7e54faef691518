"""A terminal's alarm word (JT/T 808 table 24) read for a dispatcher: which bits mean something to act on, and when
an alarm rises.

Five meanings, each a kind of supervision alert:
- `emergency`: bit 0, the emergency button (紧急报警).
- `gnss_antenna`: bit 5 antenna cut or not connected, bit 6 antenna short (GNSS天线断开/短路): positions stop
  being trustworthy, and a cut antenna is how a vehicle is hidden from the platform.
- `power_cut`: bit 8, the terminal lost its main power: most often it is being removed (机车拆除, 终端拆除).
- `terminal_overspeed`: bit 1, the terminal's own overspeed alarm (终端超速报警), by the limit set in the terminal
  (which may differ by road or area), beside the platform's `speeding` rule.
- `fatigue`: bit 2, the terminal's fatigue driving alarm (疲劳驾驶报警).

Warnings (bit 13 overspeed warning, bit 14 fatigue warning: 预警) raise nothing. The terminal gives them to the
driver before the limit is reached, so that the driver slows down or rests; if the driver does not, the alarm
bit follows and that is what the dispatcher sees. Alerting on both would give each episode two alerts, most of
them for drivers who complied. Every other bit (faults of the display, camera, IC card; area and route alarms
the platform judges itself; bits vendors redefine) raises nothing either. All stay in the stored word.

The terminal holds these bits while the condition lasts (标志维持至报警条件解除), except the emergency bit, which it
clears once the platform answers (收到应答后清零): each press is one rise.

An alarm rises when its bits are set in a fix and not in the fix before it, by fix time (or there is no fix
before it that the memory knows, as for a vehicle's first report). It raises nothing while it stays set, and
rises again once a fix has it clear. Fixes arrive out of order (a blind-zone batch is sent after the fixes that
followed it), so the memory keeps the watched bits of a vehicle's recent fixes as runs in fix time order (of a
run, the times of its first and last fix), and a late fix is judged between its neighbours in time. A late fix
with the alarm set next to a fix that had it set joins that episode, raised when its first fix arrived: it is not
raised again. A late clear fix inside an episode does not split it into two alerts. The memory is the
supervisor's: after a restart, an alarm still set is raised again at the vehicle's first fix.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any, Final, Literal

from domain.jt808.location import Alarm
from domain.vocabulary import render

AlarmKind = Literal["emergency", "gnss_antenna", "power_cut", "terminal_overspeed", "fatigue"]
# Each kind and the bits that raise it; a kind is set while any of its bits is.
MEANINGS: Final[dict[AlarmKind, Alarm]] = {
    "emergency": Alarm.EMERGENCY,
    "gnss_antenna": Alarm.GNSS_ANTENNA_CUT | Alarm.GNSS_ANTENNA_SHORT,
    "power_cut": Alarm.MAIN_POWER_CUT,
    "terminal_overspeed": Alarm.OVERSPEED,
    "fatigue": Alarm.FATIGUE,
}
WATCHED: Final = reduce(or_, MEANINGS.values(), Alarm(0))
# The runs kept per vehicle. A run is a stretch of fixes with the same watched bits, so a vehicle whose word
# never changes keeps one; a late fix older than every run kept is judged as a first report.
RUNS_KEPT: Final = 32


@dataclass(frozen=True, slots=True)
class Rise:
    """An alarm that rose at a fix: its kind, and which of its bits are set (the alert's detail names them)."""

    kind: AlarmKind
    bits: Alarm

    @property
    def params(self) -> dict[str, Any]:
        """The alert's parameters: its bits by number (their words are the vocabulary's `alarm_bit.<n>`)."""
        named = [b.bit_length() - 1 for b in Alarm if b in self.bits]
        return {"form": "alarm_bits" if len(named) > 1 else "alarm_bit", "bits": [{"alarm_bit": n} for n in named]}

    @property
    def detail(self) -> str:
        """`alarm bit 5 (GNSS antenna cut or not connected)`; several bits separated by commas."""
        return render("en", self.kind, self.params)


@dataclass(slots=True)
class _Run:
    first: datetime  # the fix times of its first and last fix
    last: datetime
    word: int  # the watched bits of its fixes


@dataclass(slots=True)
class AlarmMemory:
    """The watched bits of one vehicle's recent fixes, as runs in fix time order."""

    runs: list[_Run] = field(default_factory=list)

    def judge(self, time: datetime, alarm: int) -> list[Rise]:
        """The alarms that rise at a fix of this time and alarm word; remembers the fix."""
        word = alarm & WATCHED
        runs = self.runs
        i = bisect_left(runs, time, key=lambda r: r.last)  # the first run not wholly before the fix
        if i < len(runs) and runs[i].first <= time:
            # Inside a run (a redelivery, or a late fix between two of its fixes).
            run = runs[i]
            if run.word == word:
                return []
            before = after = run.word
            # Split it; of its fixes only the first and the last are known (keeping every fix time would cost
            # memory by the fix): a later fix between them is judged against those.
            pieces = [_Run(run.first, run.first, run.word)] if run.first < time else []
            pieces.append(_Run(time, time, word))
            if run.last > time:
                pieces.append(_Run(run.last, run.last, run.word))
            runs[i : i + 1] = pieces
        else:
            previous = runs[i - 1] if i > 0 else None
            following = runs[i] if i < len(runs) else None
            before = previous.word if previous is not None else 0
            after = following.word if following is not None else 0
            if previous is not None and previous.word == word:
                previous.last = time
                if following is not None and following.word == word:
                    previous.last = following.last
                    del runs[i]
            elif following is not None and following.word == word:
                following.first = time
            else:
                runs.insert(i, _Run(time, time, word))
        del runs[:-RUNS_KEPT]
        return [
            Rise(kind, Alarm(word & bits))
            for kind, bits in MEANINGS.items()
            if word & bits and not before & bits and not after & bits
        ]


def alarm_state(memory: AlarmMemory) -> list[list[object]]:
    """What an AlarmMemory remembers, as JSON-ready data: its runs as [first, last, word] (times ISO 8601)."""
    return [[r.first.isoformat(), r.last.isoformat(), r.word] for r in memory.runs]


def restored_alarms(state: list[list[object]]) -> AlarmMemory:
    """An AlarmMemory with what `alarm_state` kept."""
    return AlarmMemory([_Run(datetime.fromisoformat(str(f)), datetime.fromisoformat(str(la)), int(str(w)))
                        for f, la, w in state])  # fmt: skip
