"""The adult social care desk over the real broker (issue 19, part 1): found by its entry point, started by the mesh,
seeded from the population, it answers a referral about an adult at risk it knows with its own findings, the allocated
worker's team in words, and a disclosure record in its own store."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from sqlalchemy import create_engine, text

from mash_contracts import (
    Address,
    AdultAtRiskDetails,
    Agency,
    ConcernCategory,
    ConsentPosition,
    ConsentStatus,
    ContributionStatus,
    Subject,
    SubjectRole,
)
from mash_contracts.topics import ACKNOWLEDGEMENTS, contributions_topic, desk_service, lanes
from mash_tools import population
from mash_tools.synthetic import Generator, Scenario

from .watch import Seen, run

pytestmark = pytest.mark.integration
ASC = Agency.ADULT_SOCIAL_CARE
ROLES = {
    "social_worker": "social worker",
    "occupational_therapist": "occupational therapist",
    "care_coordinator": "care coordinator",
}


def test_an_adult_at_risk_it_knows_is_answered_with_its_findings_and_the_team_in_words(mesh, watcher):
    # Someone the mesh's own population says adult social care knows, with an allocated worker, as its records spell them.
    tables = population.load_agency_tables(mesh.state_dir / "population.json", ASC.value)
    case = next(c for c in tables["open_cases"] if c["allocated"])
    person = next(p for p in tables["people"] if p["person_id"] == case["person_id"])
    adult = Subject(
        subject_ref="adult1",
        role=SubjectRole.ADULT_AT_RISK,
        given_name=person["given_name"],
        family_name=person["family_name"],
        date_of_birth=date.fromisoformat(person["date_of_birth"]),
        nhs_number=person["nhs_number"],
        address=Address(line1=person["address_line1"] or "1 Unknown Road", town="Anytown", postcode=person["postcode"]),
    )
    scenario = Scenario(
        (ConcernCategory.NEGLECT,),
        "Home care visits missed for a week; the adult was found without food.",
        adult=AdultAtRiskDetails(desired_outcomes=["To have carers I can rely on"]),
    )
    submission = Generator(seed=uuid.uuid4().int).notification(scenario, [adult], ConsentPosition(status=ConsentStatus.GIVEN))
    run(watcher.submit(submission))

    def referral_id(seen: Seen) -> str | None:
        return next(
            (a.referral_id for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id == submission.submission_id), None
        )

    def answered(seen: Seen) -> bool:
        ref = referral_id(seen)
        return ref is not None and any(c.referral_id == ref for c in seen.lanes(contributions_topic(ASC)))

    seen = run(watcher.read_until([ACKNOWLEDGEMENTS.name, *lanes(contributions_topic(ASC))], answered, timeout=120))
    ref = referral_id(seen)
    [c] = [c for c in seen.lanes(contributions_topic(ASC)) if c.referral_id == ref]
    assert c.agency is ASC and c.status is ContributionStatus.SHARED
    assert {"care_and_support_needs", "allocated_worker"} <= set(c.findings)
    assert c.finding_explanations["allocated_worker"].startswith(
        f"Open adult social care case since {case['opened_on']} with the {case['team']}, "
        f"allocated worker: {ROLES[case['worker_role']]}"
    )
    shared = c.model_dump_json()
    assert person["date_of_birth"] not in shared and f"{person['given_name']} {person['family_name']}" not in shared, (
        "the items and explanations identify the adult by subject ref only"
    )

    service = desk_service(ASC)
    engine = create_engine(f"sqlite:///{mesh.state_dir / 'services' / service / (service + '.db')}")
    with engine.connect() as conn:
        rows = conn.execute(text("select record from disclosure_records where referral_id = :r"), {"r": ref}).all()
    engine.dispose()
    [record] = [json.loads(r.record) for r in rows]
    assert record["statutory_footing"] == "care_act_s42" and record["outcome"] == "shared"
    assert record["disclosure_id"] == str(c.disclosure_id)
