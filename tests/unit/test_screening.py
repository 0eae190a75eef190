from datetime import UTC, datetime

import pytest

from mash_contracts import ConcernCategory, NotificationSubmission, RagRating
from mash_intake import screening

pytestmark = pytest.mark.unit


def with_concern(s: NotificationSubmission, categories, danger=False) -> NotificationSubmission:
    concern = s.concern.model_copy(update={"categories": categories, "immediate_danger": danger})
    return s.model_copy(update={"concern": concern})


def test_referral_id_is_stable_for_a_resubmission(generator, now):
    s = generator.notification()
    first, again = (
        screening.accept(s, now, referrer_system="northshire_schools"),
        screening.accept(s, now, referrer_system="northshire_schools"),
    )
    assert first.referral_id == again.referral_id and first.message_id == again.message_id
    assert first.referral_id.startswith("REF-") and len(first.referral_id) == 16


def test_same_reference_from_another_referrer_is_another_referral(generator, now):
    s = generator.notification()
    other = s.model_copy(update={"referrer": s.referrer.model_copy(update={"organisation": "Another School"})})
    assert screening.referral_id_for(s, "northshire_schools") != screening.referral_id_for(other, "northshire_schools")


def test_the_same_reference_from_another_referrer_system_is_another_referral(generator, now):
    """Each enrolled referrer's references are its own: two systems that both number from 1 never collide."""
    s = generator.notification()
    assert screening.referral_id_for(s, "northshire_schools") != screening.referral_id_for(s, "northshire_gp")
    assert screening.accept(s, now, referrer_system="northshire_gp").referrer_system == "northshire_gp"


@pytest.mark.parametrize(
    "categories,danger,rag",
    [
        ([ConcernCategory.NEGLECT], True, RagRating.RED),
        ([ConcernCategory.DOMESTIC_ABUSE], False, RagRating.AMBER),
        # Was Amber: a sexual abuse disclosure means significant harm on its own, so Red whatever the referrer ticked.
        ([ConcernCategory.SEXUAL_ABUSE, ConcernCategory.NEGLECT], False, RagRating.RED),
        ([ConcernCategory.PARENTAL_MENTAL_HEALTH], False, RagRating.GREEN),
        ([ConcernCategory.OTHER], False, RagRating.GREEN),
    ],
)
def test_initial_rag(generator, categories, danger, rag):
    assert screening.initial_rag(with_concern(generator.notification(), categories, danger)) is rag


@pytest.mark.parametrize(
    "received,due",
    [
        (datetime(2026, 11, 18, 9, 0, tzinfo=UTC), datetime(2026, 11, 18, 17, 0, tzinfo=UTC)),  # Wed 09:00 -> Wed 17:00
        (datetime(2026, 11, 20, 16, 0, tzinfo=UTC), datetime(2026, 11, 23, 16, 0, tzinfo=UTC)),  # Fri -> Mon
        (datetime(2026, 11, 21, 11, 0, tzinfo=UTC), datetime(2026, 11, 23, 17, 0, tzinfo=UTC)),  # Sat: clock starts Mon 09:00
        (
            datetime(2026, 12, 24, 16, 0, tzinfo=UTC),
            datetime(2026, 12, 29, 16, 0, tzinfo=UTC),
        ),  # Christmas, Boxing Day substitute
    ],
)
def test_decision_due_one_working_day_later(received, due):
    assert screening.next_working_day(received) == due


def test_acknowledgement_names_the_referral_and_no_person(generator, now):
    n = screening.accept(generator.notification(), now, referrer_system="northshire_schools")
    ack = screening.acknowledgement(n)
    assert ack.referral_id == n.referral_id and n.referral_id in ack.text
    for subject in n.subjects:
        assert subject.family_name not in ack.text


@pytest.mark.parametrize(
    "raw,expected",
    [(b'{"submission_id": "ABC-1", "x": 1}', "ABC-1"), (b"\xff", None), (b"[1]", None), (b'{"submission_id": 5}', None)],
)
def test_submission_id_recovered_for_rejections(raw, expected):
    assert screening.submission_id_of(raw) == expected


