"""The sealed envelope against the tampering a reader of the Kafka log could try."""

import base64
import json

import pytest

from mash_runtime.firewall import Directory, FileCustody, SealError, generate, open_sealed, seal
from mash_runtime.firewall.envelope import signature_input

pytestmark = pytest.mark.unit
SERVICES = ["intake", "police_desk", "health_desk", "decision"]
SECRET = b'{"summary": "Domestic abuse incident, high risk", "name": "Zebedee Canarywhistle"}'


@pytest.fixture
def keys(tmp_path):
    generate(tmp_path, SERVICES)
    return tmp_path


def custody(keys, service):
    return FileCustody(keys, service)


def sealed(
    keys,
    sender="police_desk",
    recipients=("decision",),
    referral="REF-0123456789AB",
    plaintext=SECRET,
    schema="Contribution",
    case_key=None,
):
    return seal(
        plaintext,
        referral_id=referral,
        schema=schema,
        schema_version=1,
        recipients=list(recipients),
        custody=custody(keys, sender),
        directory=Directory.load(keys),
        case_key=case_key,
    )


def opened(keys, envelope, me="decision", **kw):
    return open_sealed(envelope, custody=custody(keys, me), directory=Directory.load(keys), **kw)


def edit(envelope: bytes, change) -> bytes:
    raw = json.loads(envelope)
    change(raw)
    return json.dumps(raw).encode()


def test_round_trip_and_no_plaintext_on_the_wire(keys):
    envelope = sealed(keys)
    assert b"Canarywhistle" not in envelope and b"Domestic" not in envelope
    header, plaintext = opened(keys, envelope, expected_senders={"police_desk"}, delivered_as="REF-0123456789AB")
    assert plaintext == SECRET and header.sender == "police_desk"


def test_every_recipient_opens_its_own_copy(keys):
    envelope = sealed(keys, recipients=("decision", "health_desk"))
    assert opened(keys, envelope, "decision")[1] == opened(keys, envelope, "health_desk")[1] == SECRET


def test_a_flipped_byte_is_rejected(keys):
    def flip(raw):
        ct = bytearray(base64.b64decode(raw["ciphertext"]))
        ct[5] ^= 0x01
        raw["ciphertext"] = base64.b64encode(bytes(ct)).decode()

    with pytest.raises(SealError, match="signature"):
        opened(keys, edit(sealed(keys), flip))


def test_a_swapped_referral_id_in_the_header_is_rejected(keys):
    with pytest.raises(SealError, match="signature"):
        opened(keys, edit(sealed(keys), lambda raw: raw["header"].update(referral_id="REF-FFFFFFFFFFFF")))


def test_swapped_wrapped_keys_are_rejected(keys):
    def swap(raw):
        (a, ka), (b, kb) = raw["wrapped_keys"].items()
        raw["wrapped_keys"] = {a: kb, b: ka}

    with pytest.raises(SealError):
        opened(keys, edit(sealed(keys, recipients=("decision", "health_desk")), swap))


def test_a_message_signed_with_another_desks_key_is_rejected(keys):
    envelope = sealed(keys)
    raw = json.loads(envelope)
    health = custody(keys, "health_desk")
    raw["signature"] = base64.b64encode(health.sign(signature_input(raw))).decode()
    with pytest.raises(SealError, match="signature check failed for sender police_desk"):
        opened(keys, json.dumps(raw).encode())


def test_a_replayed_contribution_under_another_referral_is_refused(keys):
    old = sealed(keys, referral="REF-0123456789AB")
    with pytest.raises(SealError, match="replay refused"):
        opened(keys, old, delivered_as="REF-ABCDEF012345")


def test_ciphertext_is_bound_to_its_header_even_for_a_signing_insider(keys):
    """A sender that re-signs a moved ciphertext under a new header still cannot make it open: the header is
    the AEAD's associated data and the HPKE info."""
    envelope = json.loads(sealed(keys))
    envelope["header"]["referral_id"] = "REF-FFFFFFFFFFFF"
    police = custody(keys, "police_desk")
    envelope["signature"] = base64.b64encode(police.sign(signature_input(envelope))).decode()
    with pytest.raises(SealError, match="cannot open"):
        opened(keys, json.dumps(envelope).encode())


def test_only_recipients_can_open(keys):
    with pytest.raises(SealError, match="not a recipient"):
        opened(keys, sealed(keys), "health_desk")


def test_an_unexpected_sender_is_refused(keys):
    with pytest.raises(SealError, match="may not write here"):
        opened(keys, sealed(keys, sender="health_desk"), expected_senders={"police_desk"})


def test_rotation_keeps_old_messages_readable(keys):
    before = sealed(keys)
    old_kid = json.loads(before)["header"]["recipient_key_ids"][0]
    rotated = generate(keys, ["decision", "police_desk"], rotate=True)
    after = sealed(keys)
    assert json.loads(after)["header"]["recipient_key_ids"][0] == rotated["decision"] != old_kid
    assert opened(keys, before)[1] == opened(keys, after)[1] == SECRET


def test_generate_is_idempotent_and_private_keys_are_private(keys):
    directory = (keys / "directory.json").read_text()
    assert generate(keys, SERVICES) == {} and (keys / "directory.json").read_text() == directory
    assert oct((keys / "decision" / "private.json").stat().st_mode & 0o777) == "0o600"
    assert "private" not in directory and set(json.loads(directory)) == set(SERVICES)


