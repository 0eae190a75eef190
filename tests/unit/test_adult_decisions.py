"""The decision service with adults at risk (issue 19, part 2): the allocated team's Safeguarding Adults Practice
Consultant confirms or overrides what the model recommends for an adult routed to that team, on the same clock and
record as a MASH manager; a consultant cannot decide a referral that goes through the MASH. On each backend."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from helpers import MONDAY, contribution, subject
from mash_contracts import (
    AdultRoute,
    Agency,
    Concern,
    ConsentPosition,
    ConsentStatus,
    NotificationSubmission,
    Outcome,
    Referrer,
    ReferrerKind,
    SubjectRole,
    ThresholdLevel,
)
from mash_contracts import ConcernCategory as C
from mash_contracts.topics import DESK_AGENCIES
from mash_decision.assembly import NotTheirs
from mash_intake.screening import accept

pytestmark = pytest.mark.unit
ASC = Agency.ADULT_SOCIAL_CARE
TEAM = "Open adult social care case since 2026-01-03 with the East locality team, allocated worker: social worker"


def adult_referral(reference: str):
    submission = NotificationSubmission(
        submission_id=reference,
        submitted_at=MONDAY,
        referrer=Referrer(kind=ReferrerKind.PROFESSIONAL, agency=Agency.HEALTH, name="Dr Example", email="gp@example.org"),
        subjects=[subject("adult1", SubjectRole.ADULT_AT_RISK, "Ada", "Example", MONDAY.date() - timedelta(days=365 * 80))],
        concern=Concern(categories=[C.FINANCIAL_ABUSE], description="Scripted adult case."),
        consent=ConsentPosition(status=ConsentStatus.GIVEN),
    )
    return accept(submission, MONDAY, referrer_system="northshire_schools")


def answered(assembly, n, *asc_findings: str) -> None:
    assembly.record_notification(n)
    for agency in DESK_AGENCIES:
        findings = asc_findings if agency is ASC else ()
        explanations = {"allocated_worker": TEAM} if "allocated_worker" in findings else {}
        assembly.record_contribution(
            contribution(n, agency, findings, message_id=uuid.uuid4(), finding_explanations=explanations)
        )


def test_the_practice_consultant_confirms_an_allocated_teams_adult_and_the_record_says_so(assembly):
    assert ASC in DESK_AGENCIES, "adult social care has a desk"
    n = adult_referral("PC-1")
    answered(assembly, n, "care_and_support_needs", "allocated_worker")
    [waiting] = [p for p in assembly.pending() if p["referral_id"] == n.referral_id]
    assert (waiting["route"], waiting["route_detail"]) == ("allocated_team", TEAM)
    assert waiting["outcome"] == Outcome.S42_ENQUIRY.value, "level 4: a person confirms"
    decision = assembly.confirm(n.referral_id, "Pat Consultant (p.consultant)", role="practice_consultant")
    assert decision.decided_by == "practice consultant Pat Consultant (p.consultant)"
    assert decision.route is AdultRoute.ALLOCATED_TEAM and decision.route_detail == TEAM
    assert decision.level_name == "Section 42 enquiry (Care Act 2014)"


def test_a_practice_consultant_cannot_decide_a_referral_that_goes_through_the_mash(assembly):
    n = adult_referral("PC-2")
    answered(assembly, n, "care_and_support_needs")
    with pytest.raises(NotTheirs, match="not routed to an allocated team"):
        assembly.confirm(n.referral_id, "Pat Consultant (p.consultant)", role="practice_consultant")
    with pytest.raises(ValueError, match="role must be one of"):
        assembly.confirm(n.referral_id, "Someone (s.one)", role="volunteer")
    # A MASH manager overrides it to the Care Act's own outcome, named as the model names it.
    decision = assembly.override(
        n.referral_id,
        "Kim Manager (k.manager)",
        ThresholdLevel(2),
        Outcome.CARE_NEEDS_ASSESSMENT,
        [],
        "The adult has capacity and wants help with money management first.",
    )
    assert decision.decided_by == "manager Kim Manager (k.manager)" and decision.recommended_level == ThresholdLevel(4)
    assert (decision.level_name, decision.recipients, decision.route) == (
        "Care needs assessment (Care Act 2014 s9)",
        [ASC],
        AdultRoute.MASH,
    )


def test_an_adults_picture_offers_the_care_acts_outcomes_to_override_to(assembly):
    from mash_decision import queries
    from mash_decision.picture import assembled

    n = adult_referral("PC-3")
    answered(assembly, n, "care_and_support_needs")
    found = assembled(queries.picture_facts(assembly.db, n.referral_id), assembly.expected, assembly.model)
    assert [(lv["level"], lv["name"]) for lv in found["levels"]] == [
        (1, "Advice and signposting (adult) or No further action (adult)"),
        (2, "Care needs assessment (Care Act 2014 s9)"),
        (3, "Other safeguarding enquiry"),
        (4, "Section 42 enquiry (Care Act 2014)"),
    ]
    assert found["recommendation"]["route"] == "mash" and found["notification"]["strand"] == "whole"
