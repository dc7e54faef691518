"""The trip request's state machine: every state reached from the submission, closed states final, refusals that
say what can be done instead."""

from __future__ import annotations

from domain.trip_requests import STATES, TRANSITIONS, State, actions_from, next_state, refusal


def test_the_state_table() -> None:
    assert next_state("submitted", "approve") == "approved"
    assert next_state("approved", "dispatch") == "dispatched"
    assert next_state("dispatched", "depart") == "under_way"
    assert next_state("under_way", "return") == "returned"
    assert next_state("returned", "evaluate") == "evaluated"
    assert next_state("under_way", "cancel") is None  # once it has left, it comes back and is returned
    assert next_state("submitted", "dispatch") is None  # approval first
    # Closed states lead nowhere; every state is reached from the submission.
    assert [state for state in STATES if not actions_from(state)] == ["rejected", "evaluated", "cancelled"]
    reached: set[State] = {"submitted"}
    while True:
        more = {target for (source, _), target in TRANSITIONS.items() if source in reached} - reached
        if not more:
            break
        reached |= more
    assert reached == set(STATES)
    assert "submit" not in {action for _, action in TRANSITIONS}  # a submission is a new request
    assert refusal(7, "dispatched", "approve") == (
        "request 7 is dispatched: approve is allowed only from submitted; from dispatched it can: depart, cancel"
    )
    assert refusal(7, "evaluated", "evaluate").endswith("evaluated is final")
