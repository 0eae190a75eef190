from pathlib import Path

import pytest

from mash_contracts import Agency
from pydantic import BaseModel

import mash_contracts
from mash_contracts.topics import (
    CATALOGUE,
    DESK_AGENCIES,
    PRODUCT_RECIPIENTS,
    by_name,
    contributions_topic,
    markdown_table,
    products_topic,
)

pytestmark = pytest.mark.unit
README = Path(__file__).resolve().parents[2] / "README.md"


def test_topic_names_are_unique():
    names = [t.name for t in CATALOGUE]
    assert len(names) == len(set(names))


def test_every_message_type_has_a_topic():
    messages = {
        getattr(mash_contracts, n) for n in mash_contracts.__all__
        if isinstance(getattr(mash_contracts, n), type) and issubclass(getattr(mash_contracts, n), BaseModel)
        and "schema_version" in getattr(mash_contracts, n).model_fields
    }
    assert messages == {t.message for t in CATALOGUE}


def test_each_desk_and_recipient_has_its_topic():
    # The decision service alone reads what the desks (and the hub's research) share; the hub research service reads
    # the decisions, which carry the answers' times, never their contents.
    for agency in (*DESK_AGENCIES, Agency.HUB_RESEARCH):
        assert by_name(contributions_topic(agency)).readers == ("decision",)
    for agency in PRODUCT_RECIPIENTS:
        assert by_name(products_topic(agency)).readers == (agency.value,)


def test_readme_topic_table_matches_the_catalogue():
    assert markdown_table() in README.read_text(), "README topic table drifted: paste `./mash topic-table` into it"


def test_readme_acl_matrix_matches_the_catalogue():
    from mash_cli.acls import matrix_markdown

    assert matrix_markdown() in README.read_text(), "README ACL matrix drifted: paste `python -m mash_cli.acls` into it"


def test_acl_bindings_follow_the_catalogue_and_nothing_else():
    from mash_cli.acls import READ, TOPIC, WRITE, bindings

    topic_acls = {(b.principal, b.name, b.operation) for b in bindings() if b.resource_type == TOPIC}
    expected = {(p, t.name, WRITE) for t in CATALOGUE for p in t.writers} | {(p, t.name, READ) for t in CATALOGUE for p in t.readers}
    assert topic_acls == expected
    assert ("police_desk", "mash.contributions.health", WRITE) not in topic_acls
