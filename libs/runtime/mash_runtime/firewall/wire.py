"""What each service uses on the wire: seal on publish and open on consume, per the topic catalogue.

A sealed topic's records are envelopes sealed for exactly the topic's readers and signed by one of its
writers; anything else on such a topic (plaintext, a forged or replayed envelope) fails to open and is
dead-lettered by the consumer. Unsealed topics carry no personal data and pass through as JSON. Messages between the hub's own services on topics keyed by referral id are bound to the referral's case key too,
so shredding that key erases the case from the log; what an outside agency is sent opens with its own key alone.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from mash_contracts import encode
from mash_contracts.topics import REFERRERS, Topic, lookup

from ..errors import TransientError
from .casekeys import CaseShredded, FileCaseKeys
from .envelope import SealError, open_sealed, seal
from .keys import Directory, FileCustody, KeyCustody, KeyError_, PemCustody, load_pepper


class NotEnrolled(TransientError):
    """A topic's reader has no keys in the directory: retried, so nothing is lost, and the stalled partition alerts."""


class Firewall:
    custody: KeyCustody
    directory: Directory
    case_keys: FileCaseKeys | None  # None: an outside agency's side of the wire
    _pepper: bytes | None  # likewise
    service: str
    _writers: dict[str, tuple[int, frozenset[str]]]  # topic -> (the directory's version, who may write it)

    def __init__(self, service: str, keys_dir: Path):
        try:
            self.custody = FileCustody(keys_dir, service)
            self.directory = Directory.load(keys_dir)
            self._pepper = load_pepper(keys_dir)
            self.case_keys = FileCaseKeys(keys_dir)
        except FileNotFoundError as e:
            raise RuntimeError(f"no keys for {service} in {keys_dir}: run `mash keys init` (fails closed)") from e
        self.service = service
        self._writers = {}

    @classmethod
    def for_agency(cls, name: str, agency_dir: Path) -> Firewall:
        """An outside agency's side of the wire, from what the agency alone holds: its own PEM keys and the hub's
        published directory.json, in one directory. No pepper and no case keys: it never sees either."""
        firewall = cls.__new__(cls)
        try:
            firewall.custody = PemCustody(agency_dir, name)
            firewall.directory = Directory.load(agency_dir)
        except FileNotFoundError as e:
            raise RuntimeError(f"no keys or directory for {name} in {agency_dir}: {e}") from e
        firewall._pepper, firewall.case_keys, firewall.service = None, None, name
        firewall._writers = {}
        return firewall

    @property
    def pepper(self) -> bytes:
        """The hub's secret for subject tokens (audit.py); only the hub's own services hold it."""
        if self._pepper is None:
            raise RuntimeError(f"{self.service} is outside the hub and holds no pepper")
        return self._pepper

    def wrap(self, topic: str, key: str, message: BaseModel, message_id: str | None = None) -> bytes:
        payload = encode(message)
        spec = lookup(topic)
        if spec is None or not spec.sealed:
            return payload
        try:
            case_key = self._case_keys().key_for(key, create=True) if spec.case_bound else None
        except CaseShredded as e:
            raise SealError(f"{e}: nothing more is sent about it") from None
        try:
            return seal(
                payload,
                referral_id=key,
                schema=type(message).__name__,
                schema_version=getattr(message, "schema_version", 1),
                recipients=list(spec.readers),
                custody=self.custody,
                directory=self.directory,
                message_id=message_id,
                case_key=case_key,
            )
        except KeyError_ as e:  # an agency not (or no longer) enrolled: the work waits, loudly, until it is
            raise NotEnrolled(f"cannot seal for {topic}: {e} (enrol it with `mash agency add`)") from None

    def seal_for(self, principal: str, key: str, payload: bytes, schema: str) -> bytes:
        """Seal arbitrary bytes for one principal: how a dead letter keeps a sealed topic's original."""
        return seal(
            payload,
            referral_id=key,
            schema=schema,
            schema_version=1,
            recipients=[principal],
            custody=self.custody,
            directory=self.directory,
        )

    def unwrap(self, topic: str, key: bytes | None, value: bytes | None) -> bytes | None:
        return self.open(topic, key, value)[1]

    def open(self, topic: str, key: bytes | None, value: bytes | None) -> tuple[str | None, bytes | None]:
        """(the verified sender, the plaintext); the sender is None on a topic that is not sealed."""
        spec = lookup(topic)
        if spec is None or not spec.sealed:
            return None, value
        if value is None:
            raise SealError("empty record on a sealed topic")
        try:
            return self._open(spec, key, value)
        except SealError:
            # An agency enrolled or rotated a moment ago may be signing with keys this process has not read yet:
            # look at the directory once more before refusing.
            if not self.directory.reload():
                raise
            return self._open(spec, key, value)

    def _open(self, spec: Topic, key: bytes | None, value: bytes) -> tuple[str, bytes]:
        case_keys = self.case_keys
        header, plaintext = open_sealed(
            value,
            custody=self.custody,
            directory=self.directory,
            expected_senders=self.writers(spec),
            delivered_as=key.decode(errors="replace") if key is not None else None,
            case_key_for=None if case_keys is None else (lambda referral_id: case_keys.key_for(referral_id, create=False)),
        )
        return header.sender, plaintext

    def _case_keys(self) -> FileCaseKeys:
        if self.case_keys is None:
            raise SealError(f"{self.service} is outside the hub and never seals a case-bound message")
        return self.case_keys

    def writers(self, spec: Topic) -> frozenset[str]:
        """Who may have sealed a record on the topic: REFERRERS is every referrer enrolled now. Asked for every record
        opened, so kept per topic until the directory is read again changed: an enrolment or a revocation counts from
        then, as before, without a restart."""
        version = self.directory.version
        cached = self._writers.get(spec.name)
        if cached is not None and cached[0] == version:
            return cached[1]
        named = frozenset(spec.writers) - {REFERRERS}
        writers = named | self.directory.with_role("referrer") if REFERRERS in spec.writers else named
        self._writers[spec.name] = (version, writers)
        return writers
