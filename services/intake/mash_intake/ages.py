"""Ages at the front door: dates of birth that are impossible, or that contradict the role a subject is given.

Pure: the subjects and the day the notification was received (the hub's own calendar day), in; the reasons to
refuse it, out. A reason names the field by its place in the submission and never echoes a date, because the
rejection goes back over an unsealed topic.

A child is under 18 on the day received (Children Act 1989 s105); an adult at risk is 18 or over (Care Act
2014 s42). Nobody is silently moved across that line: a 19-year-old named as a child is refused with the role
to use, because the hub would otherwise screen them as a child, score them by a child's model and research
them under children's law.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from mash_contracts import Subject, SubjectRole

ADULTHOOD = 18
OLDEST = 120  # years: older than anyone alive, so a date of birth further back is a mistake
# A pregnancy runs about 40 weeks (280 days) from the last period: an expected date further ahead than about
# ten months cannot be right. A baby can be two weeks late before labour is induced (42 weeks), so an expected
# date up to 14 days past is still an unborn child; beyond that the baby has most likely been born.
EXPECTED_AHEAD = timedelta(days=305)
OVERDUE_GRACE = timedelta(days=14)

YOUNG_ADULT = (
    "for a young adult (a care leaver up to 25, or transitional safeguarding of an 18 to 25-year-old) use the "
    "role adult_at_risk: the hub screens them under the Care Act 2014 s42; say in the concern description that "
    "they are a care leaver or were known to children's services"
)


def age_on(born: date, day: date) -> int:
    """Whole years: a person born on 29 February comes of age on 1 March in a common year."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def problems(subjects: Sequence[Subject], received_on: date) -> list[str]:
    """Every reason, across every subject, that the ages in a notification cannot be accepted; empty if none."""
    return [f"subjects.{i}.{reason}" for i, subject in enumerate(subjects) for reason in _problems(subject, received_on)]


def _problems(s: Subject, today: date) -> list[str]:
    if s.role is SubjectRole.UNBORN_CHILD:
        return _unborn(s, today)
    if s.expected_date_of_birth is not None:  # the contract refuses this too; the rules are whole here
        return ["expected_date_of_birth: only an unborn child has an expected date of birth"]
    if s.date_of_birth is None:
        return []
    if s.date_of_birth > today:
        return [
            "date_of_birth: is after the day the notification was received; for a baby not yet born use the "
            "role unborn_child with expected_date_of_birth"
        ]
    age = age_on(s.date_of_birth, today)
    if age > OLDEST:
        return [f"date_of_birth: is more than {OLDEST} years before the day the notification was received"]
    if s.role is SubjectRole.CHILD and age >= ADULTHOOD:
        return [
            f"role: a child is under {ADULTHOOD} and this date of birth makes the subject {ADULTHOOD} or over "
            f"on the day the notification was received; {YOUNG_ADULT}"
        ]
    if s.role is SubjectRole.ADULT_AT_RISK and age < ADULTHOOD:
        return [
            f"role: an adult at risk is {ADULTHOOD} or over and this date of birth makes the subject under "
            f"{ADULTHOOD}; refer them with the role child"
        ]
    return []


def _unborn(s: Subject, today: date) -> list[str]:
    reasons = []
    if s.date_of_birth is not None:
        reasons.append(
            "date_of_birth: an unborn child has no date of birth; give expected_date_of_birth, or, if "
            "the baby has been born, the role child with the date of birth"
        )
    expected = s.expected_date_of_birth
    if expected is None:
        reasons.append("expected_date_of_birth: an unborn child needs an expected date of birth")
    elif expected < today - OVERDUE_GRACE:
        reasons.append(
            f"expected_date_of_birth: is more than {OVERDUE_GRACE.days} days before the day the "
            "notification was received; if the baby has been born, use the role child with the date of birth"
        )
    elif expected > today + EXPECTED_AHEAD:
        reasons.append(
            "expected_date_of_birth: is more than ten months after the day the notification was "
            "received, longer than a pregnancy lasts"
        )
    return reasons
