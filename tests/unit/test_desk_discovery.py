"""The installed desks' definitions are loaded in one place (mash_desk.discovered), in the catalogue's order, and
everything that needs one (the synthetic population, the bench) takes it from there."""

import pytest

from mash_contracts.topics import DESK_AGENCIES, DESKS
from mash_desk import DeskDefinition, discovered

pytestmark = pytest.mark.unit


def test_every_desk_the_catalogue_names_is_loaded_once_in_its_order():
    desks = discovered()
    assert tuple(desks) == DESK_AGENCIES
    for agency, desk in desks.items():
        assert isinstance(desk, DeskDefinition) and desk.agency is agency and desk.service == DESKS[agency]
    assert discovered() is desks  # loaded once: every caller shares the same definitions


def test_the_population_draws_each_desks_records_from_the_discovered_definitions():
    from mash_tools import population

    assert list(population.GENERATORS) == [a.value for a in DESK_AGENCIES]
    assert all(population.GENERATORS[a.value] is d.synthetic for a, d in discovered().items())


def test_a_declaration_that_is_not_the_agencys_desk_is_refused_by_name(monkeypatch):
    from mash_desk import discovery

    police = DESK_AGENCIES[0]

    class Declared:
        name = police.value

        def load(self):
            return "not a desk"

    monkeypatch.setattr(discovery, "entry_points", lambda group: [Declared()])
    discovery.discovered.cache_clear()
    try:
        with pytest.raises(TypeError, match=f"'{police.value}' is not {police.value}'s DeskDefinition"):
            discovery.discovered()
    finally:
        discovery.discovered.cache_clear()
