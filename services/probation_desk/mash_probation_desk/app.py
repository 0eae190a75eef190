"""Composition root of the probation desk: its records, synthetic records and policy file (beside this module); the rest is
the shared desk (mash_desk)."""

from mash_contracts import Agency
from mash_desk import DeskDefinition

from . import records, synthetic

DESK = DeskDefinition.of(Agency.PROBATION, records, synthetic)
main = DESK.run
