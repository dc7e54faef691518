"""The API's documentation in headless Chromium with no network beyond the API, as on an intranet: /docs lists the
operations and /redoc the reference, from the vendored files, under the pages' Content-Security-Policy."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Page, Route

from tests.support.pages import System, screenshot, until


def _offline(page: Page, system: System) -> tuple[list[str], list[str]]:
    """Refuse every request to another host than the API's; the URLs refused, and the console's errors."""
    api = urlsplit(system.url).netloc
    refused: list[str] = []
    errors: list[str] = []

    def route(route: Route) -> None:
        if urlsplit(route.request.url).netloc == api:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", route)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", console)
    return refused, errors


def test_docs_list_the_operations_with_nothing_from_outside(page: Page, system: System) -> None:
    refused, errors = _offline(page, system)
    page.goto(f"{system.url}/docs")
    # Swagger UI draws one block per operation; the API has over a hundred, and past about a hundred Swagger UI
    # draws only those near the viewport. Scroll down through them, keeping every operation's path seen.
    seen = until(
        page,
        """(() => {
            window.seen = window.seen || new Set();
            document.querySelectorAll('.opblock-summary-path').forEach(e => window.seen.add(e.textContent));
            window.scrollBy(0, 1200);
            const paths = [...window.seen];
            return paths.length > 100 && paths.some(p => p.includes('/registry/institutions.csv'))
                && paths.some(p => p.includes('/survey/')) && paths.length;
        })()""",
        seconds=60,
    )
    assert seen > 100
    screenshot(page, "docs")
    assert refused == []
    assert [e for e in errors if "Content Security Policy" in e] == []


def test_redoc_shows_the_reference_with_nothing_from_outside(page: Page, system: System) -> None:
    refused, errors = _offline(page, system)
    page.goto(f"{system.url}/redoc")
    until(page, "document.body.textContent.includes('/registry/institutions.csv')")
    screenshot(page, "redoc")
    assert refused == []
    # ReDoc asks for its maker's logo from their CDN whatever its options (and hides it when that fails): the
    # policy refuses it in the browser, so it is not even a request. Nothing else is refused.
    logo = "https://cdn.redoc.ly/"
    assert [e for e in errors if "Content Security Policy" in e and logo not in e] == []
