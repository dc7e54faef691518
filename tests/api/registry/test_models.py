"""The registry's request bodies are written out class by class (no model factory): a change takes the same fields
and the same limits as a creation, so that what one may create one may change into, and nothing else."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from api.registry.models import (
    DriverCreate,
    DriverUpdate,
    InstitutionCreate,
    InstitutionUpdate,
    MeterCreate,
    MeterUpdate,
    VehicleCreate,
    VehicleUpdate,
)

PAIRS = [
    (InstitutionCreate, InstitutionUpdate),
    (MeterCreate, MeterUpdate),
    (VehicleCreate, VehicleUpdate),
    (DriverCreate, DriverUpdate),
]


@pytest.mark.parametrize(("create", "update"), PAIRS, ids=[c.__name__ for c, _ in PAIRS])
def test_a_change_has_the_fields_and_limits_of_a_creation_but_the_id(
    create: type[BaseModel], update: type[BaseModel]
) -> None:
    assert set(update.model_fields) == set(create.model_fields) - {"id"}
    for name, field in update.model_fields.items():
        limits = sorted(map(repr, field.metadata))
        assert limits == sorted(map(repr, create.model_fields[name].metadata)), name
        assert not field.is_required(), f"{name}: a change gives only the fields it changes"
