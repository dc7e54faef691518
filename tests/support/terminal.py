"""A JT/T 808 terminal for the gateway's tests: a real TCP connection, the codec's terminal encoders
(domain/jt808/terminal.py), and the platform's answers read back with the codec's framing and header."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.jt808 import terminal as t
from domain.jt808.framing import Frame, Framer
from domain.jt808.header import Header, Version, parse_packet
from domain.jt808.location import Alarm, Location, Status
from domain.jt808.responses import GENERAL_RESPONSE, REGISTRATION_RESPONSE, RegistrationResult, Result


@dataclass(frozen=True)
class Answer:
    """A platform message: its header and body."""

    header: Header
    body: bytes

    @property
    def reply_serial(self) -> int:
        return int.from_bytes(self.body[0:2], "big")

    @property
    def result(self) -> int:
        """0x8001's result, or 0x8100's."""
        return self.body[4] if self.header.message_id == GENERAL_RESPONSE else self.body[2]


def fixes(count: int, *, start: datetime | None = None, mileage: float = 1000.0) -> list[Location]:
    """`count` fixes a minute apart, moving north-east, each with its odometer (item 0x01) and satellites."""
    first = (start or datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    return [
        Location(
            alarm=Alarm(0),
            status=Status.ACC | Status.POSITIONED,
            latitude=round(28.68 + i * 0.001, 6),
            longitude=round(115.89 + i * 0.001, 6),
            altitude=40,
            speed=36.5,
            direction=45,
            time=first + timedelta(minutes=i),
            mileage=round(mileage + i * 0.6, 1),
            satellites=9,
        )
        for i in range(count)
    ]


class Terminal:
    """One terminal's connection to the gateway; `plate` is what its registration says of its vehicle."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, phone: str, version: Version, plate: str
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.phone = phone
        self.version = version
        self.plate = plate
        self.serial = 0
        self._framer = Framer()
        self._answers: list[Answer] = []

    @classmethod
    async def connect(cls, port: int, phone: str, version: Version = Version.V2013, *, plate: str = "") -> Terminal:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, phone, version, plate)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    async def send(self, message_id: int, body: bytes, *, packet_bytes: int = 1023) -> int:
        """Send a message (in several packets when its body is longer than `packet_bytes`); its last serial."""
        frames = t.frames(message_id, self.phone, self.serial, body, self.version, packet_bytes=packet_bytes)
        self.serial = (self.serial + len(frames)) % 65536
        self.writer.write(b"".join(frames))
        await self.writer.drain()
        return (self.serial - 1) % 65536

    async def answer(self, seconds: float = 15.0) -> Answer:
        """The platform's next message."""
        async with asyncio.timeout(seconds):
            while not self._answers:
                data = await self.reader.read(4096)
                if not data:
                    raise ConnectionError("the gateway closed the connection")
                for item in self._framer.feed(data):
                    assert isinstance(item, Frame), item
                    packet = parse_packet(item.packet)
                    self._answers.append(Answer(packet.header, packet.body))
        return self._answers.pop(0)

    async def ask(self, message_id: int, body: bytes, *, packet_bytes: int = 1023) -> Answer:
        """Send a message and read the answer to it."""
        serial = await self.send(message_id, body, packet_bytes=packet_bytes)
        answer = await self.answer()
        assert answer.reply_serial == serial, (answer, serial)
        return answer

    async def register(self, plate: str | None = None, plate_color: int = 2) -> tuple[int, bytes]:
        """0x0100 naming `plate` (the terminal's own by default, sent without the display dot as terminals do);
        the 0x8100's result and the authentication code."""
        sent = (self.plate if plate is None else plate).replace("·", "")
        body = t.registration_body(
            self.version, province=36, city=100, maker="YW001", model="YW-T1", terminal_id="T000001",
            plate_color=plate_color, plate=sent,
        )  # fmt: skip
        answer = await self.ask(t.REGISTRATION, body)
        assert answer.header.message_id == REGISTRATION_RESPONSE
        return answer.result, answer.body[3:]

    async def authenticate(self, code: bytes) -> int:
        answer = await self.ask(t.AUTHENTICATION, t.authentication_body(self.version, code, imei="8612345678901"))
        assert answer.header.message_id == GENERAL_RESPONSE
        return answer.result

    async def log_in(self) -> None:
        """Register and authenticate, as a terminal does on its first connection."""
        result, code = await self.register()
        assert result == RegistrationResult.SUCCESS
        assert await self.authenticate(code) == Result.SUCCESS

    async def report(self, location: Location) -> int:
        return (await self.ask(t.LOCATION_REPORT, t.location_body(location))).result

    async def batch(self, locations: Sequence[Location], *, blind: bool = True, packet_bytes: int = 1023) -> int:
        body = t.batch_body(locations, blind=blind)
        return (await self.ask(t.LOCATION_BATCH, body, packet_bytes=packet_bytes)).result
