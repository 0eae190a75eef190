"""Deadline arithmetic: working hours, weekends, England and Wales bank holidays, Red around the clock."""

from datetime import UTC, datetime

import pytest

from mash_contracts import RagRating
from mash_contracts.threshold import load_model
from mash_decision.clock import Clock

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(load_model("default").timescales)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_friday_afternoon_referral_is_due_on_monday(clock):
    # Friday 20 Nov 2026 15:00 UTC (= London, GMT): 2 working hours on Friday, 6 on Monday.
    assert clock.decision_due(utc(2026, 11, 20, 15, 0)) == utc(2026, 11, 23, 15, 0)


def test_christmas_and_the_boxing_day_substitute_are_skipped(clock):
    # Thu 24 Dec 16:00: 1 hour that day; Fri 25 (Christmas), the weekend, Mon 28 (Boxing Day, substitute) off.
    assert clock.decision_due(utc(2026, 12, 24, 16, 0)) == utc(2026, 12, 29, 16, 0)
    assert not clock.is_working_day(utc(2026, 12, 28).date())


def test_a_referral_arriving_out_of_hours_starts_the_clock_next_morning(clock):
    # Saturday night: the working day starts Monday 09:00, so the one-working-day decision is due Monday 17:00.
    assert clock.decision_due(utc(2026, 11, 21, 23, 0)) == utc(2026, 11, 23, 17, 0)


def test_british_summer_time_counts_local_office_hours(clock):
    # Mon 1 Jun 2026 07:30 UTC is 08:30 BST, before opening: 8 working hours from 09:00 BST = 17:00 BST = 16:00 UTC.
    assert clock.decision_due(utc(2026, 6, 1, 7, 30)) == utc(2026, 6, 1, 16, 0)


def test_red_runs_around_the_clock_and_amber_in_working_hours(clock):
    friday_evening = utc(2026, 11, 20, 20, 0)
    assert clock.returns_due(friday_evening, RagRating.RED) == utc(2026, 11, 20, 22, 0)
    # Amber: 4 working hours from Monday 09:00 -> Monday 13:00.
    assert clock.returns_due(friday_evening, RagRating.AMBER) == utc(2026, 11, 23, 13, 0)


def test_easter_monday_and_good_friday_are_bank_holidays(clock):
    # Thu 2 Apr 2026 16:00 BST (15:00 UTC): Good Friday 3 Apr and Easter Monday 6 Apr are off.
    assert clock.decision_due(utc(2026, 4, 2, 15, 0)) == utc(2026, 4, 7, 15, 0)
