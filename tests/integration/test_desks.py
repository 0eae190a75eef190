"""Agency desks over the real broker: each researches its own seeded records and decides what to share."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import create_engine, text

from mash_contracts import Agency, RagRating
from mash_contracts import ContributionStatus as S
from mash_contracts.topics import ACKNOWLEDGEMENTS, CONTRIBUTIONS, DECISIONS, PRODUCTS, lanes
from mash_tools.synthetic import Generator, scripted_notification

from .watch import Seen, run

pytestmark = pytest.mark.integration
DESK_SERVICE = {
    Agency.POLICE: "police_desk",
    Agency.HEALTH: "health_desk",
    Agency.CHILDRENS_SOCIAL_CARE: "social_care",
    Agency.EDUCATION: "education_desk",
}


@pytest.fixture(scope="module")
def outcomes(mesh, watcher_module, scripted):
    """Submit every scripted case once; return, per case, its referral id and each desk's contribution. The practice
    cases are test_practice_mesh's: each is judged there as a first contact, and the hub remembers every referral."""
    generator = Generator(seed=uuid.uuid4().int)
    submissions = {
        name: scripted_notification(generator, name, case.subjects)
        for name, case in scripted.items()
        if not name.startswith("practice_")
    }
    run(watcher_module.submit(*submissions.values()))
    wanted = {s.submission_id: name for name, s in submissions.items()}

    def refs(seen: Seen) -> dict[str, str]:
        return {a.referral_id: wanted[a.submission_id] for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id in wanted}

    def complete(seen: Seen) -> bool:
        r = refs(seen)
        return len(r) == len(wanted) and len({d.referral_id for d in seen.decoded(DECISIONS.name) if d.referral_id in r}) == len(
            wanted
        )

    topics = [
        ACKNOWLEDGEMENTS.name,
        DECISIONS.name,
        *(n for t in CONTRIBUTIONS for n in lanes(t.name)),
        *(t.name for t in PRODUCTS),
    ]
    seen = run(watcher_module.read_until(topics, complete, timeout=90))
    by_case = {}
    for ref, name in refs(seen).items():
        by_case[name] = {
            "referral_id": ref,
            "submission": submissions[name],
            "contributions": {
                c.agency: c
                for t in CONTRIBUTIONS
                for c in seen.lanes(t.name)
                if c.referral_id == ref and c.agency in DESK_SERVICE
            },
            "products": [p for t in PRODUCTS for p in seen.decoded(t.name) if p.referral_id == ref],
            "decision": next(d for d in seen.decoded(DECISIONS.name) if d.referral_id == ref),
        }
    return by_case


@pytest.fixture(scope="module")
def watcher_module(topics, mesh):
    from .watch import Watcher

    return Watcher(mesh.access, mesh.keys_dir)


def disclosures(mesh, agency: Agency, referral_id: str) -> list[dict]:
    service = DESK_SERVICE[agency]
    engine = create_engine(f"sqlite:///{mesh.state_dir / 'services' / service / (service + '.db')}")
    with engine.connect() as conn:
        rows = conn.execute(text("select record from disclosure_records where referral_id = :r"), {"r": referral_id}).all()
    engine.dispose()
    return [json.loads(r.record) for r in rows]


def test_s47_domestic_abuse_household_shares_the_partners_history_found_by_fuzzy_match(outcomes):
    police = outcomes["da_household"]["contributions"][Agency.POLICE]
    assert police.status is S.SHARED
    da = [i for i in police.items if i.record_class == "domestic_abuse_incident"]
    assert len(da) == 3 and all("perpetrator" in i.summary for i in da)
    partner_items = [i for i in police.items if any(ref != "child1" and i.match_confidence < 1 for ref in i.subject_refs)]
    assert partner_items, "the partner, misspelt and without an NHS number at the police, was matched fuzzily"
    assert "arrest" in {i.record_class for i in police.items}, "under s47 the partner's assault arrest is relevant"
    assert {"repeat_domestic_abuse", "domestic_abuse_history", "adult_offending_history"} <= set(police.findings)
    oldest = next(i for i in da if i.record_ref == "INC-S003")
    assert "s47" in oldest.relevance, "the incident older than two years is shared only because this is a s47 enquiry"
    assert not {"INT-S001", "INT-S002"} & {i.record_ref for i in police.items}, "intelligence is not relevant to domestic abuse"
    health = outcomes["da_household"]["contributions"][Agency.HEALTH]
    assert {i.record_class for i in health.items} >= {"gp_registration", "mental_health_contact"}
    assert "mental_health" in {s for i in health.items for s in i.sensitivity}