@pytest.mark.parametrize(
    "raw,key,expected",
    [
        (None, b"GUIDE-0001", "GUIDE-0001"),  # not an envelope: the key is the referrer's reference, all there is
        (b"\xff", b"GUIDE-0001", "GUIDE-0001"),
        (b'{"submission_id": "ABC-1"}', b"GUIDE-0001", "ABC-1"),  # the opened reference first
        (b'{"submission_id": "Barbara Baldwin 14/05/2018"}', b"GUIDE-0001", "GUIDE-0001"),
        (b'{"submission_id": "Barbara Baldwin 14/05/2018"}', b"Barbara Baldwin 14/05/2018", None),
        (b'{"submission_id": "ODD\\nNL"}', None, None),
        (None, b"\xff\xfe", None),
        (None, None, None),
    ],
)
def test_a_rejection_finds_its_referrer_and_never_repeats_a_refused_reference(raw, key, expected):
    """Refused bytes come back under the reference the referrer submitted with; a reference the contract refuses
    (it may be a name someone typed) never goes back over the unsealed topic."""
    assert screening.submission_id_of(raw, key) == expected


@pytest.mark.parametrize(
    "categories,danger,footing",
    [
        ([ConcernCategory.NEGLECT], False, "s17"),
        ([ConcernCategory.DOMESTIC_ABUSE], False, "s17"),
        ([ConcernCategory.DOMESTIC_ABUSE], True, "s47"),
        ([ConcernCategory.NEGLECT, ConcernCategory.SEXUAL_ABUSE], False, "s47"),
    ],
)
def test_statutory_footing(generator, categories, danger, footing):
    assert screening.statutory_footing(with_concern(generator.notification(), categories, danger)).value == footing


SIGNIFICANT_HARM = [
    ConcernCategory.SEXUAL_ABUSE,
    ConcernCategory.PHYSICAL_ABUSE,
    ConcernCategory.FGM,
    ConcernCategory.CHILD_SEXUAL_EXPLOITATION,
    ConcernCategory.CHILD_CRIMINAL_EXPLOITATION,
    ConcernCategory.FABRICATED_ILLNESS,
    ConcernCategory.FORCED_MARRIAGE,
    ConcernCategory.HONOUR_BASED_ABUSE,
    ConcernCategory.TRAFFICKING,
]


@pytest.mark.parametrize("model_name", ["default", "northshire"])
@pytest.mark.parametrize("category", SIGNIFICANT_HARM)
def test_significant_harm_screens_red_and_s47_without_the_danger_flag(generator, now, category, model_name):
    from mash_contracts.threshold import load_model

    n = screening.accept(
        with_concern(generator.notification(), [category], danger=False),
        now,
        load_model(model_name),
        referrer_system="northshire_schools",
    )
    assert (n.rag, n.statutory_footing.value) == (RagRating.RED, "s47")


def test_screening_is_the_model_files_data_not_code(generator, now, model_file):
    """Intake screens by whatever model it is given: a model whose file makes self-harm Red makes it Red."""
    from mash_contracts.threshold import ThresholdModel

    s = with_concern(generator.notification(), [ConcernCategory.SELF_HARM])
    assert screening.accept(s, now, referrer_system="northshire_schools").rag is RagRating.AMBER
    # The appended rule lands after [confirmation]; TOML's array-of-tables header puts it back under [screening].
    red = '\n[[screening.rules]]\nname = "self-harm, in this area"\nwhen = { categories = ["self_harm"] }\nrag = "red"\n'
    area = model_file(lambda text: text + red)
    assert screening.accept(s, now, ThresholdModel.load(area), referrer_system="northshire_schools").rag is RagRating.RED


def test_intake_chooses_its_model_with_the_decision_services_setting(monkeypatch):
    from mash_decision.settings import DecisionSettings
    from mash_intake.settings import IntakeSettings

    monkeypatch.setenv("MASH_MODEL", "northshire")
    assert IntakeSettings().model == DecisionSettings(declared_findings={}).model == "northshire"


def test_a_screening_rule_with_an_unknown_condition_stops_loading(model_file):
    from mash_contracts.threshold import ThresholdModel

    typo = model_file(lambda text: text.replace('when = { categories = ["fgm"] }', 'when = { category = ["fgm"] }'))
    with pytest.raises(ValueError, match="unknown condition 'category'"):
        ThresholdModel.load(typo)


def test_a_record_keyed_other_than_by_its_reference_is_refused_without_echoing_the_key(generator):
    from mash_intake.screening import keyed_by_its_reference
    from mash_runtime.errors import Rejected

    submission = generator.notification()
    keyed_by_its_reference(submission, submission.submission_id.encode())  # as the contract says: accepted
    for key in (b"BIG-0002", None, b"Barbara Baldwin 14/05/2018"):
        with pytest.raises(Rejected) as refused:
            keyed_by_its_reference(submission, key)
        assert "submission_id" in str(refused.value) and (key is None or key.decode() not in str(refused.value))
