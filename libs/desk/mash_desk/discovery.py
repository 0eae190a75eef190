"""The installed desks' definitions, found in one place.

Each desk package declares its `DeskDefinition` under the `mash.desks` entry point group. The topic catalogue
(mash_contracts.topics, below this library) reads only the entry points' names, so it never imports a desk; what
needs a desk's tables, policy or synthetic records (the population, the bench, the tests) loads them here.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from mash_contracts import Agency
from mash_contracts.topics import DESK_AGENCIES, DESK_ENTRY_POINTS

from .service import DeskDefinition


@cache
def discovered() -> dict[Agency, DeskDefinition]:
    """Each installed desk's definition by agency, in the order of `DESK_AGENCIES` (the vocabulary's)."""
    found = {Agency(ep.name): ep for ep in entry_points(group=DESK_ENTRY_POINTS)}
    desks = {}
    for agency in DESK_AGENCIES:
        desk = found[agency].load()
        # A wrong declaration would otherwise surface far away, as another agency's records or an AttributeError.
        if not isinstance(desk, DeskDefinition) or desk.agency is not agency:
            raise TypeError(f"the {DESK_ENTRY_POINTS!r} entry point {agency.value!r} is not {agency.value}'s DeskDefinition")
        desks[agency] = desk
    return desks
