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
