"""Pre-birth over the real mesh: the referral names an expectant mother and her unborn child, not her older child
who was removed from her care; the social care desk links him through its own records, and the decision is a
pre-birth assessment resting on that finding."""

from __future__ import annotations

import uuid

import pytest

from mash_contracts import Agency, ContributionStatus, Outcome
from mash_contracts.topics import ACKNOWLEDGEMENTS, CONTRIBUTIONS, DECISIONS, lanes
from mash_tools.synthetic import Generator, scripted_notification

from .watch import Seen, run

pytestmark = pytest.mark.integration


def test_an_unborn_child_with_a_previous_child_removed_gets_a_pre_birth_assessment(mesh, watcher, scripted):
    case = scripted["pre_birth_previous_removal"]
    assert {s["role"] for s in case.subjects} == {"parent_carer", "unborn_child"}, "the older child is not named"
    submission = scripted_notification(Generator(seed=uuid.uuid4().int), case.name, case.subjects)
    run(watcher.submit(submission))

    def referral_id(seen: Seen) -> str | None:
        return next(
            (a.referral_id for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id == submission.submission_id), None
        )

    def decided(seen: Seen) -> bool:
        ref = referral_id(seen)
        return (
            ref is not None
            and any(d.referral_id == ref for d in seen.decoded(DECISIONS.name))
            and any(
                c.referral_id == ref and c.agency is Agency.CHILDRENS_SOCIAL_CARE
                for t in CONTRIBUTIONS
                for c in seen.lanes(t.name)
            )
        )

    topics = [ACKNOWLEDGEMENTS.name, DECISIONS.name, *(n for t in CONTRIBUTIONS for n in lanes(t.name))]
    seen = run(watcher.read_until(topics, decided, timeout=120))
    ref = referral_id(seen)
    decision = next(d for d in seen.decoded(DECISIONS.name) if d.referral_id == ref)
    social_care = next(
        c for t in CONTRIBUTIONS for c in seen.lanes(t.name) if c.referral_id == ref and c.agency is Agency.CHILDRENS_SOCIAL_CARE
    )

    assert social_care.status is ContributionStatus.SHARED and "previous_child_removed" in social_care.findings
    [removal] = [i for i in social_care.items if i.record_ref == "CPR-S062"]
    assert removal.subject_refs == ["parent1"] and "previous child of the expectant mother" in removal.relevance
    assert "Tyler" not in social_care.model_dump_json(), "the older child's identity is withheld"

    assert decision.outcome is Outcome.PRE_BIRTH_ASSESSMENT, [f.name for f in decision.explanation]
    assert decision.level.value >= 3
    pre_birth = [
        f for f in decision.explanation if "previous child removed" in f.name and Agency.CHILDRENS_SOCIAL_CARE.value in f.source
    ]
    assert pre_birth, [(f.name, f.source) for f in decision.explanation]
    assert social_care.disclosure_id in pre_birth[0].disclosure_ids
