from datetime import UTC, datetime

import pytest

from mash_contracts import Agency, ConcernCategory as C, Notification, Outcome, SubjectRole, ThresholdLevel
from mash_decision.threshold import recommend
from mash_intake.screening import accept

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def referral(generator, categories, danger=False, adults_only=False) -> Notification:
    s = generator.notification()
    subjects = s.subjects
    if adults_only:
        subjects = [x.model_copy(update={"role": SubjectRole.ADULT_AT_RISK}) for x in subjects[1:2]]
    concern = s.concern.model_copy(update={"categories": categories, "immediate_danger": danger})
    return accept(s.model_copy(update={"concern": concern, "subjects": subjects}), NOW)


@pytest.mark.parametrize(
    "categories,danger,adults_only,level,outcome,recipients",
    [
        ([C.NEGLECT], True, False, ThresholdLevel.CHILD_PROTECTION, Outcome.STRATEGY_DISCUSSION, {Agency.CHILDRENS_SOCIAL_CARE, Agency.POLICE}),
        ([C.SEXUAL_ABUSE], False, False, ThresholdLevel.CHILD_PROTECTION, Outcome.STRATEGY_DISCUSSION, {Agency.CHILDRENS_SOCIAL_CARE, Agency.POLICE}),
        ([C.DOMESTIC_ABUSE], False, False, ThresholdLevel.CHILD_IN_NEED, Outcome.CIN_ASSESSMENT, {Agency.CHILDRENS_SOCIAL_CARE}),
        ([C.PARENTAL_MENTAL_HEALTH], False, False, ThresholdLevel.EARLY_HELP, Outcome.EARLY_HELP, {Agency.EARLY_HELP}),
        ([C.OTHER], False, False, ThresholdLevel.UNIVERSAL, Outcome.ADVICE_AND_SIGNPOSTING, {Agency.EARLY_HELP}),
        ([C.NEGLECT], False, True, ThresholdLevel.CHILD_IN_NEED, Outcome.ADULT_SAFEGUARDING, {Agency.ADULT_SOCIAL_CARE}),
    ],
)
def test_placeholder_rules(generator, categories, danger, adults_only, level, outcome, recipients):
    rec = recommend(referral(generator, categories, danger, adults_only), {})
    assert (rec.level, rec.outcome, set(rec.recipients)) == (level, outcome, recipients)


def test_every_decision_explains_itself(generator):
    rec = recommend(referral(generator, [C.DOMESTIC_ABUSE, C.PARENTAL_SUBSTANCE_MISUSE]), {})
    assert {(f.name, f.source) for f in rec.factors} == {
        ("concern: domestic_abuse", "notification"), ("concern: parental_substance_misuse", "notification")
    }
