"""Health sharing policy: pure functions, no Kafka or database imports.

Walking-skeleton policy: the desk is not yet connected to its agency's records, so it says so plainly
(status not_researched) rather than claiming it found nothing.
"""

from mash_contracts import ContributionStatus, Notification
from mash_runtime.desk import DeskAnswer

POLICY_VERSION = "health-skeleton-0"


def research(notification: Notification) -> DeskAnswer:
    return DeskAnswer(
        status=ContributionStatus.NOT_RESEARCHED,
        rationale="Desk records are not connected yet; no research was done and nothing is shared.",
    )
