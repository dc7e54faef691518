"""Fixtures of the page tests: the whole system running with simulators (tests/support/pages.py), and headless
Chromium.

Chromium is Debian's (`apt-get install chromium fonts-noto-cjk`, done by scripts/setup.sh), driven by Playwright
for Python with its executable path: Playwright downloads no browser. Screenshots go to test-artifacts/screenshots/,
a failed test's too.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.support.pages import CHROMIUM, TIMEZONE, VIEWPORT, System, running_system, screenshot

_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Note on the test whether its body failed: the page fixture then keeps a picture of the page as it was."""
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


# Package scope, not session: Playwright's sync API keeps an event loop running in the main thread while it is
# open, and asyncio tests after these (tests/simulators) cannot start theirs beside it.
@pytest.fixture(scope="package")
def system() -> Iterator[System]:
    with running_system() as running:
        yield running


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run scripts/setup.sh (apt-get install chromium fonts-noto-cjk)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh tab (its own sessionStorage and localStorage) that fails the test on a script error. When the test
    fails, the page as it was is kept (test-artifacts/screenshots/failed-<test>.png), for CI's readers."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id=TIMEZONE, accept_downloads=True)  # type: ignore[arg-type]
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    if request.node.stash.get(_FAILED, False):
        screenshot(tab, f"failed-{request.node.name}", full_page=True)
    context.close()
    assert errors == [], errors
