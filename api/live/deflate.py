"""permessage-deflate for the live map, compressed once for every client that receives the same message.

The map's changes go to every dispatcher following the same scope as the same text. With the usual per-client
compression context, each client costs a compression of each message: at 20,000 vehicles and 100 map clients half
the API's CPU went to zlib (bench/soak, py-spy). Here the server never carries its compression context from one
message to the next (`server_no_context_takeover`, which RFC 7692 lets a server choose whatever the client
offered), so a message compresses to the same bytes for every client, and the last few are kept. The cost in size
is small: the window is 4 KiB (uvicorn's 12 bits), much shorter than a tick's message.

uvicorn builds its permessage-deflate offer inside its protocol class; `Protocol` replaces only that offer.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.base import ServerExtensionFactory
from websockets.extensions.permessage_deflate import PerMessageDeflate, ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.typing import ExtensionParameter

WINDOW_BITS = 12  # uvicorn's own choice for both sides: 4 KiB of window a connection
MEMORY_LEVEL = 5  # uvicorn's too
SHARED_BYTES = 1024  # smaller messages are compressed per client: a lookup would cost about as much
KEPT = 8  # compressed messages kept: a tick's message per scope being sent, and the snapshot of late joiners


class Compressed:
    """The last KEPT compressed messages, by their bytes (shared by every connection of the process)."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[bytes, int], bytes] = OrderedDict()  # used on the event loop's thread only
        self.hits = 0
        self.misses = 0

    def of(self, data: bytes, window_bits: int) -> bytes:
        """`data` compressed as one whole message without context takeover, the final empty block removed."""
        key = (data, window_bits)
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
            self.hits += 1
            return found
        encoder = zlib.compressobj(wbits=-window_bits, memLevel=MEMORY_LEVEL)
        compressed = encoder.compress(data) + encoder.flush(zlib.Z_SYNC_FLUSH)
        compressed = compressed[:-4]  # RFC 7692 7.2.1: the sync flush's 00 00 ff ff is not sent
        self.misses += 1
        self._kept[key] = compressed
        if len(self._kept) > KEPT:
            self._kept.popitem(last=False)
        return compressed


COMPRESSED = Compressed()


class SharedDeflate(PerMessageDeflate):
    """PerMessageDeflate whose whole outgoing messages (of SHARED_BYTES or more) come from COMPRESSED."""

    def encode(self, frame: Frame) -> Frame:
        if (
            frame.opcode not in (Opcode.TEXT, Opcode.BINARY)
            or not frame.fin
            or not self.local_no_context_takeover
            or len(frame.data) < SHARED_BYTES
        ):
            return super().encode(frame)
        data = COMPRESSED.of(bytes(frame.data), self.local_max_window_bits)
        # rsv1 marks a compressed message (RFC 7692 6).
        return Frame(frame.opcode, data, True, True, frame.rsv2, frame.rsv3)


class SharedDeflateFactory(ServerPerMessageDeflateFactory):
    """The server's offer: no context takeover on the server's side, whatever the client asked."""

    def __init__(self) -> None:
        super().__init__(
            server_no_context_takeover=True,
            server_max_window_bits=WINDOW_BITS,
            client_max_window_bits=WINDOW_BITS,
            compress_settings={"memLevel": MEMORY_LEVEL},
        )

    def process_request_params(
        self, params: Any, accepted_extensions: Any
    ) -> tuple[list[ExtensionParameter], PerMessageDeflate]:
        response, negotiated = super().process_request_params(params, accepted_extensions)
        shared = SharedDeflate(
            negotiated.remote_no_context_takeover,
            negotiated.local_no_context_takeover,
            negotiated.remote_max_window_bits,
            negotiated.local_max_window_bits,
            negotiated.compress_settings,
        )
        return response, shared


class Protocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, offering SharedDeflateFactory when permessage-deflate is on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.ws_per_message_deflate:
            offers: list[ServerExtensionFactory] = [SharedDeflateFactory()]
            self.conn.available_extensions = offers
