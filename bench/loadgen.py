"""A load generator that outruns any one subscriber: raw-socket MQTT 3.1.1 QoS 1 publishers.

Each publisher process pre-builds its CONNECT and every PUBLISH packet (packet ids cycling through
1..65535), then writes them in large chunks with `socket.sendall` while a reader thread counts the
broker's PUBACKs. A packet id is never reused before its PUBACK has arrived: at most `window`
messages are unacknowledged, and `window` < 65535. No client library sits between the packets and
the socket, so the broker, not Python, is what limits the rate.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from pathlib import Path

Message = tuple[str, bytes]

_MAX_ID = 65535
_PUBLISH_QOS1 = 0x32
_PUBACK = 0x40
_DISCONNECT = b"\xe0\x00"


def _varint(n: int) -> bytes:
    """MQTT's remaining-length encoding."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def connect_packet(client_id: str, *, keepalive: int = 0) -> bytes:
    """CONNECT, MQTT 3.1.1, clean session; keepalive 0 (the broker never expects a ping)."""
    body = _utf8("MQTT") + bytes([4, 0x02]) + keepalive.to_bytes(2, "big") + _utf8(client_id)
    return bytes([0x10]) + _varint(len(body)) + body


def packet_id(position: int) -> int:
    """The packet id of the `position`-th message of a connection."""
    return position % _MAX_ID + 1


def publish_packet(topic: str, payload: bytes, pid: int) -> bytes:
    """PUBLISH at QoS 1."""
    variable = _utf8(topic) + pid.to_bytes(2, "big")
    return bytes([_PUBLISH_QOS1]) + _varint(len(variable) + len(payload)) + variable + payload


def _puback(pid: int) -> bytes:
    return bytes([_PUBACK, 2]) + pid.to_bytes(2, "big")


