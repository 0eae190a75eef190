"""The published test vectors (docs/test-vectors/envelope.json) against the hub's own implementation: every
envelope opens with its recipients' keys, and its header bytes, signature input and signature are reproduced
exactly from the rules in docs/envelope.md."""

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from mash_runtime.firewall import Directory, SealError, open_sealed
from mash_runtime.firewall.envelope import canonical_json, signature_input
from mash_runtime.firewall.keys import PemCustody, parse_public_keys

pytestmark = pytest.mark.unit
VECTORS = json.loads((Path(__file__).parents[2] / "docs" / "test-vectors" / "envelope.json").read_text())
CASES = VECTORS["cases"]


@pytest.fixture(scope="module")
def custody(tmp_path_factory):
    out = {}
    for name, party in VECTORS["parties"].items():
        d = tmp_path_factory.mktemp(name)
        (d / "signing.pem").write_text(party["signing_private_pem"])
        (d / "encryption.pem").write_text(party["encryption_private_pem"])
        out[name] = PemCustody(d, name)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c["description"] for c in CASES])
def test_every_recipient_opens_the_vector(case, custody):
    directory = Directory.from_json(VECTORS["directory"])
    for me in case["recipients"]:
        header, plaintext = open_sealed(
            case["envelope"].encode(),
            custody=custody[me],
            directory=directory,
            expected_senders={case["sender"]},
            case_key_for=lambda _: bytes.fromhex(case["case_key_hex"]),
        )
        assert plaintext.decode() == case["plaintext_utf8"]
        assert header.sender == case["sender"]


@pytest.mark.parametrize("case", CASES, ids=[c["description"] for c in CASES])
def test_header_bytes_signature_input_and_signature_are_reproduced(case, custody):
    raw = json.loads(case["envelope"])
    assert canonical_json(raw["header"]).decode() == case["canonical_header"]
    assert signature_input(raw).decode() == case["signature_input"]
    assert b"\\u" in canonical_json(raw) or all(ord(c) < 128 for c in case["plaintext_utf8"] + raw["header"]["referral_id"])
    # Ed25519 is deterministic: the sender's key gives the very signature in the vector.
    assert base64.b64encode(custody[case["sender"]].sign(signature_input(raw))).decode() == raw["signature"]
    # The envelope on the wire is itself canonical JSON.
    assert canonical_json(raw).decode() == case["envelope"]


def test_non_ascii_is_escaped_as_utf16(custody):
    case = next(c for c in CASES if "non-ASCII" in c["description"])
    assert "\\u00dc" in case["canonical_header"] and "\\ud83d\\ude00" in case["canonical_header"]


def test_a_flipped_signature_bit_and_a_wrong_recipient_are_refused(custody):
    case = CASES[0]
    raw = json.loads(case["envelope"])
    sig = bytearray(base64.b64decode(raw["signature"]))
    sig[0] ^= 1
    raw["signature"] = base64.b64encode(bytes(sig)).decode()
    directory = Directory.from_json(VECTORS["directory"])
    with pytest.raises(SealError, match="signature"):
        open_sealed(json.dumps(raw).encode(), custody=custody[case["recipients"][0]], directory=directory)
    with pytest.raises(SealError, match="not a recipient"):
        open_sealed(case["envelope"].encode(), custody=custody["vector_referrer"], directory=directory)


def test_the_published_key_ids_are_the_fingerprints_of_the_public_keys():
    for party in VECTORS["parties"].values():
        signing, encryption = parse_public_keys(party["public_pem"].encode())
        raw = signing.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert raw.hex() == party["signing_public_hex"]
        from mash_runtime.firewall.keys import key_id

        assert key_id("sig", signing) == party["signing_key_id"] and key_id("enc", encryption) == party["encryption_key_id"]


def test_a_private_key_sent_for_enrolment_is_refused():
    with pytest.raises(ValueError, match="private key"):
        parse_public_keys(VECTORS["parties"]["vector_referrer"]["signing_private_pem"].encode())


def test_an_agency_enrolled_after_the_directory_was_read_is_accepted_at_once(tmp_path):
    """The directory is read again on a refusal, so an agency's first message after its enrolment is not refused by
    a service that read the directory a moment before."""
    from mash_contracts.topics import NOTIFICATIONS_SUBMITTED
    from mash_runtime.firewall import Firewall, generate
    from mash_runtime.firewall.keys import enrol, new_agency_keys

    keys = tmp_path / "keys"
    generate(keys, ["intake"])
    intake = Firewall("intake", keys)
    assert intake.directory.with_role("referrer") == set()  # read now, before the enrolment
    public = new_agency_keys(tmp_path / "hillside")
    enrol(keys, "hillside", ("referrer",), public)
    (tmp_path / "hillside" / "directory.json").write_text((keys / "directory.json").read_text())
    agency = Firewall.for_agency("hillside", tmp_path / "hillside")
    from mash_runtime.firewall import seal

    envelope = seal(
        b'{"x": 1}',
        referral_id="H-1",
        schema="NotificationSubmission",
        schema_version=1,
        recipients=["intake"],
        custody=agency.custody,
        directory=agency.directory,
    )
    sender, plaintext = intake.open(NOTIFICATIONS_SUBMITTED.name, b"H-1", envelope)
    assert sender == "hillside" and plaintext == b'{"x": 1}'
