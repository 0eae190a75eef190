"""Each service's composition root takes its dependencies: built here with FastStream's in-memory broker and an
in-memory store, in this process, a service's wiring is exercised end to end: its subscriptions, the firewall, the
handlers and the outbox. The integration tier builds the same roots with the real broker and stores."""

import shutil
from datetime import UTC, datetime

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from mash_cli.agencies import DEFAULT_REFERRER
from mash_contracts.topics import ACKNOWLEDGEMENTS, NOTIFICATIONS, NOTIFICATIONS_SUBMITTED, contributions_topic
from mash_runtime.firewall import Firewall
from mash_runtime.store import Database, outbox

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


def own_keys(principals, tmp_path):
    """The hub's keys, copied: `init` keeps each store's identity beside them, and this test's store is its own."""
    keys = tmp_path / "keys"
    shutil.copytree(principals.keys_dir, keys)
    return keys


def queued(db: Database) -> list[tuple[str, bytes]]:
    with db.transaction() as s:
        return [(r.topic, r.key) for r in s.execute(select(outbox.c.topic, outbox.c.key).order_by(outbox.c.id))]


async def test_intake_built_with_an_in_memory_broker_and_store_accepts_a_sealed_submission(principals, generator, tmp_path):
    from mash_intake.app import TABLES, build
    from mash_intake.settings import IntakeSettings

    keys = own_keys(principals, tmp_path)
    broker, db = KafkaBroker(), Database.in_memory("intake", keys, *TABLES)
    settings = IntakeSettings(state_dir=tmp_path, keys_dir=keys)
    build(settings, broker=broker, db=db, firewall=Firewall("intake", keys), registry=CollectorRegistry())
    submission = generator.notification()
    record = principals.submission_record(submission)
    async with TestKafkaBroker(broker) as br:
        await br.publish(record["value"], NOTIFICATIONS_SUBMITTED.name, key=record["key"])
        await br.publish(b"not an envelope", NOTIFICATIONS_SUBMITTED.name, key=b"JUNK-1")
    topics = [t for t, _ in queued(db)]
    assert ACKNOWLEDGEMENTS.for_referrer(DEFAULT_REFERRER) in topics, "acknowledged on the referrer's own topic"
    assert any(t.startswith(NOTIFICATIONS.name) for t in topics), "the accepted notification queued for the desks"
    db.dispose()


async def test_a_desk_built_with_an_in_memory_broker_and_store_answers_a_notification(principals, generator, tmp_path):
    from mash_desk.records import load_tables
    from mash_desk.service import DeskSettings, build_desk_app, store_tables
    from mash_police_desk.app import DESK
    from mash_tools.population import build_population

    keys = own_keys(principals, tmp_path)
    broker, db = KafkaBroker(), Database.in_memory(DESK.service, keys, *store_tables(DESK))
    load_tables(db, DESK.metadata, build_population(seed=3, families=5).agencies["police"])
    settings = DeskSettings(state_dir=tmp_path, keys_dir=keys)
    build_desk_app(DESK, settings, broker=broker, db=db, firewall=Firewall(DESK.service, keys), registry=CollectorRegistry())
    from mash_intake.screening import accept

    notification = accept(generator.notification(), datetime.now(UTC), referrer_system=DEFAULT_REFERRER)
    sealed = Firewall("intake", keys).wrap(NOTIFICATIONS.name, notification.referral_id, notification)  # one hub, one case key
    async with TestKafkaBroker(broker) as br:
        await br.publish(sealed, NOTIFICATIONS.name, key=notification.referral_id.encode())
    assert [t for t, k in queued(db) if k == notification.referral_id.encode()] == [contributions_topic(DESK.agency)]
    db.dispose()


def test_the_service_roots_still_build_from_settings_alone():
    """No argument: every dependency from the settings, as `python -m mash_<service>` runs it (the process tier
    starts them for real)."""
    import inspect

    from mash_analysis.app import build as analysis
    from mash_decision.app import build as decision
    from mash_desk.service import build_desk_app
    from mash_intake.app import build as intake
    from mash_runtime.wiring import Given

    assert sorted(Given.__annotations__) == ["broker", "db", "firewall", "registry"]
    for root in (intake, decision, analysis, build_desk_app):
        params = inspect.signature(root).parameters
        assert params["settings"].default is None, root.__module__
        assert params["given"].kind is inspect.Parameter.VAR_KEYWORD, root.__module__
        assert [n for n, p in params.items() if p.default is inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD] == (
            ["definition"] if root is build_desk_app else []
        )
