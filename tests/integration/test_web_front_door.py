"""The web front door over the real mesh: a person fills the referral form, the hub's own referrer sends it to intake
sealed, and it is decided and routed like any other referral; the confirmation page shows the reference, then the
time the MASH will decide by, then the outcome. Wrong answers come back as a GOV.UK error summary, and a form posted
without its CSRF token sends nothing."""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from mash_contracts.topics import ACKNOWLEDGEMENTS, DECISIONS, NOTIFICATIONS_SUBMITTED, WEB

from .watch import Seen, run

pytestmark = pytest.mark.integration

ANSWERS = {
    "referrer_kind": "professional",
    "referrer_agency": "education",
    "referrer_organisation": "Northshire Primary (synthetic)",
    "referrer_name": "Pat Teacher",
    "referrer_email": "pat.teacher@example.org",
    "identity_protected": "no",
    "subject_role": "child",
    "subject_given_name": "Webform",
    "subject_family_name": "Synthetic",
    "subject_dob-day": "12",
    "subject_dob-month": "6",
    "subject_dob-year": "2017",
    "categories": ["neglect"],
    "description": "The child arrives hungry most days and has worn the same clothes all week; says nobody is home at night.",
    "immediate_danger": "no",
    "consent": "given",
}


class Browser:
    """A person's browser without JavaScript: cookies kept, redirects followed, every answer's status and page kept."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, fields: dict) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, method="POST"))

    def _open(self, request) -> tuple[int, str, str]:
        try:
            with self.opener.open(request, timeout=30) as answer:
                return answer.status, answer.geturl(), answer.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.geturl(), e.read().decode()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


@pytest.fixture
def browser(mesh) -> Browser:
    return Browser(f"http://127.0.0.1:{mesh.http_port('web')}")


def test_a_referral_made_through_the_form_is_decided_and_routed_and_the_page_says_when(browser, watcher):
    status, _, form_page = browser.get("/referral")
    assert status == 200 and "govuk-radios" in form_page and 'href="/static/govuk-frontend.min.css"' in form_page
    status, url, page = browser.post("/referral", ANSWERS | {"csrf": csrf_of(form_page)})
    assert status == 200 and "/referral/sent/WEB-" in url and "Referral sent" in page, page[:2000]
    reference = url.rsplit("/", 1)[1]
    assert reference in page and "Webform" not in page, "the confirmation shows the reference, not the child"

    deadline = time.monotonic() + 120
    while "will decide what happens next by" not in page and "The MASH decided" not in page:
        assert time.monotonic() < deadline, "the page never showed the time the MASH decides by"
        time.sleep(0.2)
        page = browser.get(f"/referral/sent/{reference}")[2]

    acks = ACKNOWLEDGEMENTS.for_referrer(WEB)

    def referral_of(seen: Seen) -> str | None:
        return next((a.referral_id for a in seen.decoded(acks) if a.submission_id == reference), None)

    def decided(seen: Seen) -> bool:
        referral_id = referral_of(seen)
        return referral_id is not None and any(d.referral_id == referral_id for d in seen.decoded(DECISIONS.name))

    seen = run(watcher.read_until([acks, DECISIONS.name, NOTIFICATIONS_SUBMITTED.name], decided, timeout=120))
    [decision] = [d for d in seen.decoded(DECISIONS.name) if d.referral_id == referral_of(seen)]
    assert decision.recipients, "routed to the agency that must act"
    sent = [r for r in seen.records[NOTIFICATIONS_SUBMITTED.name] if r.key == reference.encode()]
    assert sent and all(b"Webform" not in r.value for r in sent), "on the front door sealed, never in plaintext"

    while "The MASH decided" not in page:
        assert time.monotonic() < deadline + 120, "the page never showed the outcome"
        time.sleep(1)
        page = browser.get(f"/referral/sent/{reference}")[2]


def test_wrong_answers_come_back_as_an_error_summary_with_the_answers_kept(browser):
    _, _, form_page = browser.get("/referral")
    wrong = ANSWERS | {"csrf": csrf_of(form_page), "referrer_email": "", "subject_dob-month": "13", "description": ""}
    status, url, page = browser.post("/referral", wrong)
    assert status == 400 and url.endswith("/referral")
    assert "govuk-error-summary" in page and "<title>Error:" in page
    for link in ('href="#referrer_phone"', 'href="#subject_dob-day"', 'href="#description"'):
        assert link in page, link
    assert 'value="Synthetic"' in page, "what the person typed is kept"


def test_a_form_posted_without_its_csrf_token_sends_nothing(browser, mesh):
    status, url, page = Browser(browser.base).post("/referral", ANSWERS | {"csrf": "forged"})
    assert status == 400 and "/referral/sent/" not in url and "send the form again" in page
    assert browser.get("/referral/sent/WEB-00000000000000000000")[0] == 404
