from collections import Counter

import pytest

from mash_contracts import Subject
from mash_contracts.messages import nhs_number_is_valid
from mash_tools import population as pop
from mash_tools.synthetic import SCRIPTED_REFERRALS

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def world():
    return pop.build_population(seed=3, families=300)


def test_reproducible_by_seed(world):
    assert pop.build_population(seed=3, families=300).agencies == world.agencies
    assert pop.build_population(seed=4, families=300).agencies != world.agencies


def test_every_reference_resolves_within_its_agency(world):
    for agency, tables in pop.merge(world, pop.scripted_cases()).items():
        ids = {p["person_id"] for p in tables["people"]}
        assert len(ids) == len(tables["people"]), f"{agency}: duplicate person ids"
        for table, rows in tables.items():
            for row in rows:
                refs = [
                    row[k]
                    for k in ("person_id", "child_id", "victim_id", "perpetrator_id", "subject_id", "parent_id")
                    if row.get(k)
                ]
                refs += row.get("child_ids") or []
                assert set(refs) <= ids, f"{agency}.{table} points at an unknown person"


def test_nhs_numbers_are_valid_and_in_the_test_range(world):
    numbers = [p.nhs_number for p in world.people if p.nhs_number]
    assert numbers and all(n.startswith("999") and nhs_number_is_valid(n) for n in numbers)


def test_agencies_know_people_imperfectly(world):
    truth = {p.person_id: p for p in world.people}
    police = world.agencies["police"]["people"]
    misspelt = sum(
        r["family_name"] != truth[r["true_person_id"]].family_name or r["given_name"] != truth[r["true_person_id"]].given_name
        for r in police
    )
    lost_nhs = sum(r["nhs_number"] is None and truth[r["true_person_id"]].nhs_number is not None for r in police)
    assert 0.03 < misspelt / len(police) < 0.25
    assert 0.1 < lost_nhs / len(police) < 0.5


def test_families_overlap_across_agencies(world):
    known = {a: {r["true_person_id"] for r in t["people"]} for a, t in world.agencies.items()}
    assert known["police"] & known["health"] and known["childrens_social_care"] & known["education"]


def test_scripted_cases_have_the_shape_the_tests_rely_on():
    cases = {c.name: c for c in pop.scripted_cases()}
    assert set(cases) >= {
        "da_household",
        "neglect_old_intel",
        "open_cp_plan",
        "uncertain_match",
        "unknown_family",
        "consent_refused_s17",
    }
    assert set(cases) <= set(SCRIPTED_REFERRALS), "every scripted case says what it is referred for"
    for c in cases.values():
        assert [Subject.model_validate(s) for s in c.subjects]
    partner = next(r for r in cases["da_household"].agencies["police"]["people"] if r["true_person_id"] == "S003")
    assert partner["nhs_number"] is None and sum(a != b for a, b in zip(partner["family_name"], "Donnelly")) == 1
    police_people = cases["uncertain_match"].agencies["police"]["people"]
    assert "S032" not in {r["true_person_id"] for r in police_people}, "the real mother is unknown to the police"
    assert Counter(r["family_name"] for r in police_people)["Baxter"] == 2
    assert cases["unknown_family"].agencies == {}


def test_adding_a_desk_leaves_every_other_agencys_records_as_they_were(monkeypatch):
    with_it = pop.build_population(seed=11, families=20)
    without = {a: g for a, g in pop.GENERATORS.items() if a != "adult_social_care"}
    monkeypatch.setattr(pop, "GENERATORS", without)
    fewer = pop.build_population(seed=11, families=20)
    assert "adult_social_care" in with_it.agencies and "adult_social_care" not in fewer.agencies
    assert {a: t for a, t in with_it.agencies.items() if a != "adult_social_care"} == fewer.agencies
