"""The documents integrators read are generated from the code; a change to a contract or a topic that is
not republished (`./mash docs`) fails here."""

import json

import pytest

from mash_cli.specs import DOCS, asyncapi, render
from mash_contracts.topics import CATALOGUE

pytestmark = pytest.mark.unit


def test_published_documents_match_the_code():
    stale = [str(p.relative_to(DOCS.parent)) for p, text in render().items() if not p.exists() or p.read_text() != text]
    assert not stale, f"docs drifted from the code, run `./mash docs`: {stale}"
    published = {p.name for p in (DOCS / "schemas").glob("*.json")}
    assert published == {p.name for p in render() if p.parent.name == "schemas"}, "a schema with no contract behind it"


def test_asyncapi_names_every_topic_its_writers_and_readers():
    doc = asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    assert {c["address"] for c in doc["channels"].values()} == {t.address for t in CATALOGUE}
    assert (
        doc["channels"]["mash_outcomes"]["address"] == "mash.outcomes.{referrer}"
        and "referrer" in doc["channels"]["mash_outcomes"]["parameters"]
    )
    sends = {(op["summary"].split()[0], op["channel"]["$ref"]) for op in doc["operations"].values() if op["action"] == "send"}
    for t in CATALOGUE:
        for writer in t.writers:
            assert (writer, f"#/channels/{t.name.replace('.', '_')}") in sends


def test_each_schema_validates_a_real_message(generator):
    from datetime import UTC, datetime

    from mash_intake.screening import accept

    schema = json.loads((DOCS / "schemas" / "Notification.json").read_text())
    n = accept(generator.notification(), datetime(2026, 11, 20, tzinfo=UTC), referrer_system="northshire_schools")
    assert set(schema["required"]) <= set(json.loads(n.model_dump_json()))


def test_the_input_limits_in_docs_reliability_are_the_ones_the_code_enforces():
    import re

    from mash_contracts import messages
    from mash_contracts.codec import MAX_MESSAGE_BYTES

    doc = (DOCS / "reliability.md").read_text()
    limits = dict(re.findall(r"^\| ([^|]+?) \| ([^|]+?) \|$", doc, re.M))

    def max_length(alias) -> int:
        return next(m.max_length for m in alias.__metadata__ if getattr(m, "max_length", None))

    assert limits["an opened message (the plaintext inside the envelope)"].startswith(f"{MAX_MESSAGE_BYTES // 1024} KiB")
    assert limits["names, places, labels (`ShortText`)"] == f"1–{max_length(messages.ShortText)} characters after trimming"
    assert limits["concern description and rationales (`LongText`)"] == f"1–{max_length(messages.LongText):,} characters"
    fields = messages.NotificationSubmission.model_fields
    assert (
        limits["subjects in one notification"]
        == f"1–{next(m.max_length for m in fields['subjects'].metadata if hasattr(m, 'max_length'))}"
    )

    from mash_contracts.topics import DEAD_LETTER_OVERHEAD, DEAD_LETTERS, RECORD_BYTES

    assert limits["a record on any topic but the dead-letter topic"].startswith(f"{RECORD_BYTES // 1024**2} MiB ")
    assert limits["a dead letter"].startswith(f"{DEAD_LETTERS.max_message_bytes:,} bytes ")
    assert f"plus {DEAD_LETTER_OVERHEAD // 1024} KiB" in limits["a dead letter"]
