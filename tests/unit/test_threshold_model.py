"""The default threshold model over a table of scripted cases: level, outcome, routes and the explanation.

Each row is a referral as the decision service would assemble it: the concern, the youngest child's age
(None: adults only; "unborn"), what each desk found, and which desks never answered.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mash_contracts import Agency, Contribution, ContributionStatus, Outcome, SubjectRole
from mash_contracts import ConcernCategory as C
from mash_contracts import ThresholdLevel as L
from mash_contracts.threshold import ThresholdModel, load_model
from mash_intake.screening import accept
from mash_tools.synthetic import Generator, Scenario

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
POLICE, HEALTH, CSC, EDU = Agency.POLICE, Agency.HEALTH, Agency.CHILDRENS_SOCIAL_CARE, Agency.EDUCATION
EH, ASC = Agency.EARLY_HELP, Agency.ADULT_SOCIAL_CARE

# name, categories, immediate danger, youngest child's age, findings by desk, desks with no answer,
# expected level, outcome, recipients, a factor the explanation must name
CASES = [
    (
        "nothing known, low-level parental mental health",
        [C.PARENTAL_MENTAL_HEALTH],
        False,
        8,
        {},
        (),
        L.EARLY_HELP,
        Outcome.EARLY_HELP,
        {EH},
        "parental mental health",
    ),
    ("young carer with nothing known", [C.YOUNG_CARER], False, 13, {}, (), L.EARLY_HELP, Outcome.EARLY_HELP, {EH}, "young carer"),
    ("other concern, nothing known", [C.OTHER], False, 10, {}, (), L.UNIVERSAL, Outcome.ADVICE_AND_SIGNPOSTING, {EH}, "score 0"),
    (
        "missed appointments only",
        [C.OTHER],
        False,
        6,
        {HEALTH: ["missed_health_appointments"]},
        (),
        L.UNIVERSAL,
        Outcome.ADVICE_AND_SIGNPOSTING,
        {EH},
        "missed health appointments",
    ),
    ("neglect alone", [C.NEGLECT], False, 7, {}, (), L.EARLY_HELP, Outcome.EARLY_HELP, {EH}, "neglect reported"),
    (
        "neglect with persistent absence and missed appointments",
        [C.NEGLECT],
        False,
        9,
        {EDU: ["persistent_absence"], HEALTH: ["missed_health_appointments"]},
        (),
        L.CHILD_IN_NEED,
        Outcome.CIN_ASSESSMENT,
        {CSC},
        "persistent absence",
    ),
    ("neglect of a baby", [C.NEGLECT], False, 0.5, {}, (), L.CHILD_IN_NEED, Outcome.CIN_ASSESSMENT, {CSC}, "under one"),
    (
        "emotional abuse and school concerns",
        [C.EMOTIONAL_ABUSE],
        False,
        11,
        {EDU: ["school_safeguarding_concerns"]},
        (),
        L.CHILD_IN_NEED,
        Outcome.CIN_ASSESSMENT,
        {CSC},
        "school safeguarding",
    ),
    (
        "domestic abuse, first report",
        [C.DOMESTIC_ABUSE],
        False,
        6,
        {},
        (),
        L.EARLY_HELP,
        Outcome.DOMESTIC_ABUSE_SERVICE,
        {EH},
        "domestic abuse reported",
    ),
    (
        "domestic abuse with history",
        [C.DOMESTIC_ABUSE],
        False,
        6,
        {POLICE: ["domestic_abuse_history"]},
        (),
        L.CHILD_IN_NEED,
        Outcome.DOMESTIC_ABUSE_SERVICE,
        {CSC, POLICE},
        "domestic abuse history",
    ),
    (
        "domestic abuse, repeat incidents",
        [C.DOMESTIC_ABUSE],
        False,
        4,
        {POLICE: ["repeat_domestic_abuse"]},
        (),
        L.CHILD_IN_NEED,
        Outcome.DOMESTIC_ABUSE_SERVICE,
        {CSC, POLICE},
        "repeat domestic abuse",
    ),
    (
        "domestic abuse, repeat incidents, bail in force, under one",
        [C.DOMESTIC_ABUSE],
        False,
        0.3,
        {POLICE: ["repeat_domestic_abuse", "bail_conditions_in_force", "adult_offending_history"]},
        (),
        L.CHILD_PROTECTION,
        Outcome.STRATEGY_DISCUSSION,
        {CSC, POLICE},
        "bail conditions",
    ),
    (
        "physical abuse",
        [C.PHYSICAL_ABUSE],
        False,
        5,
        {},
        (),
        L.CHILD_PROTECTION,
        Outcome.STRATEGY_DISCUSSION,
        {CSC, POLICE},
        "sexual abuse, physical abuse",
    ),
    (
        "sexual abuse",
        [C.SEXUAL_ABUSE],
        False,
        12,
        {},
        (),
        L.CHILD_PROTECTION,
        Outcome.STRATEGY_DISCUSSION,
        {CSC, POLICE},
        "sexual abuse, physical abuse",
    ),
    ("FGM risk", [C.FGM], False, 9, {}, (), L.CHILD_PROTECTION, Outcome.STRATEGY_DISCUSSION, {CSC, POLICE}, "FGM"),
    (
        "criminal exploitation",
        [C.CHILD_CRIMINAL_EXPLOITATION],
        False,
        15,
        {},
        (),
        L.CHILD_PROTECTION,
        Outcome.STRATEGY_DISCUSSION,
        {CSC, POLICE},
        "exploitation",
    ),
    (
        "immediate danger, otherwise low",
        [C.OTHER],
        True,
        10,
        {},
        (),
        L.CHILD_PROTECTION,
        Outcome.STRATEGY_DISCUSSION,
        {CSC, POLICE},
        "immediate danger",
    ),
    (
        "open CP plan found by social care",
        [C.OTHER],
        False,
        7,
        {CSC: ["open_cp_plan"]},
        (),
        L.CHILD_PROTECTION,
        Outcome.STRATEGY_DISCUSSION,
        {CSC, POLICE},
        "open child protection plan",
    ),
    (
        "previous CP plan and neglect",
        [C.NEGLECT],
        False,
        8,
        {CSC: ["previous_cp_plan"]},
        (),
        L.CHILD_IN_NEED,
        Outcome.CIN_ASSESSMENT,
        {CSC},
        "previous child protection plan",
    ),
    (
        "open case, low concern",
        [C.PARENTAL_SUBSTANCE_MISUSE],
        False,
        10,
        {CSC: ["open_case"]},
        (),
        L.CHILD_IN_NEED,
        Outcome.CIN_ASSESSMENT,
        {CSC},
        "open social care case",
    ),
    (
        "looked-after child",
        [C.OTHER],
        False,
        14,
        {CSC: ["looked_after"]},
        (),
        L.CHILD_IN_NEED,
        Outcome.CIN_ASSESSMENT,
        {CSC},
        "looked-after",
    ),
    ("missing once", [C.MISSING], False, 14, {}, (), L.EARLY_HELP, Outcome.MISSING_CHILD_RESPONSE, {EH}, "missing"),
    (
        "missing repeatedly",
        [C.MISSING],
        False,
        14,
        {POLICE: ["repeat_missing"]},
        (),
        L.CHILD_IN_NEED,
        Outcome.MISSING_CHILD_RESPONSE,
        {CSC, POLICE},
        "repeat missing",
    ),
    (
        "missing with exploitation",
        [C.MISSING, C.CHILD_CRIMINAL_EXPLOITATION],
        False,
        15,
        {POLICE: ["repeat_missing"]},
        (),
        L.CHILD_PROTECTION,
        Outcome.STRATEGY_DISCUSSION,
        {CSC, POLICE},
        "repeat missing",
    ),
    (
        "allegation against staff",
        [C.ALLEGATION_AGAINST_STAFF],
        False,
        9,
        {},
        (),
        L.CHILD_IN_NEED,
        Outcome.CIN_ASSESSMENT,
        {CSC},
        "LADO",
    ),
    (
        "unborn baby, parental substance misuse",
        [C.PARENTAL_SUBSTANCE_MISUSE],
        False,
        "unborn",
        {HEALTH: ["parental_substance_misuse_service"]},
        (),
        L.CHILD_IN_NEED,
        Outcome.CIN_ASSESSMENT,
        {CSC},
        "unborn child",
    ),
    (
        "unborn baby, nothing else",
        [C.OTHER],
        False,
        "unborn",
        {},
        (),
        L.UNIVERSAL,
        Outcome.ADVICE_AND_SIGNPOSTING,
        {EH},
        "unborn child",
    ),
    (
        "repeat contacts across partners",
        [C.PARENTAL_MENTAL_HEALTH],
        False,
        6,
        {CSC: ["re_referral_within_12_months", "previous_referrals"], HEALTH: ["repeat_unscheduled_care"]},
        (),
        L.CHILD_IN_NEED,
        Outcome.CIN_ASSESSMENT,
        {CSC},
        "re-referral",
    ),
    (
        "case closed recently, early help need",
        [C.NEGLECT],
        False,
        10,
        {CSC: ["case_closed_within_6_months"]},
        (),
        L.CHILD_IN_NEED,
        Outcome.CIN_ASSESSMENT,
        {CSC},
        "closed within the last 6 months",
    ),
    (
        "adult at risk only",
        [C.DOMESTIC_ABUSE],
        False,
        None,
        {},
        (),
        L.CHILD_PROTECTION,
        Outcome.S42_ENQUIRY,
        {ASC, POLICE},
        "s42 test: section 42 enquiry",
    ),
    (
        "adult at risk, self-neglect",
        [C.SELF_NEGLECT],
        False,
        None,
        {},
        (),
        L.EARLY_HELP,
        Outcome.CARE_NEEDS_ASSESSMENT,
        {ASC},
        "self-neglect: an enquiry only when",
    ),
    ("a desk never answered", [C.NEGLECT], False, 8, {}, (HEALTH,), L.EARLY_HELP, Outcome.EARLY_HELP, {EH}, "did not answer"),
    (
        "school exclusion and absence",
        [C.OTHER],
        False,
        14,
        {EDU: ["school_exclusion", "persistent_absence"]},
        (),
        L.EARLY_HELP,
        Outcome.EARLY_HELP,
        {EH},
        "school exclusion",
    ),
]


@pytest.fixture(scope="module")
def model() -> ThresholdModel:
    return load_model("default")


def referral(categories, danger, age, seed: int):
    g = Generator(seed)
    submission = g.notification(Scenario(tuple(categories), "Scripted case for the threshold table.", immediate_danger=danger))
    adults = [s for s in submission.subjects if s.role not in (SubjectRole.CHILD, SubjectRole.UNBORN_CHILD)]
    children = [s for s in submission.subjects if s.role is SubjectRole.CHILD]
    if age is None:
        subjects = [adults[0].model_copy(update={"role": SubjectRole.ADULT_AT_RISK})]
    elif age == "unborn":
        subjects = [
            *adults,
            children[0].model_copy(
                update={
                    "role": SubjectRole.UNBORN_CHILD,
                    "date_of_birth": None,
                    "expected_date_of_birth": NOW.date() + timedelta(days=90),
                    "nhs_number": None,
                }
            ),
        ]
    else:
        born = NOW.date() - timedelta(days=int(age * 365.25))
        subjects = [*adults, *(c.model_copy(update={"date_of_birth": born}) for c in children)]
    return accept(submission.model_copy(update={"subjects": subjects}), NOW, referrer_system="northshire_schools")


def contribution(ref: str, agency: Agency, findings: list[str]) -> Contribution:
    return Contribution(
        message_id=f"00000000-0000-0000-0000-{abs(hash((ref, agency))) % 10**12:012d}",
        referral_id=ref,
        agency=agency,
        status=ContributionStatus.SHARED if findings else ContributionStatus.NO_RECORDS_FOUND,
        findings=findings,
        rationale="scripted",
        policy_version="test-1",
        researched_at=NOW,
    )


def test_the_table_has_at_least_thirty_cases():
    assert len(CASES) >= 30 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_default_model(model, case):
    name, cats, danger, age, findings, silent, level, outcome, recipients, factor = case
    n = referral(cats, danger, age, seed=sum(map(ord, name)))
    answered = {a: contribution(n.referral_id, a, findings.get(a, [])) for a in (POLICE, HEALTH, CSC, EDU) if a not in silent}
    rec = model.recommend(n, answered, no_answer=frozenset(silent), today=NOW.date())
    explanation = "; ".join(f"{f.name} [{f.source}, {f.weight}]" for f in rec.factors)
    assert (rec.level, rec.outcome, set(rec.recipients)) == (level, outcome, recipients), explanation
    assert any(factor.lower() in f.name.lower() for f in rec.factors), explanation
    for f in rec.factors:  # every factor names where it came from
        assert f.source == "notification" or f.source == "model" or all(Agency(s) for s in f.source.split(", "))
    assert rec.level_name == model.levels[rec.level].name or (rec.level, rec.level_name) in model.adults.outcomes.values()


def test_a_finding_names_the_desk_that_reported_it(model):
    n = referral([C.OTHER], False, 7, seed=1)
    rec = model.recommend(n, {CSC: contribution(n.referral_id, CSC, ["open_cp_plan"])}, today=NOW.date())
    [cp] = [f for f in rec.factors if f.name == "open child protection plan"]
    assert cp.source == "childrens_social_care" and cp.weight == 70


def test_another_areas_model_loads_without_code_changes(model):
    north = load_model("northshire")
    assert north.version != model.version and north.levels[L.CHILD_IN_NEED].name == "Complex needs: statutory assessment"
    n = referral([C.NEGLECT], False, 9, seed=3)
    answered = {EDU: contribution(n.referral_id, EDU, ["persistent_absence"])}
    here, there = model.recommend(n, answered, today=NOW.date()), north.recommend(n, answered, today=NOW.date())
    assert here.level == L.CHILD_IN_NEED and there.level == L.EARLY_HELP, "same referral, another area's bands"
    assert there.level_name == "Targeted early help"
    assert north.auto_confirm_levels == {L.UNIVERSAL, L.EARLY_HELP}


def test_a_typo_in_a_model_file_stops_loading(model_file):
    broken = model_file(lambda text: text.replace('finding = "open_cp_plan"', 'findng = "open_cp_plan"'))
    with pytest.raises(ValueError, match="unknown condition 'findng'"):
        ThresholdModel.load(broken)


def test_regrade_green_to_red_on_an_open_cp_plan(model):
    from mash_contracts import RagRating

    n = referral([C.NEGLECT], False, 8, seed=5)
    assert model.regrade(RagRating.GREEN, {HEALTH: contribution(n.referral_id, HEALTH, ["missed_health_appointments"])}) is None
    assert model.regrade(RagRating.GREEN, {CSC: contribution(n.referral_id, CSC, ["open_cp_plan"])}) == (
        RagRating.RED,
        "childrens_social_care reported open cp plan",
    )
    assert model.regrade(RagRating.RED, {CSC: contribution(n.referral_id, CSC, ["open_case"])}) is None, "never downgraded"


def test_print_the_table(model, capsys):
    """Not an assertion: the closing note's table of outcomes, printed with -s."""
    rows = []
    for name, cats, danger, age, findings, silent, *_ in CASES:
        n = referral(cats, danger, age, seed=sum(map(ord, name)))
        answered = {a: contribution(n.referral_id, a, findings.get(a, [])) for a in (POLICE, HEALTH, CSC, EDU) if a not in silent}
        rec = model.recommend(n, answered, no_answer=frozenset(silent), today=NOW.date())
        rows.append(
            f"| {name} | {rec.level.value} {rec.level_name} | {rec.outcome.value} | {', '.join(a.value for a in rec.recipients)} | {rec.score} |"
        )
    print("\n".join(rows))
    assert len(rows) == len(CASES)
