"""Whether a meter's readings cover a period whole: the rule behind the `incomplete_period` flag.

Consumption comes from register deltas, so a period's figure is exact however many readings in between were lost,
as long as readings bracket it: one at or before its start (or the meter was connected during it) and one at or
after its end, with no delta inside held for staff (a gap longer than energy_max_gap_days). Otherwise the
consumption after the meter's last reading, before its first, or in the held gap is not (yet) counted: the figure
is too low, and ranking it would put the institution ahead for want of data. Collectors buffer about 30 days, so a
recent period often completes later, when the late readings arrive. A period that is not over is never complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MeterSpan:
    """What is known of a meter's readings, whenever they were made.

    Args:
        connected: its installation (local midnight of the registry's date); None: unknown, and then its first
            reading is taken as its connection (as data quality's completeness does).
        replaced: when it was replaced (the registry's date), after which it reports no more; None: in service.
        earliest: its first reading; None: it never reported.
        latest: its last reading.
        held: the deltas held for staff (gaps longer than energy_max_gap_days, not decided), as (start, end).
    """

    connected: datetime | None
    replaced: datetime | None
    earliest: datetime | None
    latest: datetime | None
    held: tuple[tuple[datetime, datetime], ...] = ()


def in_period(meter: MeterSpan, begin: datetime, stop: datetime) -> bool:
    """Whether the meter counts in the period [begin, stop): not connected after it nor replaced before it."""
    return not (meter.connected is not None and meter.connected >= stop) and not (
        meter.replaced is not None and meter.replaced <= begin
    )


def covers(meter: MeterSpan, begin: datetime, stop: datetime, now: datetime) -> bool:
    """Whether the meter's readings cover [begin, stop) whole, as of `now` (see the module's rule)."""
    if stop > now or meter.earliest is None or meter.latest is None:
        return False
    end = min(stop, meter.replaced) if meter.replaced is not None else stop
    if meter.latest < end:
        return False
    # Counted from the later of the period's start and the meter's connection: a meter connected before the period
    # needs a reading at or before its start; one connected during it (or of unknown connection) counts from its
    # first reading, as nothing before that was its to count.
    if meter.connected is not None and meter.connected <= begin and meter.earliest > begin:
        return False
    return not any(start < stop and finish > begin for start, finish in meter.held)
