"""Trip requests (用车申请): the state machine, as one table.

A request goes submitted → approved or rejected → dispatched (a vehicle and a driver, 派车) → under way (出车) →
returned (还车) → evaluated, and may be cancelled until it departs. `TRANSITIONS` says which action leads from
which state to which; a pair not in it is refused with `refusal`, which says what can be done instead.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

State = Literal["submitted", "approved", "rejected", "dispatched", "under_way", "returned", "evaluated", "cancelled"]
STATES: Final[tuple[State, ...]] = get_args(State)
Action = Literal["submit", "approve", "reject", "dispatch", "depart", "return", "cancel", "evaluate"]
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)

# A request that holds its vehicle and driver: at most one of these per vehicle and per driver. A vehicle on one is
# out on an approved dispatch (supervision raises no dispatch-less alerts for it).
OPEN_STATES: Final[frozenset[State]] = frozenset({"dispatched", "under_way"})
# A request whose trip is over: its vehicle came back.
DONE_STATES: Final[frozenset[State]] = frozenset({"returned", "evaluated"})
# A request still waiting for a vehicle; the dispatcher may look ahead before approving it.
WAITING_STATES: Final[frozenset[State]] = frozenset({"submitted", "approved"})

# The state machine: (state, action) -> the next state. A submission starts in START; a pair not here is refused.
START: Final[State] = "submitted"
TRANSITIONS: Final[dict[tuple[State, Action], State]] = {
    ("submitted", "approve"): "approved",
    ("submitted", "reject"): "rejected",
    ("submitted", "cancel"): "cancelled",
    ("approved", "reject"): "rejected",  # approved, but no vehicle or driver can be found for it
    ("approved", "dispatch"): "dispatched",
    ("approved", "cancel"): "cancelled",
    ("dispatched", "depart"): "under_way",
    ("dispatched", "cancel"): "cancelled",  # the vehicle and driver are free again
    ("under_way", "return"): "returned",
    ("returned", "evaluate"): "evaluated",
}


def next_state(state: State, action: Action) -> State | None:
    """The state `action` leads to from `state`, or None when it is not allowed there."""
    return TRANSITIONS.get((state, action))


def actions_from(state: State) -> list[Action]:
    """The actions allowed from `state`, in the order of ACTIONS (none: the request is closed)."""
    return [action for action in ACTIONS if (state, action) in TRANSITIONS]


def refusal(request_id: int, state: State, action: Action) -> str:
    """Why `action` cannot be taken on a request in `state`, in one sentence with what can be done instead."""
    sources = [source for (source, act) in TRANSITIONS if act == action]
    possible = actions_from(state)
    now = f"from {state} it can: {', '.join(possible)}" if possible else f"{state} is final"
    return f"request {request_id} is {state}: {action} is allowed only from {' or '.join(sources)}; {now}"