class Connection:
    """One MQTT 3.1.1 publishing connection, its reader thread counting PUBACKs.

    `acked` is the length of the longest prefix of sent messages (in send order) that the broker has
    all acknowledged. Mosquitto acknowledges in order, so the reader compares what arrives with the
    PUBACKs expected in send order (one memory compare); anything else is parsed packet by packet.
    """

    def __init__(self, port: int, client_id: str, *, window: int = 10_000) -> None:
        if not 0 < window < _MAX_ID:
            raise ValueError(f"window must be in 1..{_MAX_ID - 1}")
        self.window = window
        self.acked = 0
        self._expected = bytearray()  # the PUBACK stream expected, in send order, from message 0
        self._done = bytearray()  # per message: acknowledged out of order
        self._sent = 0
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._sock = socket.create_connection(("127.0.0.1", port))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self._sock.sendall(connect_packet(client_id))
        connack = self._recv_exactly(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise ConnectionError(f"CONNACK refused: {connack!r}")
        self._reader = threading.Thread(target=self._read, daemon=True)

    def _recv_exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return data

    def expect(self, count: int) -> None:
        """Prepare to send `count` messages (with ids from `packet_id`); starts the reader."""
        self._expected = bytearray(b"".join(_puback(packet_id(i)) for i in range(count)))
        self._done = bytearray(count)
        self._reader.start()

    def _read(self) -> None:
        buf = bytearray()
        total = len(self._done)
        try:
            while self.acked < total:
                data = self._sock.recv(1 << 20)
                if not data:
                    raise ConnectionError("broker closed the connection")
                buf += data
                whole = len(buf) - len(buf) % 4
                start = self.acked * 4
                if buf[:whole] == self._expected[start : start + whole]:
                    acked = self.acked + whole // 4
                    del buf[:whole]
                else:
                    acked = self._parse(buf)
                while acked < total and self._done[acked]:
                    acked += 1
                with self._cond:
                    self.acked = acked
                    self._cond.notify_all()
        except BaseException as exc:
            with self._cond:
                self._error = exc
                self._cond.notify_all()

    def _parse(self, buf: bytearray) -> int:
        """The slow path: whole packets from `buf` (consumed), PUBACKs marked by message position."""
        at = 0
        base = self.acked
        while at + 2 <= len(buf):
            length, shift, i = 0, 0, at + 1
            while i < len(buf):
                length |= (buf[i] & 0x7F) << shift
                shift += 7
                i += 1
                if not buf[i - 1] & 0x80:
                    break
            else:
                break
            if i + length > len(buf):
                break
            if buf[at] & 0xF0 == _PUBACK:
                pid = int.from_bytes(buf[i : i + 2], "big")
                # The unacknowledged ids are unique: their positions lie in [base, base + 65535).
                self._done[base + (pid - 1 - base) % _MAX_ID] = 1
            at = i + length
        del buf[:at]
        return base

    def send(self, data: bytes, count: int) -> None:
        """Send `count` pre-built packets, waiting first until the window has room for them."""
        with self._cond:
            while self._sent + count - self.acked > self.window and self._error is None:
                self._cond.wait(1)
            if self._error is not None:
                raise ConnectionError("reader failed") from self._error
        self._sock.sendall(data)
        self._sent += count

    def wait_acked(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.acked < self._sent and self._error is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self._sent - self.acked} PUBACKs missing")
                self._cond.wait(1)
            if self._error is not None:
                raise ConnectionError("reader failed") from self._error

    def close(self) -> None:
        try:
            self._sock.sendall(_DISCONNECT)
        finally:
            self._sock.close()


def _chunks(messages: Sequence[Message], chunk: int) -> list[tuple[bytes, int]]:
    out = []
    for start in range(0, len(messages), chunk):
        part = messages[start : start + chunk]
        data = b"".join(publish_packet(t, p, packet_id(start + k)) for k, (t, p) in enumerate(part))
        out.append((data, len(part)))
    return out


def _publish_share(
    port: int,
    messages: Sequence[Message],
    *,
    window: int,
    chunk: int,
    barrier: Barrier,
    result: mp.Queue[tuple[float, float]],
) -> None:
    chunks = _chunks(messages, chunk)
    conn = Connection(port, f"loadgen-{os.getpid()}", window=window)
    conn.expect(len(messages))
    barrier.wait()
    started = time.perf_counter()
    for data, count in chunks:
        conn.send(data, count)
    conn.wait_acked()
    result.put((started, time.perf_counter()))
    conn.close()


@dataclass(frozen=True)
class Published:
    """What one `publish` achieved, from the first byte sent to the last PUBACK received."""

    messages: int
    seconds: float
    broker_cpu: float | None  # share of one core the broker used meanwhile, if its pid was given

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def publish(
    port: int,
    messages: Sequence[Message],
    *,
    processes: int = 1,
    window: int = 10_000,
    chunk: int = 500,
    broker_pid: int | None = None,
) -> Published:
    """Publish every message at QoS 1 as fast as the broker takes them (packet building is not timed).

    Args:
        processes: publishers in parallel, each with its share of the messages, each its connection.
        window: most unacknowledged messages per connection.
        chunk: messages per `sendall`.
        broker_pid: sample this process's CPU time while the messages flow.
    """
    ctx = mp.get_context("fork")
    result: mp.Queue[tuple[float, float]] = ctx.Queue()
    processes = max(1, min(processes, len(messages)))
    barrier = ctx.Barrier(processes + 1)
    # Contiguous shares keep each device's messages in order within one connection.
    size = -(-len(messages) // processes)
    shares = [messages[i * size : (i + 1) * size] for i in range(processes)]
    workers = [
        ctx.Process(
            target=_publish_share,
            args=(port, share),
            kwargs={"window": window, "chunk": chunk, "barrier": barrier, "result": result},
            daemon=True,
        )
        for share in shares
    ]
    for w in workers:
        w.start()
    barrier.wait(timeout=120)
    cpu_before = cpu_seconds(broker_pid) if broker_pid else 0.0
    times: list[tuple[float, float]] = []
    while len(times) < len(workers):
        try:
            times.append(result.get(timeout=1))
        except queue.Empty:
            failed = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if failed:
                raise RuntimeError(f"publisher exited with {failed[0]}") from None
    cpu_after = cpu_seconds(broker_pid) if broker_pid else 0.0
    for w in workers:
        w.join(30)
        if w.exitcode != 0:
            raise RuntimeError(f"publisher exited with {w.exitcode}")
    seconds = max(end for _, end in times) - min(start for start, _ in times)
    return Published(len(messages), seconds, (cpu_after - cpu_before) / seconds if broker_pid else None)


def _publish_timed(
    port: int, topics: Sequence[str], body: bytes | Sequence[bytes], rate: float, seconds: float
) -> None:
    total = int(rate * seconds)
    conn = Connection(port, f"loadgen-timed-{os.getpid()}", window=10_000)
    conn.expect(total)
    started = time.perf_counter()
    sent = 0
    while sent < total:
        due = min(total, int((time.perf_counter() - started) * rate) + 1)
        if due > sent:
            now_ms = str(int(time.time() * 1000)).encode()
            if isinstance(body, bytes):
                payload = body.replace(b"TIME", now_ms)
                data = b"".join(
                    publish_packet(topics[i % len(topics)], payload, packet_id(i)) for i in range(sent, due)
                )
            else:
                data = b"".join(
                    publish_packet(topics[i % len(topics)], body[i % len(body)].replace(b"TIME", now_ms), packet_id(i))
                    for i in range(sent, due)
                )
            conn.send(data, due - sent)
            sent = due
        time.sleep(max(0.0, started + sent / rate - time.perf_counter()))
    conn.wait_acked()
    conn.close()


def publish_timed(
    port: int, topics: Sequence[str], body: bytes | Sequence[bytes], *, rate: float, seconds: float
) -> None:
    """Publish `body` (its TIME replaced by the epoch ms of the moment it is sent) at a fixed rate to the topics in
    turn; or bodies in turn, one per topic (the i-th message is the i-th body's)."""
    ctx = mp.get_context("fork")
    worker = ctx.Process(target=_publish_timed, args=(port, topics, body, rate, seconds))
    worker.start()
    worker.join()
    if worker.exitcode != 0:
        raise RuntimeError(f"timed publisher exited with {worker.exitcode}")
