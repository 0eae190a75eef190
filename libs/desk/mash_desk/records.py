"""The SQL adapter for an agency's own records.

An agency declares its tables and, for each record class its policy names, which table holds it, which
columns point at people (and in what role) and how to summarise a row without naming anyone. This adapter
does the rest: finding candidate people and reading the records about matched people.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Date, MetaData, String, Table, delete, insert, or_, select
from sqlalchemy.sql.elements import ColumnElement

from mash_contracts import Subject
from mash_runtime.store import Database

from .model import AgencyRecord, Candidate


def people_table(metadata: MetaData) -> Table:
    """Every agency's person index has the same shape; the rest of its schema is its own."""
    return Table(
        "people",
        metadata,
        Column("person_id", String(32), primary_key=True),
        Column("given_name", String(120)),
        Column("family_name", String(120), nullable=False),
        Column("family_key", String(8), index=True),  # blocking key for candidate search: see family_key()
        Column("date_of_birth", Date, index=True),
        Column("nhs_number", String(10), index=True),
        Column("address_line1", String(200)),
        Column("postcode", String(10), index=True),
        Column("true_person_id", String(32)),  # synthetic data only: lets tests score matching; never read here
    )


def record_table(name: str, metadata: MetaData, ref: str, about: str, *columns: Column[Any]) -> Table:
    """An agency's record table as nearly every one is kept: the agency's own reference for the record, then the person
    (in its person index) the record is about, never missing and indexed because research reads records by person;
    the columns after those are the agency's own."""
    return Table(
        name, metadata, Column(ref, String(32), primary_key=True), Column(about, String(32), nullable=False, index=True), *columns
    )


def family_key(family_name: str | None) -> str:
    """The first three letters of the family name, lower case: an indexed key that narrows the search to
    plausible candidates (a typo in those letters is still caught through the NHS number or date of birth)."""
    return "".join(ch for ch in (family_name or "").lower() if ch.isalpha())[:3]


@dataclass(frozen=True)
class RecordClass:
    name: str
    table: Table
    # column -> role of that person in the record; the role "parent" names the parent of the child the record is
    # about, which links an unborn child to the parent's other children (see linkage.py)
    parties: dict[str, str]
    occurred: str | None  # date column; None where the record has no single date
    describe: Callable[[Any], str]  # row -> summary without names
    where: Callable[[Table], ColumnElement[bool]] | None = None
    not_for_disclosure: str | None = None  # boolean column
    sensitivity: tuple[str, ...] = ()


class SqlRecordSource:
    def __init__(self, db: Database, people: Table, classes: list[RecordClass]):
        self.db = db
        self.people = people
        self.classes = classes

    def candidates(self, subject: Subject) -> list[Candidate]:
        p = self.people.c
        dob = subject.date_of_birth or subject.expected_date_of_birth
        # Cast a wide net (any one identifier agreeing, or the start of the family name); the matcher judges.
        terms = [p.family_key == family_key(subject.family_name)]
        if subject.nhs_number:
            terms.append(p.nhs_number == subject.nhs_number)
        if dob:
            terms.append(p.date_of_birth == dob)
        with self.db.transaction() as s:
            rows = s.execute(select(self.people).where(or_(*terms)).limit(500)).all()
        return [Candidate(r.person_id, r.given_name, r.family_name, r.date_of_birth, r.nhs_number, r.postcode) for r in rows]

    def records_for(self, person_ids: Collection[str]) -> list[AgencyRecord]:
        ids = list(person_ids)
        found: list[AgencyRecord] = []
        with self.db.transaction() as s:
            for rc in self.classes:
                t = rc.table
                query = select(t).where(or_(*(t.c[col].in_(ids) for col in rc.parties)))
                if rc.where is not None:
                    query = query.where(rc.where(t))
                for row in s.execute(query):
                    pk = next(iter(t.primary_key.columns)).name
                    found.append(
                        AgencyRecord(
                            record_class=rc.name,
                            ref=str(getattr(row, pk)),
                            occurred_on=getattr(row, rc.occurred) if rc.occurred else None,
                            summary=rc.describe(row),
                            parties={getattr(row, col): role for col, role in rc.parties.items() if getattr(row, col)},
                            not_for_disclosure=bool(getattr(row, rc.not_for_disclosure)) if rc.not_for_disclosure else False,
                            sensitivity=rc.sensitivity,
                        )
                    )
        return found


def load_tables(db: Database, metadata: MetaData, tables: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Replace the agency's records with the given rows (synthetic seeding). Dates arrive as ISO strings."""
    counts = {}
    with db.transaction() as s:
        for table in reversed(metadata.sorted_tables):
            if table.name in tables:
                s.execute(delete(table))
        for table in metadata.sorted_tables:
            rows = [_coerce(table, r) for r in tables.get(table.name, [])]
            if rows:
                s.execute(insert(table), rows)
            counts[table.name] = len(rows)
    return counts


def _coerce(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    if "family_key" in table.c and "family_key" not in row:
        row = {**row, "family_key": family_key(row.get("family_name"))}
    out = {}
    for col in table.columns:
        value = row.get(col.name)
        if isinstance(col.type, Date) and isinstance(value, str):
            value = date.fromisoformat(value)
        elif isinstance(value, (list, dict)):
            value = json.dumps(value)
        out[col.name] = value
    return out


def read_population(path: Path, agency: str) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = json.loads(path.read_text())["agencies"].get(agency, {})
    return tables
