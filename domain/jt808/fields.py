"""The protocol's field types (BYTE, WORD, DWORD, BCD[n], BYTE[n], STRING), read from a body and written into one.

All integers are big-endian (JT/T 808 section 4.3). Text is GBK; fixed-width text fields are padded with 0x00
(some terminals pad with spaces), so padding is stripped on reading.
"""

from __future__ import annotations

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame


class Reader:
    """Reads fields in order from one body or header; running past the end raises `truncated`.

    Args:
        data: the bytes to read.
        what: names the message in error details, e.g. "0x0200".
    """

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._at = 0
        self._what = what

    @property
    def remaining(self) -> int:
        return len(self._data) - self._at

    def take(self, size: int, field: str) -> bytes:
        """The next `size` bytes (BYTE[n])."""
        if size > self.remaining:
            raise InvalidFrame(
                Reason.TRUNCATED,
                f"{self._what}: {field} needs {size} bytes at offset {self._at}, {self.remaining} left",
            )
        chunk = self._data[self._at : self._at + size]
        self._at += size
        return chunk

    def rest(self) -> bytes:
        """Everything not read yet (a STRING that ends the body, or the additional items)."""
        chunk = self._data[self._at :]
        self._at = len(self._data)
        return chunk

    def byte(self, field: str) -> int:
        return self.take(1, field)[0]

    def word(self, field: str) -> int:
        return int.from_bytes(self.take(2, field), "big")

    def dword(self, field: str) -> int:
        return int.from_bytes(self.take(4, field), "big")

    def bcd(self, size: int, field: str) -> str:
        """BCD[n]: two decimal digits a byte; a nibble above 9 is refused as `invalid_field`."""
        return bcd_digits(self.take(size, field), f"{self._what}: {field}")

    def text(self, size: int, field: str) -> str:
        """A fixed-width GBK text field, its padding stripped."""
        return gbk(self.take(size, field), f"{self._what}: {field}")


def bcd_digits(data: bytes, field: str) -> str:
    """The decimal digits of a BCD field, as sent (leading zeros kept)."""
    digits = data.hex()
    if not digits.isdigit():
        raise InvalidFrame(Reason.INVALID_FIELD, f"{field}: {digits} is not BCD")
    return digits


def gbk(data: bytes, field: str) -> str:
    """GBK text without the 0x00 or space padding of a fixed-width field."""
    try:
        return data.rstrip(b"\x00 ").decode("gbk")
    except UnicodeDecodeError:
        raise InvalidFrame(Reason.INVALID_FIELD, f"{field}: {data.hex()} is not GBK text") from None


def to_bcd(digits: str, size: int) -> bytes:
    """`digits` as BCD[size], zero-padded on the left; more digits than fit is a programming error."""
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 2 * size:
        raise ValueError(f"{digits!r} does not fit BCD[{size}]")
    return bytes.fromhex(digits.rjust(2 * size, "0"))
