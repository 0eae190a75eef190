"""What test modules share at import time, where a fixture cannot reach: module-level tables and default arguments.
Fixtures are in conftest.py. Imported as `helpers`: pytest puts this folder on the path for tests/conftest.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mash_contracts import Address, Contribution, ContributionStatus, Subject, SubjectRole

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # in working hours: a green return falls due the same afternoon


def person_row(pid: str, given: str, family: str, dob: str, nhs: str | None = None, *, home: Address) -> dict:
    """A person as an agency's records hold them (a desk's `people` table)."""
    return {
        "person_id": pid,
        "given_name": given,
        "family_name": family,
        "date_of_birth": dob,
        "nhs_number": nhs,
        "address_line1": home.line1,
        "postcode": home.postcode,
        "true_person_id": None,
    }


def subject(ref: str, role: SubjectRole, given: str | None, family: str, born: date | None = None, **more) -> Subject:
    """A referral's subject on one line: its reference, role, names and date of birth; the rest by keyword."""
    return Subject(subject_ref=ref, role=role, given_name=given, family_name=family, date_of_birth=born, **more)


def contribution(notification, agency, findings=(), *, message_id, revision: int = 1, **fields) -> Contribution:
    """A desk's answer to a referral's revision: shared when it reports findings, nothing held otherwise; any other
    field as the test needs it."""
    status = ContributionStatus.SHARED if findings else ContributionStatus.NO_RECORDS_FOUND
    fields = {"status": status, "rationale": "test", "policy_version": "test-1", "researched_at": MONDAY, **fields}
    return Contribution(
        message_id=message_id,
        referral_id=notification.referral_id,
        agency=agency,
        findings=list(findings),
        notification_revision=revision,
        **fields,
    )
