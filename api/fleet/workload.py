"""How much a report that judges every fix may take on in one request. The geofence and matching reports run pure
Python over each vehicle's positions (in a worker thread, so the API's event loop keeps serving); their work grows
with vehicles x days, so a request over YIWANG_REPORT_MAX_VEHICLE_DAYS is refused before anything is read."""

from __future__ import annotations

from api.errors import Refused
from yiwang.settings import Settings


class TooMuchWork(Refused):
    """A report over more vehicle-days than one request may cover (422)."""


def check_vehicle_days(what: str, vehicles: int, days: int, settings: Settings, *, narrower: str = "") -> None:
    """Refuse (TooMuchWork) a report of `vehicles` over `days` beyond the setting; the message says how to narrow
    the request (`narrower`: another way than fewer days or one unit, e.g. one area)."""
    limit = settings.report_max_vehicle_days
    if vehicles * days > limit:
        raise TooMuchWork(
            f"the {what} would judge {vehicles} vehicles over {days} days ({vehicles * days} vehicle-days), more than "
            f"one request may ({limit}, YIWANG_REPORT_MAX_VEHICLE_DAYS): ask for fewer days or one unit "
            f"(organisation_id){narrower}"
        )
