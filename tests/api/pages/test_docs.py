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
    # Swagger UI draws one block per operation; the API has dozens.
    count = until(
        page, "document.querySelectorAll('.opblock').length > 20 && document.querySelectorAll('.opblock').length"
    )
    assert count > 20
    assert page.locator(".opblock-summary-path", has_text="/registry/institutions.csv").count() >= 1
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
