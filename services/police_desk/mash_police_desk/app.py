"""Composition root of the police desk: its policy file and its records; the rest is the shared desk skeleton."""

from pathlib import Path

from mash_contracts import Agency
from mash_desk import DeskDefinition
from mash_desk import main as run_desk

from . import records, synthetic

DESK = DeskDefinition(
    agency=Agency.POLICE,
    policy_file=Path(__file__).with_name("policy.toml"),
    metadata=records.metadata,
    people=records.people,
    record_classes=records.RECORD_CLASSES,
    synthetic=synthetic.RECORDS,
)


def main() -> None:
    run_desk(DESK)
