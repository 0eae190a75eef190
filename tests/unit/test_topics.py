from pathlib import Path

import pytest
from pydantic import BaseModel

import mash_contracts
from mash_contracts import Agency
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
        getattr(mash_contracts, n)
        for n in mash_contracts.__all__
        if isinstance(getattr(mash_contracts, n), type)
        and issubclass(getattr(mash_contracts, n), BaseModel)
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


def test_acl_bindings_follow_the_catalogue_and_the_enrolled_agencies():
    from mash_cli.acls import LITERAL, PREFIXED, READ, TOPIC, WRITE, bindings
    from mash_contracts.topics import REFERRERS, hub_principals

    agencies = {"northshire_schools": ("referrer",), "northshire_gp": ("referrer",), "early_help": ("recipient",)}
    acls = {(b.principal, b.name, b.operation, b.pattern) for b in bindings(agencies) if b.resource_type == TOPIC}
    hub = set(hub_principals())
    expected_hub = (
        {(p, t.name, WRITE, LITERAL) for t in CATALOGUE if not t.per_referrer for p in t.writers if p in hub}
        | {(p, t.name + ".", WRITE, PREFIXED) for t in CATALOGUE if t.per_referrer for p in t.writers}
        | {(p, t.name, READ, LITERAL) for t in CATALOGUE for p in t.readers if p in hub}
    )
    assert {a for a in acls if a[0] in hub} == expected_hub
    for r in ("northshire_schools", "northshire_gp"):  # each referrer: the front door, and its own replies only
        other = ({"northshire_schools", "northshire_gp"} - {r}).pop()
        own = {(r, t.name, WRITE, LITERAL) for t in CATALOGUE if REFERRERS in t.writers}
        own |= {(r, f"{t.name}.{r}", READ, LITERAL) for t in CATALOGUE if t.per_referrer}
        assert {a for a in acls if a[0] == r} == own
        assert not any(a[1].endswith("." + other) for a in own)
    assert {a for a in acls if a[0] == "early_help"} == {("early_help", "mash.products.early_help", READ, LITERAL)}
    assert not any(a[0] in ("police", "health", REFERRERS) for a in acls), "nobody not enrolled has a right"
    assert ("police_desk", "mash.contributions.health", WRITE, LITERAL) not in acls


def test_a_per_referrer_topic_is_its_family_and_a_name_must_be_an_agency_name():
    from mash_contracts.topics import ACKNOWLEDGEMENTS, lookup, referrer_topics

    assert lookup("mash.acknowledgements.northshire_gp") is ACKNOWLEDGEMENTS
    assert lookup("mash.acknowledgements.Not-A-Name") is None and lookup("mash.acknowledgements") is ACKNOWLEDGEMENTS
    assert referrer_topics("northshire_gp") == [
        "mash.notifications.rejected.northshire_gp",
        "mash.acknowledgements.northshire_gp",
        "mash.outcomes.northshire_gp",
    ]
    with pytest.raises(ValueError):
        ACKNOWLEDGEMENTS.for_referrer("../other")
