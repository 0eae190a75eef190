"""The guarded consumer, one handler at a time, on FastStream's in-memory broker (unit tier only)."""

import base64

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from sqlalchemy.exc import OperationalError

from mash_contracts import DeadLetter, NotificationSubmission, encode
from mash_contracts.topics import DEAD_LETTERS
from mash_runtime.consuming import Retry, Route, subscribe
from mash_runtime.errors import Rejected

pytestmark = [pytest.mark.unit, pytest.mark.anyio]
TOPIC = "mash.notifications.submitted"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def build(handler, on_unreadable=None):
    broker = KafkaBroker()
    dead: list[DeadLetter] = []

    @broker.subscriber(DEAD_LETTERS.name)
    async def collect(letter: DeadLetter) -> None:
        dead.append(letter)

    subscribe(
        broker, routes={TOPIC: Route(NotificationSubmission, handler, on_unreadable)},
        group_id="t", service="test", retry=Retry(attempts=3, first_backoff=0.0),
    )
    return broker, dead


async def test_unreadable_bytes_are_dead_lettered_with_the_original(generator):
    seen, rejected = [], []

    async def handler(m, source):
        seen.append(m)

    async def on_unreadable(record, reasons):
        rejected.append(reasons)

    broker, dead = build(handler, on_unreadable)
    raw = b'{"submission_id": "X-1", "subjects": 3}'
    async with TestKafkaBroker(broker) as br:
        await br.publish(raw, TOPIC, key=b"X-1")
        await br.publish(encode(generator.notification()), TOPIC)
    assert len(dead) == 1 and len(seen) == 1, "the bad message is set aside and the next one still handled"
    assert base64.b64decode(dead[0].original_b64) == raw
    assert dead[0].error_type == "UnreadableMessage" and dead[0].source_topic == TOPIC
    assert any("subjects" in r for r in rejected[0])


@pytest.mark.parametrize("error,kind", [(Rejected(["duplicate child"]), "Rejected"), (KeyError("boom"), "KeyError")])
async def test_handler_failures_are_dead_lettered_not_raised(generator, error, kind):
    async def handler(m, source):
        raise error

    broker, dead = build(handler)
    async with TestKafkaBroker(broker) as br:
        await br.publish(encode(generator.notification()), TOPIC)
    assert [d.error_type for d in dead] == [kind]


async def test_transient_failures_are_retried(generator):
    calls = []

    async def handler(m, source):
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("select 1", {}, Exception("database is locked"))

    broker, dead = build(handler)
    async with TestKafkaBroker(broker) as br:
        await br.publish(encode(generator.notification()), TOPIC)
    assert len(calls) == 3 and dead == []
