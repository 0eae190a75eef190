"""Composition root of the adult social care desk: its records, synthetic records and policy file (beside this module);
the rest is the shared desk (mash_desk)."""

from mash_contracts import Agency
from mash_desk import DeskDefinition

from . import records, synthetic

DESK = DeskDefinition.of(Agency.ADULT_SOCIAL_CARE, records, synthetic)
main = DESK.run
