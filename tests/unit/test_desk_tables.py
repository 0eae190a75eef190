"""Every desk's record tables keep the shape the shared desk relies on.

The desk's research finds a person's records by the columns its record classes name as parties and reports each
record under its primary key (mash_desk.records.SqlRecordSource); the synthetic population writes rows by column name.
These rules hold for every installed desk, so a desk whose tables drift from them fails here, not in a referral.
"""

import random
from datetime import date
from importlib.metadata import entry_points

import pytest
from faker import Faker
from sqlalchemy import Boolean, Column, Date, MetaData, String, Table, Text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from mash_contracts import Agency
from mash_contracts.topics import DESK_ENTRY_POINTS, DESKS
from mash_desk import DeskDefinition, people_table, record_table
from mash_desk.synthetic import AgencyRecords, Person

pytestmark = pytest.mark.unit

# Tables whose rows may name nobody for certain, and why: an incident's victim or perpetrator may be unknown.
NO_CERTAIN_PARTY = {(Agency.POLICE, "incidents")}


def _desks() -> dict[Agency, DeskDefinition]:
    found = {Agency(ep.name): ep.load() for ep in entry_points(group=DESK_ENTRY_POINTS)}
    return {agency: found[agency] for agency in DESKS}


DESK_DEFINITIONS = _desks()


def _shape(table: Table) -> list[tuple[str, str, bool | None, bool, bool | None]]:
    return [(c.name, repr(c.type), c.nullable, c.primary_key, c.index) for c in table.columns]


def _ddl(table: Table) -> list[str]:
    return [str(CreateTable(table).compile(dialect=d())) for d in (sqlite.dialect, postgresql.dialect)] + sorted(
        str(CreateIndex(i).compile(dialect=sqlite.dialect())) for i in table.indexes
    )


def _record_tables(desk: DeskDefinition) -> list[Table]:
    return [t for t in desk.metadata.sorted_tables if t is not desk.people]


def test_every_installed_desk_is_checked():
    assert DESK_DEFINITIONS and set(DESK_DEFINITIONS) == set(DESKS)


def test_a_record_table_is_keyed_by_its_reference_and_indexed_by_whom_it_is_about():
    """record_table makes exactly the table an agency would otherwise spell out."""

    def own() -> list[Column]:
        return [Column("logged_on", Date, nullable=False), Column("summary", Text)]

    made = record_table("log", MetaData(), "entry_id", "child_id", *own())
    spelt = Table(
        "log",
        MetaData(),
        Column("entry_id", String(32), primary_key=True),
        Column("child_id", String(32), nullable=False, index=True),
        *own(),
    )
    assert _shape(made) == _shape(spelt)
    assert _ddl(made) == _ddl(spelt)


@pytest.mark.parametrize("agency", list(DESK_DEFINITIONS), ids=lambda a: a.value)
def test_the_person_index_is_the_shared_one(agency):
    desk = DESK_DEFINITIONS[agency]
    assert desk.people.name == "people" and desk.people.metadata is desk.metadata
    assert _shape(desk.people) == _shape(people_table(MetaData()))


@pytest.mark.parametrize("agency", list(DESK_DEFINITIONS), ids=lambda a: a.value)
def test_each_record_table_has_one_string_reference_first(agency):
    for table in _record_tables(DESK_DEFINITIONS[agency]):
        key = list(table.primary_key.columns)
        assert len(key) == 1, f"{table.name}: a record is reported under one reference"
        assert key[0] is list(table.columns)[0] and isinstance(key[0].type, String) and key[0].type.length == 32, table.name


