"""Positions: every vehicle of the network live on one map (GeoJSON)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api import positions
from api.deps import PoolDep, ScopeDep, SettingsDep, require
from api.errors import Text, responses
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
)
async def live_positions(
    pool: PoolDep,
    scope: ScopeDep,
    settings: SettingsDep,
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
) -> LiveCollection:
    """The newest position of each vehicle you may see, as a GeoJSON FeatureCollection ([lon, lat])."""
    box = _bbox(bbox) if bbox is not None else None
    async with pool.connection() as conn:
        return await positions.live(
            conn,
            scope,
            offline_after=settings.vehicle_offline_seconds,
            organisation_id=organisation_id,
            bbox=box,
            states=state or (),
        )
