"""The harness itself: axe in Chromium finds what is wrong with a page, passes one that is right, and the vendored
GOV.UK Frontend loads. Pages come from a temporary folder over a local HTTP server, as a real site would serve them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page

from .axe import ALL_IMPACTS, axe_violations, summary

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "services" / "web" / "mash_web" / "static"

# A 1x1 transparent GIF: the image needs no file, so the only thing wrong with it is its missing text alternative.
PIXEL = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="

UNLABELLED = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Make a referral</title></head>
<body><main><h1>Make a referral</h1>
<img src="{PIXEL}">
<form method="post"><input type="text" name="child_name"><button type="submit">Send</button></form>
</main></body></html>
"""

WELL_FORMED = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Make a referral</title></head>
<body><main><h1>Make a referral</h1>
<img src="{PIXEL}" alt="Hub crest">
<form method="post"><label for="child-name">Child's full name</label>
<input type="text" id="child-name" name="child_name" autocomplete="off"><button type="submit">Send</button></form>
</main></body></html>
"""

GOVUK = """<!doctype html>
<html lang="en" class="govuk-template"><head><meta charset="utf-8"><title>Make a referral</title>
<link rel="stylesheet" href="static/govuk-frontend.min.css"></head>
<body class="govuk-template__body"><div class="govuk-width-container"><main class="govuk-main-wrapper">
<h1 class="govuk-heading-xl">Make a referral</h1>
<div class="govuk-form-group"><label class="govuk-label" for="child-name">Child's full name</label>
<input class="govuk-input" id="child-name" name="child_name" type="text"></div>
<button type="submit" class="govuk-button" data-module="govuk-button">Send</button>
</main></div></body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # the test's output is for failures, not for each request


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """The pages above served over http://127.0.0.1 on a free port; the vendored GOV.UK Frontend under static/."""
    for name, html in {"unlabelled.html": UNLABELLED, "well-formed.html": WELL_FORMED, "govuk.html": GOVUK}.items():
        (tmp_path / name).write_text(html, encoding="utf-8")
    (tmp_path / "static").symlink_to(STATIC, target_is_directory=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, name="test-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_an_image_without_alt_and_an_unlabelled_input_are_serious_failures(page: Page, site: str) -> None:
    page.goto(f"{site}/unlabelled.html")
    violations = axe_violations(page)
    assert {"image-alt", "label"} <= {v["id"] for v in violations}, summary(violations)
    assert all(v["impact"] in ("serious", "critical") for v in violations), summary(violations)


def test_a_well_formed_page_has_no_violations_at_all(page: Page, site: str) -> None:
    page.goto(f"{site}/well-formed.html")
    violations = axe_violations(page, impacts=ALL_IMPACTS)
    assert violations == [], summary(violations)


def test_the_vendored_govuk_frontend_styles_a_page_that_passes(page: Page, site: str) -> None:
    if not (STATIC / "govuk-frontend.min.css").is_file():
        pytest.fail(f"{STATIC} has no GOV.UK Frontend: run ./deploy/setup.sh (it vendors it from npm)")
    response = page.goto(f"{site}/govuk.html")
    assert response is not None and response.ok
    heading = page.locator("h1")
    # The stylesheet applied: GOV.UK's own typeface and weight, not the browser's default serif.
    assert "GDS Transport" in heading.evaluate("h => getComputedStyle(h).fontFamily")
    assert heading.evaluate("h => getComputedStyle(h).fontWeight") == "700"
    violations = axe_violations(page, impacts=ALL_IMPACTS)
    assert violations == [], summary(violations)
