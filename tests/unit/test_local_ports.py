"""Ports the local mesh listens on, and the cluster id its broker is formatted with."""

import pytest

from mash_cli import kafka

pytestmark = pytest.mark.unit


def test_a_listening_port_is_never_one_the_kernel_hands_to_outgoing_connections():
    """A port from the ephemeral range can go to another process's client connection before the server binds it."""
    low, high = kafka._ephemeral_range()
    ports = [kafka.free_port() for _ in range(50)]
    assert all(not low <= p <= high for p in ports)
    assert len(set(ports)) == len(ports), "never the same port twice"


def test_a_cluster_id_never_begins_with_a_dash(monkeypatch):
    """kafka-storage's parser takes an argument beginning with "-" for an option: one id in 64 did."""
    dashed = bytes([0xF8]) + bytes(15)  # base64 of 0b111110... starts with "-"
    fresh = iter([dashed, bytes(16)])
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: type("U", (), {"bytes": next(fresh)})())
    made = kafka.cluster_uuid()
    assert not made.startswith("-") and len(made) == 22
