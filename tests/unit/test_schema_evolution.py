"""Schema evolution across a rolling upgrade: a v2 contract adds an optional field; v1 readers read v2
messages (the new field is ignored) and v2 readers read v1 messages (upcast on the way in)."""

from datetime import UTC, datetime
from typing import ClassVar

import pytest

from mash_contracts import Contribution, ContributionStatus, UnreadableMessage, codec, decode, derived_id, encode

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


class ContributionV2(Contribution):
    """What the next release would ship: who at the desk reviewed the answer."""

    SCHEMA_VERSION: ClassVar[int] = 2
    CONTRACT_NAME: ClassVar[str] = "Contribution"
    reviewed_by: str | None = None


@pytest.fixture
def upcasters():
    @codec.upcaster("Contribution", 1)
    def add_reviewer(data: dict) -> dict:
        return {**data, "reviewed_by": None}  # v1 answers were not reviewed by a named officer

    yield
    codec.UPCASTERS.pop("Contribution", None)


def v1(n: int) -> Contribution:
    return Contribution(
        message_id=derived_id("c", str(n)),
        referral_id=f"REF-{n:012d}",
        agency="police",
        status=ContributionStatus.NO_RECORDS_FOUND,
        rationale="nothing held",
        policy_version="p-1",
        researched_at=NOW,
    )


def v2(n: int) -> ContributionV2:
    return ContributionV2(**{**v1(n).model_dump(), "schema_version": 2}, reviewed_by="DS 4821")


def test_a_v1_reader_reads_v2_messages(upcasters):
    got = decode(Contribution, encode(v2(1)))
    assert got.schema_version == 2 and got.referral_id == "REF-000000000001" and not hasattr(got, "reviewed_by")


def test_a_v2_reader_upcasts_v1_messages(upcasters):
    got = decode(ContributionV2, encode(v1(2)))
    assert got.schema_version == 2 and got.reviewed_by is None


def test_a_rolling_upgrade_mixes_producers_and_readers_without_loss(upcasters):
    # Desks upgrade one at a time while the decision service runs either version.
    wire = [encode(v1(i)) if i % 2 else encode(v2(i)) for i in range(20)]
    for reader in (Contribution, ContributionV2):
        got = [decode(reader, raw) for raw in wire]
        assert [g.referral_id for g in got] == [f"REF-{i:012d}" for i in range(20)]
    assert [decode(ContributionV2, raw).reviewed_by for raw in wire[:2]] == ["DS 4821", None]


def test_a_version_below_one_or_garbage_is_still_refused(upcasters):
    with pytest.raises(UnreadableMessage, match="schema_version"):
        decode(Contribution, encode(v1(3)).replace(b'"schema_version":1', b'"schema_version":0'))
    with pytest.raises(UnreadableMessage, match="not JSON"):
        decode(Contribution, b"{not json")


class ContributionV3(ContributionV2):
    """A reader two versions on, whose release forgot to register the 2 -> 3 upcaster."""

    SCHEMA_VERSION: ClassVar[int] = 3


def test_a_gap_in_the_upcaster_chain_is_refused_by_name_not_skipped(upcasters):
    with pytest.raises(UnreadableMessage, match="no upcaster from version 2 of Contribution"):
        decode(ContributionV3, encode(v1(4)))  # 1 -> 2 exists, 2 -> 3 does not
    with pytest.raises(UnreadableMessage, match="no upcaster from version 2 of Contribution"):
        decode(ContributionV3, encode(v2(5)))


def test_a_version_newer_than_the_reader_is_still_read_across_a_gap(upcasters):
    newer = encode(v2(6)).replace(b'"schema_version":2', b'"schema_version":7')
    assert decode(ContributionV2, newer).schema_version == 7
    assert decode(ContributionV3, newer).reviewed_by == "DS 4821"