@pytest.mark.parametrize("agency", list(DESK_DEFINITIONS), ids=lambda a: a.value)
def test_each_record_table_is_read_by_a_record_class_through_indexed_person_columns(agency):
    desk = DESK_DEFINITIONS[agency]
    read = {rc.table.name for rc in desk.record_classes}
    assert read == {t.name for t in _record_tables(desk)}, "a table no record class reads is never researched"
    for rc in desk.record_classes:
        assert desk.metadata.tables.get(rc.table.name) is rc.table, rc.name
        assert rc.parties, f"{rc.name}: names nobody"
        for column in rc.parties:
            c = rc.table.c[column]
            assert isinstance(c.type, String) and c.type.length == 32 and c.index, f"{rc.name}.{column}"
        if rc.occurred is not None:
            assert isinstance(rc.table.c[rc.occurred].type, Date), f"{rc.name}.{rc.occurred}"
        if rc.not_for_disclosure is not None:
            flag = rc.table.c[rc.not_for_disclosure]
            assert isinstance(flag.type, Boolean) and not flag.nullable, f"{rc.name}.{rc.not_for_disclosure}"
        if rc.where is not None:
            rc.where(rc.table).compile()  # names only the table's own columns


@pytest.mark.parametrize("agency", list(DESK_DEFINITIONS), ids=lambda a: a.value)
def test_each_record_is_about_someone_for_certain(agency):
    """Outside the listed exceptions, some party column can never be empty, so no record is about nobody."""
    desk = DESK_DEFINITIONS[agency]
    for table in _record_tables(desk):
        parties = {column for rc in desk.record_classes if rc.table is table for column in rc.parties}
        certain = [c for c in parties if not table.c[c].nullable]
        if (agency, table.name) in NO_CERTAIN_PARTY:
            assert not certain, f"{table.name} now names someone for certain: drop it from NO_CERTAIN_PARTY"
        else:
            assert certain, f"{table.name}: every row must name the person it is about"
    assert {t for a, t in NO_CERTAIN_PARTY if a is agency} <= set(desk.metadata.tables), "a stale exception"


@pytest.mark.parametrize("agency", list(DESK_DEFINITIONS), ids=lambda a: a.value)
def test_synthetic_rows_fill_only_the_desks_columns(agency):
    """Loading drops a field no column holds, so a writer's misspelt field would vanish without this check."""
    desk = DESK_DEFINITIONS[agency]
    assert desk.synthetic is not None
    faker = Faker("en_GB")
    faker.seed_instance(1)
    records = desk.synthetic.start(agency.value, 1, date(2026, 11, 16), faker)
    for n in range(40):
        household = [
            _person(f"P{n}A", "parent_carer", date(1990, 3, 1), "F", n),
            _person(f"P{n}B", "partner", date(1988, 5, 2), "M", n),
            _person(f"P{n}C", "child", date(2013, 7, 3), "F", n),
            _person(f"P{n}D", "child", date(2025, 1, 4), "M", n),
        ]
        desk.synthetic.write(records, household[:2], household[2:])
    assert records.tables, f"{agency.value} wrote nothing for 40 households"
    for name, rows in records.tables.items():
        table = desk.metadata.tables[name]
        for row in rows:
            assert set(row) <= set(table.c.keys()), f"{name}: {set(row) - set(table.c.keys())}"
            assert all(row.get(c.name) is not None for c in table.primary_key.columns), name


def test_a_synthetic_record_refuses_a_column_its_table_lacks():
    table = record_table("log", MetaData(), "entry_id", "child_id", Column("logged_on", Date, nullable=False))
    records = AgencyRecords("education", "EDU", 0.1, date(2026, 11, 16), random.Random(1), Faker("en_GB"))
    records.record(table, "SGL", child_id="EDU-P1", logged_on="2026-11-01")
    assert records.tables == {"log": [{"entry_id": "EDU-SGL000001", "child_id": "EDU-P1", "logged_on": "2026-11-01"}]}
    with pytest.raises(ValueError, match="log has no column logged"):
        records.record(table, "SGL", child_id="EDU-P1", logged="2026-01-01")


def _person(pid: str, role: str, born: date, sex: str, n: int) -> Person:
    return Person(pid, "Alex", "Smith", born, sex, None, f"{n} High Street", "Northtown", "NT1 1AA", f"H{n}", role)
