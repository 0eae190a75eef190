"""The topic catalogue: every topic, its key, its message type, who writes it and who reads it.

Services, the topic set-up command, the README table and the docs all read this one list.
Every flow topic is keyed by referral id, so all messages about one referral share a partition number
and arrive in order within each topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.metadata import entry_points

from pydantic import BaseModel

from .messages import (
    Acknowledgement,
    Alert,
    AuditAnchor,
    Contribution,
    DeadLetter,
    Decision,
    InformationProduct,
    Notification,
    NotificationSubmission,
    OutcomeNotice,
    Rejection,
    ResearchGrounds,
)
from .vocabulary import Agency

FLOW_PARTITIONS = 6
# The largest record (key, value and headers, as Kafka counts a batch) any topic but mash.deadletter takes: Kafka's
# own default, set explicitly on every topic when it is created so the dead-letter sizing below rests on it.
RECORD_BYTES = 1024 * 1024
# What a dead letter adds besides the original key and value: the operations envelope (with its referral id
# truncated), the error text (4,000 characters, each at most 6 bytes once JSON-escaped), the other fields and
# the headers, tracing included (W3C bounds tracestate and baggage). A unit test measures the worst case.
DEAD_LETTER_OVERHEAD = 64 * 1024


def dead_letter_bytes(record_bytes: int) -> int:
    """The largest dead letter a record of `record_bytes` can become, so mash.deadletter can always take it.

    A sealed topic's value is sealed for operations (base64 inside the envelope) and the envelope base64-encoded
    again in the letter: 16/9 of it. The key travels twice, as the letter's own key and base64-encoded for
    replay: 7/3 of it. A record may spend all its bytes on either, so 7/3 bounds the growth."""
    return -(-7 * record_bytes // 3) + DEAD_LETTER_OVERHEAD


# Immediate-danger referrals travel a lane of their own at every stage where a backlog can form (the front
# door, the desks' research, the decision's assembly), read by a consumer of its own in each service, so
# they never queue behind routine work.
URGENT_SUFFIX = ".urgent"

# Every enrolled referring organisation: each has a Kafka identity and keys of its own (`mash agency add`), writes
# the front door's topics, and reads only its own replies (the per-referrer topics below). In a topic's writers or
# readers this stands for "each enrolled referrer"; on a per-referrer topic, for the one it is named after.
REFERRERS = "referrers"
# The role an enrolled referrer holds in the key directory (recipients of products hold "recipient").
REFERRER_ROLE = "referrer"

# The hub's own referrer: the web front door, where professionals and the public refer through a form and call
# handlers record phone contacts. A hub service (keys and Kafka user made at setup) that refers exactly as an enrolled
# referrer does: it writes the front door, has its own per-referrer topics, and intake names it as the referrer system.
WEB = "web"
HUB_REFERRERS = (WEB,)

# Principals for the MASH managers' tools and the operations team.
MANAGERS = "managers"
OPERATIONS = "operations"

# The agencies' desks that research their own records for every referral, discovered from the installed desk packages:
# each declares itself under the `mash.desks` entry point group (name: its agency; value: its definition, whose
# top-level package names its service), so adding a desk is its folder and one line in the workspace list. Listed in
# the vocabulary's order, which is the order the decision service shows them in.
DESK_ENTRY_POINTS = "mash.desks"


def _discover_desks() -> dict[Agency, str]:
    found = {Agency(ep.name): ep.value.split(".", 1)[0].removeprefix("mash_") for ep in entry_points(group=DESK_ENTRY_POINTS)}
    if not found:
        raise RuntimeError(
            f"no desk package is installed (none declares the {DESK_ENTRY_POINTS!r} entry point): run deploy/setup.sh"
        )
    return {a: found[a] for a in Agency if a in found}


DESKS: dict[Agency, str] = _discover_desks()  # agency -> its desk service
DESK_AGENCIES: tuple[Agency, ...] = tuple(DESKS)
# Everyone whose answer completes a referral: the agencies' desks and the hub's own research into its linked history.
RESEARCHERS: tuple[Agency, ...] = (*DESK_AGENCIES, Agency.HUB_RESEARCH)
# The hub research service: it reads its own sealed copies of the referral flow to keep the hub's linked history.
ANALYSIS = "analysis"

# Agencies that can receive an information product.
PRODUCT_RECIPIENTS: tuple[Agency, ...] = (
    Agency.CHILDRENS_SOCIAL_CARE,
    Agency.EARLY_HELP,
    Agency.POLICE,
    Agency.ADULT_SOCIAL_CARE,
    Agency.HEALTH,
)


# An outside agency's enrolled name: its Kafka user, its name in the key directory and in envelopes.
AGENCY_NAME = re.compile(r"[a-z][a-z0-9_]{1,47}")

# Agencies outside the hub: they enrol with their own public keys and hold their private keys themselves.
OUTSIDE_PARTIES = frozenset({REFERRERS, *(a.value for a in PRODUCT_RECIPIENTS)})


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    message: type[BaseModel]
    writers: tuple[str, ...]
    readers: tuple[str, ...]
    description: str
    partitions: int = FLOW_PARTITIONS
    sealed: bool = False  # carries personal data: each record is an envelope sealed for the readers only
    max_message_bytes: int = RECORD_BYTES  # the topic's max.message.bytes, set when it is created
    retention_ms: int | None = None  # the topic's retention.ms where the broker's default will not do (-1: for good)
    # An outside system's clock is not the hub's: where a record's time means "received" (the decision deadline and
    # every age are counted from it), the broker stamps it on append, so a referrer's clock running fast or slow
    # cannot move a referral's deadline or the day its ages are judged on, and a redelivery still reads the same time.
    stamped_by_broker: bool = False
    # One topic per enrolled referrer, "<name>.<referrer>", created when the referrer is enrolled: the broker lets
    # each referrer read its own and no other's.
    per_referrer: bool = False

    @property
    def address(self) -> str:
        return f"{self.name}.{{referrer}}" if self.per_referrer else self.name

    def for_referrer(self, referrer: str) -> str:
        if not self.per_referrer:
            raise ValueError(f"{self.name} is one topic for every referrer")
        if not AGENCY_NAME.fullmatch(referrer):
            raise ValueError(f"not an enrolled agency's name: {referrer!r}")
        return f"{self.name}.{referrer}"

    @property
    def case_bound(self) -> bool:
        """Sealed under the referral's case key as well as the readers' keys, so shredding the case key erases every
        copy: only between the hub's own services. An outside agency opens what it is sent with its own key alone;
        its copy is its own record, kept under its own retention (docs/envelope.md, crypto-shredding)."""
        return self.sealed and self.key == "referral id" and not any(r in OUTSIDE_PARTIES for r in self.readers)

    @property
    def configs(self) -> dict[str, str]:
        """The topic's configuration, as the broker is told it when the topic is created."""
        retention = {} if self.retention_ms is None else {"retention.ms": str(self.retention_ms)}
        stamped = {"message.timestamp.type": "LogAppendTime"} if self.stamped_by_broker else {}
        return {"max.message.bytes": str(self.max_message_bytes), **retention, **stamped}


