"""The one error of the device contract: a message (or one item of it) that cannot be stored."""

from __future__ import annotations

from domain.dead_letter import Reason


class InvalidMessage(Exception):
    """Raised by a parser; becomes one dead-letter row and never reaches the writer as data."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
