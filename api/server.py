"""How uvicorn serves the API: `yiwang api` and the tests that start a real server use the same options."""

from __future__ import annotations

from typing import Any

from api.live.deflate import Protocol
from yiwang.settings import Settings


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options (`uvicorn.Config`'s keyword arguments) for the API under these settings.

    uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: then any local process (or a proxy on
    the machine that passes the header on as the client sent it) chooses the address that the login limit
    counts and the audit log records. So proxy headers are read only from settings.api_trusted_proxies, and not
    at all when it is empty.
    """
    proxies = [p.strip() for p in settings.api_trusted_proxies.split(",") if p.strip()]
    return {
        "host": settings.api_host,
        "port": settings.api_port,
        "log_level": settings.log_level.lower(),
        # uvicorn's loggers write through the root logger that `yiwang` set up (yiwang/logs.py), in its format (JSON
        # when YIWANG_LOG_FORMAT=json), instead of a configuration of their own.
        "log_config": None,
        # Browsers always offer permessage-deflate: over an office network the map's changes are the heavy part
        # (44 MB a client-minute at 20,000 vehicles, some 8 times less compressed). A message is compressed once
        # for all the clients it goes to (api/live/deflate.py); it can still be turned off (docs/figures.md).
        "ws_per_message_deflate": settings.api_ws_deflate,
        "ws": Protocol,
        # A client's WebSocket messages are tokens: one larger than a body may be is refused (1009) before it is
        # parsed, and at most ws_max_queue of them wait (uvicorn's default: 32 of 16 MB each).
        "ws_max_size": settings.api_max_body_bytes,
        "proxy_headers": bool(proxies),
        # Never None: uvicorn would then read FORWARDED_ALLOW_IPS from the environment, or trust 127.0.0.1.
        "forwarded_allow_ips": proxies,
    }
