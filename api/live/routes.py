"""Positions: every vehicle of the network live on one map, as GeoJSON and as a stream of its changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, WebSocket

from api.deps import LiveDep, PoolDep, ScopeDep, TokensDep, require
from api.errors import Refused, responses
from api.fields import Text
from api.live import stream
from api.live.model import LiveCollection
from api.live.subscriptions import BBOX_PATTERN, Filter, parse_bbox
from domain.vehicles import LiveState

router = APIRouter(prefix="/positions", tags=["positions"])


@router.get(
    "/live",
    dependencies=[Depends(require("vehicles:read"))],
    # 422 carries a sentence for a bad box, FastAPI's list for other bad parameters.
    responses=responses(401, 403, 422),
    response_model=LiveCollection,
)
async def live_positions(
    live: LiveDep,
    scope: ScopeDep,
    *,
    organisation_id: Annotated[Text | None, Query(description="only this unit's vehicles")] = None,
    bbox: Annotated[
        str | None,
        Query(
            description="west,south,east,north (WGS-84 degrees), west <= east and south <= north",
            examples=["117.1,29.2,117.3,29.4"],
            pattern=BBOX_PATTERN,
        ),
    ] = None,
    state: Annotated[
        list[LiveState] | None, Query(description="only vehicles in these states (repeat: any of them)")
    ] = None,
    since: Annotated[
        str | None,
        Query(
            description="the `cursor` of an earlier answer with the same filters: only the vehicles changed since "
            "then, and the ids of those to drop (`whole` false); the whole map (`whole` true, `reason` says why) "
            "if the cursor is too old (YIWANG_LIVE_RESUME_SECONDS) or of another API process",
            max_length=100,
        ),
    ] = None,
) -> Response:
    """The newest position of each vehicle you may see, in id order, as a GeoJSON FeatureCollection ([lon, lat]),
    holding every position stored before the request, and its `cursor`. Retired vehicles are not on the map.
    A client that follows the map by polling asks with `since=<cursor>` and gets only what changed."""
    try:
        box = parse_bbox(bbox) if bbox is not None else None
    except ValueError as exc:
        raise Refused(str(exc)) from None
    feed = await live.current()
    wanted = Filter.of(scope, organisation_id=organisation_id, bbox=box, states=state or ())
    # Written by the feed, which keeps each vehicle's JSON: no model per vehicle per request.
    try:
        body = feed.snapshot(wanted, datetime.now(UTC), since)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    return Response(body, media_type="application/json")


@router.websocket("/stream")
async def stream_positions(websocket: WebSocket, live: LiveDep, pool: PoolDep, tokens: TokensDep) -> None:
    """The live map: a snapshot as GET /positions/live, then the changes (api/live/stream.py)."""
    await stream.converse(websocket, live, pool, tokens)