def contributions_topic(agency: Agency, urgent: bool = False) -> str:
    return f"mash.contributions.{agency.value}" + (URGENT_SUFFIX if urgent else "")


def products_topic(agency: Agency) -> str:
    return f"mash.products.{agency.value}"


def desk_service(agency: Agency) -> str:
    """The service that researches for an agency: its desk's, or the hub research service."""
    if agency is Agency.HUB_RESEARCH:
        return ANALYSIS
    try:
        return DESKS[agency]
    except KeyError:
        raise KeyError(f"no desk is installed for {agency.value}") from None


# Services that research for a referral and so write contributions, dead letters and audit anchors.
RESEARCH_SERVICES = tuple(desk_service(a) for a in RESEARCHERS)


# The front door's topics keep a record for 3 days, not the broker's week: intake reads each within seconds and keeps
# what it needs (the accepted notification, or a dead letter with the original sealed for operations), so anything a
# referrer sent by mistake in plaintext is gone from the broker within three days. Three days outlast a bank-holiday
# weekend with intake down (its stalled partitions alert within minutes); a reference-only dead letter (see
# DeadLetter) must be replayed from here within them.
INBOUND_RETENTION_MS = 3 * 24 * 3600 * 1000

NOTIFICATIONS_SUBMITTED = Topic(
    "mash.notifications.submitted",
    "submission id",
    NotificationSubmission,
    writers=(REFERRERS,),
    readers=("intake",),
    description="The front door: every notification from any referrer, before screening.",
    sealed=True,
    stamped_by_broker=True,
    retention_ms=INBOUND_RETENTION_MS,
)
NOTIFICATIONS = Topic(
    "mash.notifications",
    "referral id",
    Notification,
    writers=("intake",),
    readers=(*RESEARCH_SERVICES, "decision"),
    description="Accepted notifications, each now a MASH referral with its id and initial RAG rating.",
    sealed=True,
)
REJECTIONS = Topic(
    "mash.notifications.rejected",
    "submission id",
    Rejection,
    writers=("intake",),
    readers=(REFERRERS,),
    description="Submissions of this referrer's that the front door could not accept, with the reasons (no personal data).",
    per_referrer=True,
)
ACKNOWLEDGEMENTS = Topic(
    "mash.acknowledgements",
    "submission id",
    Acknowledgement,
    writers=("intake",),
    readers=(REFERRERS,),
    description="Receipt of this referrer's notification and the time by which the hub will decide.",
    per_referrer=True,
)
CONTRIBUTIONS = tuple(
    Topic(
        contributions_topic(a),
        "referral id",
        Contribution,
        writers=(desk_service(a),),
        readers=("decision",),
        description=f"What the {a.value.replace('_', ' ')} desk decided to share for a referral.",
        sealed=True,
    )
    for a in RESEARCHERS
)
NOTIFICATIONS_SUBMITTED_URGENT = Topic(
    NOTIFICATIONS_SUBMITTED.name + URGENT_SUFFIX,
    "submission id",
    NotificationSubmission,
    writers=(REFERRERS,),
    readers=("intake",),
    description="The front door's urgent lane: notifications reporting immediate danger.",
    sealed=True,
    stamped_by_broker=True,
    retention_ms=INBOUND_RETENTION_MS,
)
NOTIFICATIONS_URGENT = Topic(
    NOTIFICATIONS.name + URGENT_SUFFIX,
    "referral id",
    Notification,
    writers=("intake",),
    readers=NOTIFICATIONS.readers,
    description="Accepted notifications reporting immediate danger: researched and decided ahead of routine work.",
    sealed=True,
)
CONTRIBUTIONS_URGENT = tuple(
    Topic(
        contributions_topic(a, urgent=True),
        "referral id",
        Contribution,
        writers=(desk_service(a),),
        readers=("decision",),
        description=f"The {a.value.replace('_', ' ')} desk's contributions for immediate-danger referrals.",
        sealed=True,
    )
    for a in RESEARCHERS
)
# A manager's recorded s47 grounds re-open the research of the desks that declined without consent.
RESEARCH_GROUNDS = Topic(
    "mash.research.grounds",
    "referral id",
    ResearchGrounds,
    writers=("decision",),
    readers=tuple(desk_service(a) for a in DESK_AGENCIES),
    description="s47 grounds or a strategy-discussion decision a MASH manager recorded, with the referral's current "
    "notification on an s47 footing: the desks research again and cite the grounds.",
    sealed=True,
)
DECISIONS = Topic(
    "mash.decisions",
    "referral id",
    Decision,
    writers=("decision",),
    readers=(MANAGERS, ANALYSIS),
    description="The threshold decision for each referral, with its explanation (sealed: a manager's override rationale "
    "is free text and may name people).",
    sealed=True,
)
ALERTS = Topic(
    "mash.alerts",
    "referral id",
    Alert,
    writers=("decision", ANALYSIS),
    readers=(MANAGERS, OPERATIONS),
    description="Deadlines near and missed, recommendations awaiting a manager, re-grades, harm emerging for someone "
    "with no open referral (no personal data).",
)
OUTCOMES = Topic(
    "mash.outcomes",
    "submission id",
    OutcomeNotice,
    writers=("decision",),
    readers=(REFERRERS,),
    description="The response decided for this referrer's notification, without sensitive detail.",
    per_referrer=True,
)
PRODUCTS = tuple(
    Topic(
        products_topic(a),
        "referral id",
        InformationProduct,
        writers=("decision",),
        readers=(a.value,),
        description=f"Information products routed to {a.value.replace('_', ' ')}.",
        sealed=True,
    )
    for a in PRODUCT_RECIPIENTS
)
DEAD_LETTERS = Topic(
    "mash.deadletter",
    "original key",
    DeadLetter,
    writers=("intake", *RESEARCH_SERVICES, "decision", WEB),
    readers=(OPERATIONS,),
    description="Messages a service could not process, with the original bytes, the error and the source offset.",
    partitions=3,
    max_message_bytes=dead_letter_bytes(RECORD_BYTES),
)
# Kept for good and never compacted: a replaced chain would publish anchors of its own under the same key, and
# only the old store's anchors, still on the topic, show that its history is gone.
AUDIT_ANCHORS = Topic(
    "mash.audit.anchors",
    "service",
    AuditAnchor,
    writers=("intake", *RESEARCH_SERVICES, "decision", WEB),
    readers=(OPERATIONS,),
    description="Each service's signed audit chain head, published periodically and on shutdown, against which "
    "`mash audit verify` finds a replaced or truncated chain (hashes and ids only).",
    partitions=1,
    retention_ms=-1,
)

