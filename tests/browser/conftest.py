"""A real browser for the tests: Debian's Chromium, launched by Playwright from /usr/bin (Playwright downloads none)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./deploy/browser.sh (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        # As root (here and in CI) Chromium refuses to start inside its own sandbox; /dev/shm may be small in a container.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # A context per test: no cookies, storage or cache carried from one test into the next.
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()
