"""The codec's one error: a frame or message that cannot be read, with the reason its dead letter records."""

from __future__ import annotations

from domain.dead_letter import Reason


class InvalidFrame(Exception):
    """Raised by the codec for bytes a terminal sent that cannot be read; never for a fault of the platform.

    Args:
        reason: the machine reason code, as the dead-letter table and the gateway's metrics record it.
        detail: what was wrong, for a person reading the dead letter.
    """

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