CATALOGUE: tuple[Topic, ...] = (
    NOTIFICATIONS_SUBMITTED,
    NOTIFICATIONS_SUBMITTED_URGENT,
    NOTIFICATIONS,
    NOTIFICATIONS_URGENT,
    REJECTIONS,
    ACKNOWLEDGEMENTS,
    *CONTRIBUTIONS,
    *CONTRIBUTIONS_URGENT,
    RESEARCH_GROUNDS,
    DECISIONS,
    ALERTS,
    OUTCOMES,
    *PRODUCTS,
    DEAD_LETTERS,
    AUDIT_ANCHORS,
)


_BY_NAME = {t.name: t for t in CATALOGUE}

# The broker's own limit (message.max.bytes) and every client that produces or fetches any topic must allow this.
LARGEST_RECORD_BYTES = max(t.max_message_bytes for t in CATALOGUE)


def lanes(name: str) -> list[str]:
    """A topic and, where it has one, its urgent lane: every topic a stage's messages can travel on."""
    return [name] + [t.name for t in CATALOGUE if t.name == name + URGENT_SUFFIX]


def lookup(name: str) -> Topic | None:
    """The catalogue's topic of this name: a per-referrer topic ("mash.outcomes.<referrer>") is its family's."""
    if (topic := _BY_NAME.get(name)) is not None:
        return topic
    family, _, referrer = name.rpartition(".")
    topic = _BY_NAME.get(family)
    return topic if topic is not None and topic.per_referrer and AGENCY_NAME.fullmatch(referrer) else None


def by_name(name: str) -> Topic:
    if (topic := lookup(name)) is None:
        raise KeyError(name)
    return topic


def referrer_topics(referrer: str) -> list[str]:
    """Every topic made for one referrer when it is enrolled."""
    return [t.for_referrer(referrer) for t in CATALOGUE if t.per_referrer]


def markdown_table() -> str:
    rows = ["| topic | key | message | written by | read by | partitions | sealed |", "|---|---|---|---|---|---|---|"]
    for t in CATALOGUE:
        rows.append(
            f"| `{t.address}` | {t.key} | `{t.message.__name__}` | {', '.join(t.writers)} | {', '.join(t.readers)} "
            f"| {t.partitions} | {'yes' if t.sealed else 'no'} |"
        )
    return "\n".join(rows)


def principals() -> list[str]:
    """Every identity that writes or reads a catalogue topic, REFERRERS standing for every enrolled referrer."""
    return sorted({p for t in CATALOGUE for p in (*t.writers, *t.readers)})


def hub_principals() -> list[str]:
    """The hub's own identities (its services, its managers' tools, its operations team): their Kafka users and
    keys are made at setup. Outside agencies are enrolled from their own public keys instead."""
    return [p for p in principals() if p not in OUTSIDE_PARTIES]
