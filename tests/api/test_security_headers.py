"""Every response of the API says nosniff and refuses framing, JSON, files and refusals alike; /docs and /redoc load
only the API's own files, under the pages' Content-Security-Policy."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx

from tests.support.api import AsUser


class _Loads(HTMLParser):
    """What a page loads: its scripts' and style sheets' URLs, and the text of inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self._in_script = found.get("src") is None
            if found.get("src") is not None:
                self.urls.append(found["src"] or "")
        elif tag == "link" and found.get("href") is not None:
            self.urls.append(found["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


def _framing_refused(response: httpx.Response) -> None:
    assert response.headers.get("x-content-type-options") == "nosniff", response.request.url
    assert response.headers.get("x-frame-options") == "DENY", response.request.url
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", ""), response.request.url


async def test_docs_and_redoc_load_only_the_apis_own_files(client: httpx.AsyncClient) -> None:
    pages_policy = (await client.get("/pages/login.html")).headers["content-security-policy"]
    for path in ("/docs", "/redoc"):
        page = await client.get(path)
        assert page.status_code == 200, page.text
        assert page.headers["content-security-policy"] == pages_policy  # the pages' policy: script-src 'self'
        loads = _Loads()
        loads.feed(page.text)
        assert loads.inline == [], path  # the policy would refuse an inline script
        assert loads.urls, path
        for url in loads.urls:
            assert urlsplit(url)[:2] == ("", ""), url  # same origin: a path, no scheme nor host
            assert url.startswith("/"), url
            file = await client.get(url)
            assert file.status_code == 200, url
            assert file.headers["content-type"].split(";")[0] in ("text/javascript", "text/css"), url
            _framing_refused(file)
    assert (await client.get("/openapi.json")).status_code == 200


async def test_every_response_says_nosniff_and_refuses_framing(client: httpx.AsyncClient, as_user: AsUser) -> None:
    admin = await as_user("admin")
    responses = [
        await client.get("/openapi.json"),
        await client.get("/institutions"),  # 401
        await client.get("/institutions", headers=admin),
        await client.get("/institutions/no-such", headers=admin),  # 404
        await client.get("/no/such/path"),  # 404 of the router
        await client.delete("/openapi.json"),  # 405
        await client.post("/auth/token", data={}),  # 422
        await client.get("/registry/institutions.csv", headers=admin),  # a file
        await client.get("/pages/login.html"),
        await client.get("/pages/js/common.js"),
        await client.get("/docs"),
        await client.get("/"),  # a redirect
    ]
    assert [r.status_code for r in responses] == [200, 401, 200, 404, 404, 405, 422, 200, 200, 200, 200, 307]
    for response in responses:
        _framing_refused(response)
    # JSON loads nothing: its policy says so.
    assert responses[2].headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