def test_neglect_concern_does_not_pull_unrelated_old_police_records(outcomes):
    case = outcomes["neglect_old_intel"]
    police = case["contributions"][Agency.POLICE]
    assert police.status is S.NOTHING_RELEVANT and police.items == []
    assert case["contributions"][Agency.CHILDRENS_SOCIAL_CARE].status is S.SHARED
    education = case["contributions"][Agency.EDUCATION]
    assert {"persistent_absence", "school_safeguarding_concerns"} <= set(education.findings)


def test_an_open_cp_plan_is_found_and_raised(outcomes):
    csc = outcomes["open_cp_plan"]["contributions"][Agency.CHILDRENS_SOCIAL_CARE]
    assert "open_cp_plan" in csc.findings and "current_cp_plan" in {i.record_class for i in csc.items}


def test_an_open_cp_plan_regrades_the_referral_from_green_to_red(outcomes):
    decision = outcomes["open_cp_plan"]["decision"]
    assert [(c.from_rag, c.to_rag) for c in decision.rag_history] == [(RagRating.GREEN, RagRating.RED)]
    assert "childrens_social_care reported open cp plan" in decision.rag_history[0].reason
    assert decision.rag is RagRating.RED and decision.level == 4
    assert any(f.name == "open child protection plan" and f.source == "childrens_social_care" for f in decision.explanation)


def test_an_uncertain_match_is_reported_as_uncertain_and_not_shared(outcomes):
    police = outcomes["uncertain_match"]["contributions"][Agency.POLICE]
    assert police.items == [] and police.status is S.NO_RECORDS_FOUND
    [maybe] = [u for u in police.uncertain_matches if u.subject_ref != "child1"]
    assert maybe.candidates == 2 and maybe.confidence < 0.85
    assert "uncertain" in police.rationale


def test_no_records_found_is_distinct_from_declined(outcomes):
    unknown = outcomes["unknown_family"]["contributions"]
    assert {c.status for c in unknown.values()} == {S.NO_RECORDS_FOUND}
    refused = dict(outcomes["consent_refused_s17"]["contributions"])
    # The police research whatever the consent position (DPA 2018 Part 3) and hold nothing on this family;
    # the desks whose footing without consent is significant harm decline an s17 referral.
    assert refused.pop(Agency.POLICE).status is S.NO_RECORDS_FOUND
    assert {c.status for c in refused.values()} == {S.DECLINED}
    assert all("AB v Haringey" in c.rationale and c.items == [] for c in refused.values())


def test_every_desk_decision_has_one_disclosure_record(mesh, outcomes):
    for name, case in outcomes.items():
        assert set(case["contributions"]) == set(DESK_SERVICE), f"{name}: every desk answered"
        for agency, contribution in case["contributions"].items():
            [record] = disclosures(mesh, agency, case["referral_id"])
            assert record["outcome"] == contribution.status.value and record["disclosure_id"] == str(contribution.disclosure_id)
            assert {i["record_ref"] for i in record["items_shared"] if i["record_ref"]} == {
                i.record_ref for i in contribution.items if i.record_ref
            }
            assert record["retain_until"] > record["recorded_at"][:10] and record["art6_basis"] and record["statutory_footing"]


def test_contributions_and_products_name_nobody_outside_the_referral(outcomes, scripted):
    for name, case in outcomes.items():
        named = {p.family_name for p in scripted[name].people}
        for c in case["contributions"].values():
            for item in c.items:
                assert not any(n in item.summary for n in named), f"{name}: a summary names a person"
