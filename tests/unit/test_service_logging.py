"""A service's log lines: JSON, and not drowned by a client library's repeated failures."""

import logging

import pytest

from mash_runtime.service import Throttle

pytestmark = pytest.mark.unit


def test_a_flood_of_identical_client_errors_is_logged_once_per_window_with_a_count():
    now = [0.0]
    throttle = Throttle(window=10, clock=lambda: now[0])

    def record(name: str, msg: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, None, None)

    passed = [throttle.filter(record("aiokafka", "Unable connect to node %s")) for _ in range(500)]
    assert passed.count(True) == 1
    assert all(throttle.filter(record("mash.desk", "contribution shared")) for _ in range(3)), "our own lines are never held"
    now[0] = 11.0
    later = record("aiokafka", "Unable connect to node %s")
    assert throttle.filter(later) and "499 more" in later.msg


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_failing_statement_never_puts_its_values_in_the_log(database_url):
    """A store error is logged with its traceback (the guarded consumer, the HTTP server); its text named the
    statement's parameters, so a name, a notification or a rationale being written reached the log."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert

    from mash_runtime.store import make_engine

    people = Table("people", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(40), nullable=False))
    engine = make_engine(database_url)
    people.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(people).values(id=1, name="Mia Okafor"))
    with pytest.raises(Exception) as failed, engine.begin() as conn:
        conn.execute(insert(people).values(id=1, name="Grace Okafor"))
    assert "Okafor" not in str(failed.value) and "hidden" in str(failed.value).lower()
    engine.dispose()
