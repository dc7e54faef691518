"""Who may do what: roles, their permissions, what is audited, and the organisations a user's queries may touch.

This module is the one table of access rules. Routes name a permission (`Depends(require("institutions:read"))`
in api/deps.py) and take a `Scope` (db/scope.py: the organisations a query may touch); nothing else decides access.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, get_args

from db.scope import Scope

Role = Literal["admin", "dispatcher", "energy_staff", "unit_user", "auditor"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)

Permission = Literal[
    "me:read",  # one's own account (GET /users/me)
    "me:write",  # one's own sessions (logout)
    "organisations:read",
    "departments:read",  # the supervising departments (主管部门): every role, as they name no unit's data
    "institutions:read",
    "meters:read",
    "vehicles:read",
    "vehicles:write",  # create and change vehicles and their lifecycle, and set units' allocation quotas (编制)
    "registry:write",  # create and change institutions, their yearly facts, data-centre rooms, departments, meters
    "readings:read",  # consumption series and data quality of meters
    "entries:write",  # enter, correct and withdraw consumption from bills, delivery notes and manual entries
    "indicators:read",  # indicators, rankings, key units
    "exports:read",  # XLSX and CSV reports
    "factors:read",
    "factors:write",
    "quotas:read",
    "quotas:write",
    "requests:read",  # trip requests (用车申请) and their history
    "requests:submit",  # submit, cancel and evaluate a unit's own requests
    "requests:dispatch",  # approve or reject, dispatch a vehicle and driver, record departure and return
    "drivers:read",
    "drivers:write",
    "alerts:read",
    "alerts:write",  # acknowledge with a note, assign, close
    "notifications:read",  # notification rules and the record of deliveries (admins only)
    "notifications:write",  # keep notification rules: who is told of what, and how
    "reports:read",  # dispatch reports: dispatches, kilometres, utilisation, new-energy shares, alerts per unit
    "fuel:write",  # import fuel-card and charging statements of the scope's vehicles
    "areas:read",
    "areas:write",
    "calendar:read",  # the working calendar: holidays and make-up workdays (调休)
    "calendar:write",  # kept by admins only: it decides supervision's off hours and energy's working hours
    "users:read",
    "users:write",
    "audit:read",
    "dead_letters:read",  # refused messages and frames, by reason, device and time (admins only: any device's)
]
PERMISSIONS: Final[tuple[Permission, ...]] = get_args(Permission)

# The working calendar decides figures everyone reads (off-hours alerts, weekend load), and the supervising departments
# name no unit's data: everyone may see them.
_EVERYONE: frozenset[Permission] = frozenset({"me:read", "me:write", "calendar:read", "departments:read"})
_REGISTRY: frozenset[Permission] = frozenset(
    {"organisations:read", "institutions:read", "meters:read", "vehicles:read"}
)
_ENERGY_READ: frozenset[Permission] = frozenset(
    {"readings:read", "indicators:read", "exports:read", "factors:read", "quotas:read"}
)
_DISPATCH: frozenset[Permission] = frozenset(
    {
        "organisations:read",
        "institutions:read",
        "vehicles:read",
        "vehicles:write",
        "requests:read",
        "requests:dispatch",
        "drivers:read",
        "drivers:write",
        "alerts:read",
        "alerts:write",
        "areas:read",
        "areas:write",
        "reports:read",
        "fuel:write",
    }
)

ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    "admin": frozenset(PERMISSIONS),
    # The dispatch centre sees every unit's vehicles and where they belong, keeps the vehicle registry (the vehicle
    # authority's: lifecycle and allocation quotas) and the drivers, and runs requests and dispatch.
    "dispatcher": _EVERYONE | _DISPATCH,
    # Energy staff see every institution and meter, and keep the factors and quotas. They handle the energy events
    # (alerts about institutions and meters: docs/access.md says why the alerts' permissions, not a kind of their own).
    "energy_staff": _EVERYONE
    | _ENERGY_READ
    | {
        "organisations:read",
        "institutions:read",
        "meters:read",
        "registry:write",
        "factors:write",
        "quotas:write",
        "entries:write",
        "alerts:read",
        "alerts:write",
    },
    # A unit sees its own buildings, meters, vehicles and their figures (the Scope limits which).
    "unit_user": _EVERYONE
    | _REGISTRY
    | _ENERGY_READ
    # A unit enters its own institutions' bills and delivery notes (entries:write); which source counts is energy
    # staff's choice (registry:write).
    | {
        "requests:read",
        "requests:submit",
        "drivers:read",
        "alerts:read",
        "areas:read",
        "reports:read",
        "entries:write",
        "fuel:write",
    },
    # Supervisors (discipline inspection, finance, audit, police) read every unit's data; each read is recorded.
    "auditor": _EVERYONE
    | _REGISTRY
    | _ENERGY_READ
    | {"requests:read", "drivers:read", "alerts:read", "areas:read", "reports:read"},
}

# Roles whose data is limited to the organisations assigned to the user; the others see all of them.
SCOPED_ROLES: Final[frozenset[Role]] = frozenset({"unit_user"})

# Reads recorded in the audit log whoever makes them (besides every read by an auditor).
AUDITED_READS: Final[frozenset[Permission]] = frozenset({"users:read", "audit:read"})

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def allows(role: Role, permission: Permission) -> bool:
    """Whether the role holds the permission."""
    return permission in ROLE_PERMISSIONS[role]


def audited(role: Role, permission: Permission, method: str, *, allowed: bool) -> bool:
    """Whether a request goes into the audit log: every write, every read by an auditor, the reads of
    AUDITED_READS, and every refused permission."""
    return not allowed or method.upper() not in _READ_METHODS or role == "auditor" or permission in AUDITED_READS


def assignment_problem(role: Role, organisations: Iterable[str]) -> str | None:
    """What is wrong with giving a user this role and these organisations, or None when nothing is."""
    orgs = list(organisations)
    if role in SCOPED_ROLES and not orgs:
        return f"a {role} needs at least one organisation (--organisation ORG, or 'organisations': [...])"
    if role not in SCOPED_ROLES and orgs:
        return f"a {role} sees every organisation: give organisations to unit users only"
    return None


@dataclass(frozen=True, slots=True)
class Principal:
    """The user behind a request, as loaded for this request (role changes take effect at once)."""

    id: int
    name: str
    role: Role
    organisations: frozenset[str]
    session_id: str


def scope_of(user: Principal) -> Scope:
    """The organisations a user's queries may touch: a scoped role's own, every one for the others."""
    return Scope(user.organisations if user.role in SCOPED_ROLES else None)
