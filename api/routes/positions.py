"""Positions: every vehicle of the network live on one map (GeoJSON)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from api.deps import ScopeDep, require
from api.errors import Text, responses
from api.live import Filter, Live
from api.positions import LiveCollection, LiveState

router = APIRouter(tags=["positions"])
_NUMBER = r"-?[0-9]+(\.[0-9]+)?"
_BBOX = rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$"


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="bbox is west,south,east,north in degrees"
        ) from None
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="bbox needs -180 <= west <= east <= 180 and -90 <= south <= north <= 90",
        )
    return west, south, east, north


@router.get(
    "/positions/live",
    dependencies=[Depends(require("vehicles:read"))],
    # 422 carries a sentence for a bad box, FastAPI's list for other bad parameters.
    responses=responses(401, 403, 422),
    response_model=LiveCollection,
)
async def live_positions(
    request: Request,
    scope: ScopeDep,
    *,
    organisation_id: Annotated[Text | None, Query(description="only this unit's vehicles")] = None,
    bbox: Annotated[
        str | None,
        Query(
            description="west,south,east,north (WGS-84 degrees), west <= east and south <= north",
            examples=["117.1,29.2,117.3,29.4"],
            pattern=_BBOX,
        ),
    ] = None,
    state: Annotated[
        list[LiveState] | None, Query(description="only vehicles in these states (repeat: any of them)")
    ] = None,
) -> Response:
    """The newest position of each vehicle you may see, in id order, as a GeoJSON FeatureCollection ([lon, lat]),
    holding every position stored before the request. Retired vehicles are not on the map."""
    box = _bbox(bbox) if bbox is not None else None
    live: Live = request.app.state.live
    feed = await live.current()
    wanted = Filter.of(scope, organisation_id=organisation_id, bbox=box, states=state or ())
    # Written by the feed, which keeps each vehicle's JSON: no model per vehicle per request.
    return Response(feed.snapshot(wanted, datetime.now(UTC)), media_type="application/json")