def test_a_case_bound_message_needs_the_case_key_too(keys):
    from mash_runtime.firewall import FileCaseKeys

    cases = FileCaseKeys(keys)
    key = cases.key_for("REF-0123456789AB", create=True)
    assert cases.key_for("REF-0123456789AB", create=True) == key, "one key per case"
    envelope = sealed(keys, case_key=key)
    assert opened(keys, envelope, case_key_for=lambda r: cases.key_for(r, create=False))[1] == SECRET
    with pytest.raises(SealError, match="cannot open"):  # the recipient's private key alone is not enough
        opened(keys, envelope, case_key_for=lambda r: b"\x00" * 32)
    with pytest.raises(SealError, match="no case key custody"):
        opened(keys, envelope)


def test_a_shredded_case_cannot_be_opened_or_given_a_new_key(keys):
    from mash_runtime.firewall import CaseShredded, FileCaseKeys

    cases = FileCaseKeys(keys)
    key = cases.key_for("REF-AAAAAAAAAAAA", create=True)
    envelope = sealed(keys, "intake", referral="REF-AAAAAAAAAAAA", schema="Notification", case_key=key)
    assert cases.shred("REF-AAAAAAAAAAAA", "test: retention") is True
    assert not (keys / "cases" / "REF-AAAAAAAAAAAA.key").exists()
    assert cases.shredded("REF-AAAAAAAAAAAA")["reason"] == "test: retention"
    with pytest.raises(SealError, match="shredded"):
        opened(keys, envelope, case_key_for=lambda r: cases.key_for(r, create=False))
    with pytest.raises(CaseShredded):
        cases.key_for("REF-AAAAAAAAAAAA", create=True)


def test_a_version_1_envelope_still_opens(keys):
    """Sealed before version 2: its own signed layout (spaced wrapped keys, base64 text joined by 0x1f) and a
    header without case_bound."""
    raw = json.loads(sealed(keys))
    raw["format"] = "mash-envelope-1"
    del raw["header"]["case_bound"]
    # Version 1 was only ever sealed with the header as associated data: re-seal the content under the v1 header.
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from mash_runtime.firewall.envelope import HPKE, Header

    header = Header(
        **{
            **raw["header"],
            "recipients": tuple(raw["header"]["recipients"]),
            "recipient_key_ids": tuple(raw["header"]["recipient_key_ids"]),
        }
    )
    aad = header.canonical("mash-envelope-1")
    assert b"case_bound" not in aad
    data_key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
    kid = header.recipient_key_ids[0]
    raw["wrapped_keys"] = {
        f"decision/{kid}": base64.b64encode(
            HPKE.encrypt(data_key, Directory.load(keys).encryption_key("decision")[1], info=aad)
        ).decode()
    }
    raw["nonce"] = base64.b64encode(nonce).decode()
    raw["ciphertext"] = base64.b64encode(AESGCM(data_key).encrypt(nonce, SECRET, aad)).decode()
    signed = b"\x1f".join(
        [
            b"mash-envelope-1",
            aad,
            json.dumps(raw["wrapped_keys"], sort_keys=True).encode(),
            raw["nonce"].encode(),
            raw["ciphertext"].encode(),
        ]
    )
    raw["signature"] = base64.b64encode(custody(keys, "police_desk").sign(signed)).decode()
    assert opened(keys, json.dumps(raw).encode())[1] == SECRET


def test_a_version_2_header_with_a_field_missing_or_added_is_refused(keys):
    for change in (lambda raw: raw["header"].pop("case_bound"), lambda raw: raw["header"].update(extra="x")):
        with pytest.raises(SealError, match="exactly the fields"):
            opened(keys, edit(sealed(keys), change))


@pytest.mark.parametrize(
    "hostile",
    [
        b"0",
        b"[]",
        b'"text"',
        b"null",
        b'{"format": "mash-envelope-1", "header": 1}',
        b'{"format": "mash-envelope-1", "header": {"recipients": 5}}',
        b'{"format": "mash-envelope-2", "header": {"recipients": 5}}',
    ],
)
def test_json_that_is_not_an_envelope_is_a_seal_error_not_a_crash(keys, hostile):
    # Found by the fuzz tier: b"0" is valid JSON, and an AttributeError escaped the consumer's guard.
    with pytest.raises(SealError, match="envelope"):
        opened(keys, hostile)


@pytest.mark.parametrize(
    "change",
    [
        lambda raw: raw["header"].update(schema_version=1.0),  # Python would sign "1.0"; other languages refuse it
        lambda raw: raw["header"].update(case_bound=0),
        lambda raw: raw["header"].update(recipient_key_ids=[]),  # recipients and key ids must pair
        lambda raw: raw["header"].update(recipients=["decision", "decision"], recipient_key_ids=["a", "b"]),
        lambda raw: raw["header"].update(message_id="\ud800"),  # an unpaired surrogate has no UTF-8 form
        lambda raw: raw.update(nonce=7),
    ],
    ids=["float version", "integer flag", "unpaired key ids", "duplicate recipient", "lone surrogate", "number nonce"],
)
def test_a_version_2_member_of_the_wrong_type_is_refused_before_anything_is_verified(keys, change):
    with pytest.raises(SealError, match="malformed envelope"):
        opened(keys, edit(sealed(keys), change))
