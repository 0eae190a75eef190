"""Adults at risk through the real mesh (issue 19): seeded households (population: the adult_* cases and the mixed
household) referred through the front door, researched by every desk (adult social care's from its own records),
decided on the Care Act s42 test and routed: through the MASH, or to the allocated worker's team."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest

from mash_contracts import AdultRoute, Agency, ContributionStatus, Outcome
from mash_contracts.topics import ACKNOWLEDGEMENTS, CONTRIBUTIONS, DECISIONS, NOTIFICATIONS, lanes, products_topic
from mash_runtime.http import manager_token
from mash_tools.synthetic import Generator, scripted_notification

from .test_decision_service import _http, decision_configured
from .watch import Seen, Watcher, run

pytestmark = pytest.mark.integration
ASC = Agency.ADULT_SOCIAL_CARE
CASES = ("adult_financial_abuse", "adult_allocated_worker", "adult_self_neglect", "mixed_household")
WATCHED = [
    ACKNOWLEDGEMENTS.name,
    *lanes(NOTIFICATIONS.name),
    *(n for t in CONTRIBUTIONS for n in lanes(t.name)),
    DECISIONS.name,
    *lanes(products_topic(ASC)),
]


@dataclass
class Referred:
    referral_id: str
    decision: object
    contributions: dict
    product: object | None


def as_new_referrer(submission, tag: str):
    """The same household from another referrer: not linked to the first as a duplicate."""
    referrer = submission.referrer.model_copy(update={"email": f"{tag}-{uuid.uuid4().hex[:8]}@example.org"})
    return submission.model_copy(update={"referrer": referrer, "submission_id": f"{tag}-{uuid.uuid4().hex[:10]}"})


@pytest.fixture(scope="module")
def adults(mesh, topics, scripted) -> dict[str, Referred]:
    watcher = Watcher(mesh.access, mesh.keys_dir)
    generator = Generator(seed=uuid.uuid4().int)
    submissions = {name: scripted_notification(generator, name, scripted[name].subjects) for name in CASES}
    run(watcher.submit(*submissions.values()))
    wanted = {s.submission_id: name for name, s in submissions.items()}

    def referrals(seen: Seen) -> dict[str, str]:
        out = {}
        for a in seen.decoded(ACKNOWLEDGEMENTS.name):
            if a.submission_id in wanted:
                out[wanted[a.submission_id]] = a.referral_id
                if a.related_referral_id:
                    out[wanted[a.submission_id] + ":adults"] = a.related_referral_id
        return out

    def decided(seen: Seen) -> bool:
        r = referrals(seen)
        routed = {p.referral_id for p in seen.decoded(products_topic(ASC))}
        done = {d.referral_id for d in seen.decoded(DECISIONS.name)}
        return len(r) == len(CASES) + 1 and set(r.values()) <= done and r["adult_allocated_worker"] in routed

    seen = run(watcher.read_until(WATCHED, decided, timeout=240))
    out = {}
    for name, ref in referrals(seen).items():
        answers = {c.agency: c for t in CONTRIBUTIONS for c in seen.lanes(t.name) if c.referral_id == ref}
        product = next((p for p in seen.decoded(products_topic(ASC)) if p.referral_id == ref), None)
        decision = next(d for d in seen.decoded(DECISIONS.name) if d.referral_id == ref)
        out[name] = Referred(ref, decision, answers, product)
    return out


def factor(decision, starts: str):
    return next(f for f in decision.explanation if f.name.startswith(starts))


def test_an_adult_without_an_allocated_worker_is_decided_through_the_mash_with_the_s42_test_explained(adults):
    r = adults["adult_financial_abuse"]
    assert r.contributions[ASC].status is ContributionStatus.SHARED, "adult social care researched its own records"
    assert {"care_and_support_needs", "unable_to_protect_self"} <= set(r.contributions[ASC].findings)
    d = r.decision
    assert (d.outcome, d.route, d.recipients[0]) == (Outcome.S42_ENQUIRY, AdultRoute.MASH, ASC)
    part1 = factor(d, "s42 test part 1")
    assert part1.name.endswith(": met") and part1.source == "adult_social_care" and part1.disclosure_ids
    assert "financial or material abuse" in factor(d, "s42 test part 2").detail
    assert factor(d, "s42 test part 3").name.endswith(": met")
    assert r.product is not None and r.product.route is AdultRoute.MASH
    assert r.product.concern.adult_at_risk.desired_outcomes == [
        "To stay living at home",
        "For the relative not to handle my money",
    ]


def test_an_adult_with_an_allocated_worker_goes_to_that_teams_practice_consultant(adults):
    r = adults["adult_allocated_worker"]
    assert "allocated_worker" in r.contributions[ASC].findings
    d = r.decision
    assert d.route is AdultRoute.ALLOCATED_TEAM and "team" in d.route_detail.lower()
    assert d.outcome is Outcome.S42_ENQUIRY, "neglect by a care provider, needs known: an enquiry whoever makes it"
    assert "practice consultant" in factor(d, "an allocated worker").name.lower()
    assert r.product.route is AdultRoute.ALLOCATED_TEAM and d.route_detail in r.product.summary


def test_self_neglect_is_its_own_category(adults):
    d = adults["adult_self_neglect"].decision
    assert d.outcome is Outcome.CARE_NEEDS_ASSESSMENT, "self-neglect without established inability: assess needs first"
    assert "14.17" in factor(d, "self-neglect").detail


def test_a_mixed_household_produces_the_childrens_decision_and_the_adults(adults):
    children, adult = adults["mixed_household"], adults["mixed_household:adults"]
    assert children.decision.related_referral_id == adult.referral_id
    assert adult.decision.related_referral_id == children.referral_id
    assert children.decision.route is None and ASC not in children.decision.recipients
    assert adult.decision.outcome is Outcome.S42_ENQUIRY and adult.decision.recipients[0] is ASC
    assert adult.product.concern.adult_at_risk.desired_outcomes == ["To feel safe in my home"]
    # Each was researched on its own footing: the desks answered both.
    assert set(children.contributions) == set(adult.contributions) and ASC in adult.contributions


def test_the_practice_consultant_decides_the_allocated_teams_adults_and_only_those(mesh, scripted):
    watcher = Watcher(mesh.access, mesh.keys_dir)
    generator = Generator(seed=uuid.uuid4().int)
    token = manager_token(mesh.keys_dir)
    allocated = as_new_referrer(
        scripted_notification(generator, "adult_allocated_worker", scripted["adult_allocated_worker"].subjects), "PC"
    )
    mash_route = as_new_referrer(
        scripted_notification(generator, "adult_financial_abuse", scripted["adult_financial_abuse"].subjects), "PC"
    )
    with decision_configured(mesh, MASH_AUTO_CONFIRM_LEVELS="[1, 2, 3]"):
        run(watcher.submit(allocated, mash_route))
        seen = run(
            watcher.read_until(
                [ACKNOWLEDGEMENTS.name],
                lambda s: (
                    {allocated.submission_id, mash_route.submission_id}
                    <= {a.submission_id for a in s.decoded(ACKNOWLEDGEMENTS.name)}
                ),
            )
        )
        refs = {a.submission_id: a.referral_id for a in seen.decoded(ACKNOWLEDGEMENTS.name)}
        ours = {refs[allocated.submission_id], refs[mash_route.submission_id]}

        waiting = {}
        for _ in range(240):
            status, pending = _http(mesh, "GET", "/recommendations", token=token)
            assert status == 200, pending
            waiting = {p["referral_id"]: p for p in pending if p["referral_id"] in ours}
            if len(waiting) == 2:
                break
            time.sleep(1)
        assert len(waiting) == 2, f"both wait for a person: {waiting}"
        team, hub = waiting[refs[allocated.submission_id]], waiting[refs[mash_route.submission_id]]
        assert (team["route"], hub["route"]) == ("allocated_team", "mash") and "team" in team["route_detail"].lower()

        consultant = {"manager": "Pat Consultant (p.consultant)", "action": "confirm", "role": "practice_consultant"}
        status, body = _http(mesh, "POST", "/decisions", {**consultant, "referral_id": hub["referral_id"]}, token)
        assert status == 409 and "not routed to an allocated team" in body["error"]
        status, body = _http(mesh, "POST", "/decisions", {**consultant, "referral_id": team["referral_id"]}, token)
        assert status == 200, body
        assert body["decided_by"] == "practice consultant Pat Consultant (p.consultant)" and body["route"] == "allocated_team"
