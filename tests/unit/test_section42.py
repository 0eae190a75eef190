"""The Care Act 2014 section 42 test in the threshold model (issue 19, part 3): each part explained with where it came
from, the five outcomes, self-neglect as its own case, and the allocated worker's route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mash_contracts import (
    AdultAtRiskDetails,
    AdultRoute,
    Agency,
    Concern,
    ConsentPosition,
    ConsentStatus,
    Contribution,
    ContributionStatus,
    NotificationSubmission,
    Outcome,
    Referrer,
    ReferrerKind,
    Subject,
    SubjectRole,
    ThresholdLevel,
    derived_id,
)
from mash_contracts import ConcernCategory as C
from mash_contracts.threshold import load_model
from mash_intake.screening import accept

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ASC = Agency.ADULT_SOCIAL_CARE
TEAM = "Open adult social care case since 2026-01-03 with the East locality team, allocated worker: social worker"


@pytest.fixture(scope="module")
def model():
    return load_model("default")


def adult_referral(*categories: C, details: AdultAtRiskDetails | None = None, child: bool = False):
    subjects = [
        Subject(
            subject_ref="adult1",
            role=SubjectRole.ADULT_AT_RISK,
            given_name="Ada",
            family_name="Example",
            date_of_birth=NOW.date() - timedelta(days=365 * 82),
        )
    ]
    if child:
        subjects.append(
            Subject(
                subject_ref="child1",
                role=SubjectRole.CHILD,
                given_name="Sam",
                family_name="Example",
                date_of_birth=NOW.date() - timedelta(days=365 * 9),
            )
        )
    submission = NotificationSubmission(
        submission_id=f"S42-{derived_id('s42', str(categories), str(details), str(child)).hex[:12]}",
        submitted_at=NOW,
        referrer=Referrer(kind=ReferrerKind.PROFESSIONAL, agency=Agency.HEALTH, name="Dr Example", email="gp@example.org"),
        subjects=subjects,
        concern=Concern(categories=list(categories), description="Scripted adult case.", adult_at_risk=details),
        consent=ConsentPosition(status=ConsentStatus.GIVEN),
    )
    return accept(submission, NOW, referrer_system="northshire_schools")


def asc(n, *findings: str, explanations: dict[str, str] | None = None) -> dict[Agency, Contribution]:
    return {
        ASC: Contribution(
            message_id=derived_id("s42-contribution", n.referral_id),
            referral_id=n.referral_id,
            agency=ASC,
            status=ContributionStatus.SHARED if findings else ContributionStatus.NO_RECORDS_FOUND,
            findings=list(findings),
            finding_explanations=explanations or {},
            rationale="scripted",
            policy_version="test-1",
            researched_at=NOW,
            disclosure_id=derived_id("s42-disclosure", n.referral_id),
        )
    }


def parts(rec) -> dict[int, str]:
    return {
        int(f.name.split()[3].rstrip(",")): f.name.rsplit(": ", 1)[1] for f in rec.factors if f.name.startswith("s42 test part")
    }


def test_all_three_parts_suspected_from_the_referral_alone_is_a_section_42_enquiry(model):
    n = adult_referral(C.FINANCIAL_ABUSE)
    rec = model.recommend(n, asc(n), today=NOW.date())
    assert (rec.outcome, rec.level, rec.level_name) == (
        Outcome.S42_ENQUIRY,
        ThresholdLevel(4),
        "Section 42 enquiry (Care Act 2014)",
    )
    assert parts(rec) == {1: "suspected", 2: "met", 3: "suspected"}
    part2 = next(f for f in rec.factors if f.name.startswith("s42 test part 2"))
    assert "financial or material abuse" in part2.detail and "s42(1)(b)" in part2.detail
    assert rec.recipients == (ASC,) and rec.route is AdultRoute.MASH


def test_records_establish_a_part_and_the_explanation_cites_the_desk_and_its_disclosure_record(model):
    n = adult_referral(C.PHYSICAL_ABUSE, details=AdultAtRiskDetails(care_and_support_needs=False))
    answers = asc(
        n, "care_and_support_needs", explanations={"care_and_support_needs": "Assessed 2025-06-01: memory and cognition"}
    )
    rec = model.recommend(n, answers, today=NOW.date())
    [part1] = [f for f in rec.factors if f.name.startswith("s42 test part 1")]
    assert part1.name.endswith(": met") and part1.source == "adult_social_care"
    assert "memory and cognition" in part1.detail and "says the adult has no needs" in part1.detail, "both sides shown"
    assert part1.disclosure_ids == [answers[ASC].disclosure_id]
    assert rec.outcome is Outcome.S42_ENQUIRY
    assert Agency.POLICE in rec.recipients, "physical abuse of an adult is a crime: the police are told too"


def test_a_part_the_referrer_says_is_not_met_makes_it_an_enquiry_at_the_authoritys_discretion(model):
    n = adult_referral(C.DOMESTIC_ABUSE, details=AdultAtRiskDetails(care_and_support_needs=False, unable_to_protect_self=True))
    rec = model.recommend(n, asc(n), today=NOW.date())
    assert rec.outcome is Outcome.OTHER_SAFEGUARDING_ENQUIRY and rec.level == 3
    assert parts(rec) == {1: "not met", 2: "met", 3: "met"}


def test_needs_without_abuse_is_a_care_needs_assessment_and_nothing_at_all_is_no_further_action(model):
    n = adult_referral(C.OTHER, details=AdultAtRiskDetails(care_and_support_needs=True))
    assert model.recommend(n, asc(n), today=NOW.date()).outcome is Outcome.CARE_NEEDS_ASSESSMENT
    n = adult_referral(C.OTHER, details=AdultAtRiskDetails(care_and_support_needs=False))
    rec = model.recommend(n, asc(n), today=NOW.date())
    assert (rec.outcome, rec.level) == (Outcome.NO_FURTHER_ACTION, 1)
    n = adult_referral(C.OTHER)
    assert model.recommend(n, asc(n), today=NOW.date()).outcome is Outcome.ADVICE_AND_SIGNPOSTING


def test_self_neglect_is_its_own_category_and_needs_the_third_part_established(model):
    n = adult_referral(C.SELF_NEGLECT)
    suspected = model.recommend(n, asc(n), today=NOW.date())
    assert suspected.outcome is Outcome.CARE_NEEDS_ASSESSMENT, "suspected is not enough for self-neglect"
    assert any(f.name.startswith("self-neglect") and "14.17" in (f.detail or "") for f in suspected.factors)
    established = model.recommend(n, asc(n, "care_and_support_needs", "unable_to_protect_self"), today=NOW.date())
    assert established.outcome is Outcome.S42_ENQUIRY
    # Neglect by others (acts of omission) is not self-neglect: suspected parts are enough there.
    n = adult_referral(C.NEGLECT)
    assert model.recommend(n, asc(n), today=NOW.date()).outcome is Outcome.S42_ENQUIRY
    # Self-neglect beside another category is not self-neglect alone.
    n = adult_referral(C.SELF_NEGLECT, C.FINANCIAL_ABUSE)
    assert model.recommend(n, asc(n), today=NOW.date()).outcome is Outcome.S42_ENQUIRY


def test_an_allocated_worker_routes_to_the_teams_practice_consultant_with_the_team_named(model):
    n = adult_referral(C.FINANCIAL_ABUSE, details=AdultAtRiskDetails(desired_outcomes=["To stay in my own home"]))
    rec = model.recommend(n, asc(n, "allocated_worker", explanations={"allocated_worker": TEAM}), today=NOW.date())
    assert rec.route is AdultRoute.ALLOCATED_TEAM and rec.route_detail == TEAM
    assert rec.outcome is Outcome.S42_ENQUIRY, "the route changes who decides, not the test"
    route = next(f for f in rec.factors if "practice consultant" in f.name.lower())
    assert "East locality team" in route.detail and "same clock" in route.detail
    assert any("desired outcomes" in f.name for f in rec.factors)
    assert "To stay in my own home" not in str(rec.factors), "the adult's words travel in the product, not the explanation"


def test_no_answer_from_adult_social_care_goes_through_the_mash(model):
    n = adult_referral(C.FINANCIAL_ABUSE)
    rec = model.recommend(n, {}, today=NOW.date())
    assert rec.route is AdultRoute.MASH
    assert any("no answer from adult_social_care" in (f.detail or "") for f in rec.factors)


def test_a_referral_with_a_child_is_decided_on_the_childrens_model(model):
    n = adult_referral(C.FINANCIAL_ABUSE, child=True)
    rec = model.recommend(n, asc(n), today=NOW.date())
    assert rec.outcome not in {Outcome.S42_ENQUIRY, Outcome.OTHER_SAFEGUARDING_ENQUIRY} and rec.route is None


def test_a_model_without_all_five_adult_outcomes_is_refused(tmp_path):
    text = (load_model.__globals__["MODELS"] / "default.toml").read_text()
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace('no_further_action = { level = 1, name = "No further action (adult)" }\n', ""))
    with pytest.raises(ValueError, match=r"\[adults.outcomes\] must name exactly"):
        load_model(str(broken))
