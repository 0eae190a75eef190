"""Hostile input at every consumer: raw bytes, random JSON, mutated and absurd messages, oversized and
wrongly encoded records, sealed properly or not. Each consumer's guard must accept or dead-letter every
input, with a reason: nothing crashes, nothing is silently dropped. One handler at a time on FastStream's
in-memory broker (the unit-test exception to "real Kafka"); the envelopes are real.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mash_contracts import Contribution, ContributionStatus, DeadLetter, Notification, NotificationSubmission, derived_id
from mash_contracts.codec import MAX_MESSAGE_BYTES
from mash_contracts.topics import DEAD_LETTERS, NOTIFICATIONS, NOTIFICATIONS_SUBMITTED, by_name, contributions_topic
from mash_contracts.vocabulary import Agency
from mash_intake.screening import accept
from mash_runtime.consuming import Retry, Route, subscribe
from mash_runtime.firewall import seal
from mash_tools.synthetic import Generator

pytestmark = pytest.mark.fuzz
BATCH = 25
EXAMPLES = int(os.environ.get("MASH_FUZZ_EXAMPLES", "140"))  # per consumer: 3 x 140 x 25 = 10,500 inputs
TALLY: Counter = Counter()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


def valid_sample(model, generator: Generator) -> dict:
    submission = generator.notification()
    if model is NotificationSubmission:
        return json.loads(submission.model_dump_json())
    notification = accept(submission, submission.submitted_at, referrer_system="northshire_schools")
    if model is Notification:
        return json.loads(notification.model_dump_json())
    return json.loads(
        Contribution(
            message_id=derived_id("c", notification.referral_id),
            referral_id=notification.referral_id,
            agency=Agency.POLICE,
            status=ContributionStatus.NO_RECORDS_FOUND,
            rationale="none",
            policy_version="p",
            researched_at=submission.submitted_at,
        ).model_dump_json()
    )


def mutate(data: dict, path_choice: int, value) -> dict:
    out = json.loads(json.dumps(data))
    keys = sorted(out)
    out[keys[path_choice % len(keys)]] = value
    return out


ROUTES = {
    "intake": (NOTIFICATIONS_SUBMITTED.name, NotificationSubmission, "northshire_schools"),  # an enrolled referrer
    "police_desk": (NOTIFICATIONS.name, Notification, "intake"),
    "decision": (contributions_topic(Agency.POLICE), Contribution, "police_desk"),
}


@pytest.fixture(scope="module")
def samples():
    g = Generator(seed=99)
    return {name: valid_sample(model, g) for name, (_, model, _) in ROUTES.items()}


def inputs(draw_kind: str, payload, principals, topic: str, writer: str) -> bytes:
    spec = by_name(topic)
    fw = principals.firewall(writer)

    def sealed(plaintext: bytes) -> bytes:
        return seal(
            plaintext,
            referral_id="REF-000000000000",
            schema=spec.message.__name__,
            schema_version=1,
            recipients=list(spec.readers),
            custody=fw.custody,
            directory=fw.directory,
        )

    if draw_kind == "raw":
        return payload
    if draw_kind == "oversized":
        return sealed(b'{"x": "' + b"A" * (MAX_MESSAGE_BYTES + 10) + b'"}')
    if draw_kind == "utf16":
        return sealed(json.dumps(payload).encode("utf-16"))
    return sealed(json.dumps(payload, allow_nan=True).encode())


@pytest.mark.parametrize("consumer", sorted(ROUTES))
def test_every_hostile_input_is_accepted_or_dead_lettered(consumer, principals, samples):
    topic, model, writer = ROUTES[consumer]

    case = st.one_of(
        st.tuples(st.just("raw"), st.binary(max_size=600)),
        st.tuples(st.just("json"), json_values),
        st.tuples(st.just("mutated"), st.builds(lambda i, v: mutate(samples[consumer], i, v), st.integers(0, 50), json_values)),
        st.tuples(st.just("valid"), st.just(samples[consumer])),
        st.tuples(st.just("utf16"), st.just(samples[consumer])),
        st.tuples(st.just("oversized"), st.none()),
    )

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.lists(case, min_size=BATCH, max_size=BATCH))
    def run_batch(batch):
        records = [inputs(kind, payload, principals, topic, writer) for kind, payload in batch]
        handled, dead = [], []
        broker = KafkaBroker()

        @broker.subscriber(DEAD_LETTERS.name)
        async def collect(letter: DeadLetter) -> None:
            dead.append(letter)

        async def handler(message, source) -> None:
            handled.append(message)

        subscribe(
            broker,
            routes={topic: Route(model, handler)},
            group_id="fuzz",
            service=consumer,
            firewall=principals.firewall(consumer),
            retry=Retry(attempts=1, first_backoff=0.0),
        )

        async def feed() -> None:
            async with TestKafkaBroker(broker) as br:
                for value in records:
                    await br.publish(value, topic, key=b"REF-000000000000")  # an escaping exception fails the test

        asyncio.run(feed())
        assert len(handled) + len(dead) == len(records), "an input was silently dropped or handled twice"
        assert all(d.error and d.error_type in {"SealError", "UnreadableMessage"} for d in dead), [d.error_type for d in dead]
        TALLY.update({"inputs": len(records), "accepted": len(handled), "dead_lettered": len(dead)})
        TALLY.update(d.error_type for d in dead)

    run_batch()


def test_print_the_tally():
    """Run last in the module: the figures for the closing note."""
    print(f"\nfuzz: {dict(TALLY)}")
    assert TALLY["inputs"] >= 75 * EXAMPLES and TALLY["inputs"] == TALLY["accepted"] + TALLY["dead_lettered"]
