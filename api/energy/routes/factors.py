"""Factors: standard-coal and carbon factors as versioned data, listed for all and added by energy staff."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, status

from api.access.audit import audit_entry
from api.deps import PoolDep, require
from api.energy import factors
from api.energy.factors import FactorSet, FactorSetCreate, FactorVersion
from api.errors import AUTHENTICATED, NotFound, responses
from api.fields import PathId

router = APIRouter(prefix="/factors", tags=["energy"])


@router.get("", dependencies=[Depends(require("factors:read"))], responses=AUTHENTICATED)
async def list_factor_versions(pool: PoolDep) -> list[FactorVersion]:
    """Every factor version with its method (standard coal: 当量值 or 等价值), source, intended use and what in it
    is unconfirmed; the newest calorific-equivalent (当量值) standard-coal version and the newest carbon version are
    the defaults of computations."""
    async with pool.connection() as conn:
        return await factors.versions(conn)


@router.get("/{version}", dependencies=[Depends(require("factors:read"))], responses=responses(401, 403, 404))
async def get_factor_set(pool: PoolDep, version: PathId) -> FactorSet:
    """A version's values."""
    async with pool.connection() as conn:
        found = await factors.factor_set(conn, version)
    if found is None:
        raise NotFound(f"no factor version {version}")
    return found


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require("factors:write"))],
    responses=responses(401, 403, 409, 422),
)
async def add_factor_set(request: Request, pool: PoolDep, body: FactorSetCreate) -> FactorSet:
    """Add a factor version (e.g. the electricity factors of a newly published year). Versions are never
    changed, so that a published figure can be recomputed: 409 when the name is taken."""
    audit_entry(request).resource_ids.append(body.version)
    async with pool.connection() as conn:
        await factors.create(conn, body)
        found = await factors.factor_set(conn, body.version)
    assert found is not None
    return found
