"""The headers every response of the API carries, JSON, files and refusals alike: no MIME sniffing (a JSON answer that
holds a name like <script> is never read as HTML), and no framing by another site (clickjacking). A response that
sets its own Content-Security-Policy (the pages, /docs) keeps it; any other gets one that loads nothing."""

from __future__ import annotations

from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS: Final[dict[str, str]] = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
# JSON and files load nothing and are shown in no frame.
DEFAULT_POLICY: Final = "default-src 'none'; frame-ancestors 'none'"


class SecurityHeaders:
    """ASGI middleware adding `ALWAYS`, and `DEFAULT_POLICY` where a response has no policy of its own. Put it
    outermost (around Starlette's ServerErrorMiddleware, see api/app.py), so that a 500 carries them too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers[name] = value
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = DEFAULT_POLICY
            await send(message)

        await self.app(scope, receive, send_with_headers)
