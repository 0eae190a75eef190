"""Who may have written a sealed topic is worked out once per topic and kept until the key directory changes: the
same answer while it does not, a new one as soon as an agency is enrolled or revoked (no restart)."""

import pytest

from mash_contracts.topics import NOTIFICATIONS, NOTIFICATIONS_SUBMITTED
from mash_runtime.firewall import Firewall, generate
from mash_runtime.firewall.keys import enrol, new_agency_keys, revoke

pytestmark = pytest.mark.unit


@pytest.fixture
def intake(tmp_path):
    keys = tmp_path / "keys"
    generate(keys, ["intake"])
    firewall = Firewall("intake", keys)
    firewall.directory.RECHECK_SECONDS = 0  # look at the file on every use, as a service does once a second
    return firewall, keys


def test_the_writers_are_the_same_set_until_the_directory_changes(intake, tmp_path):
    firewall, keys = intake
    before = firewall.writers(NOTIFICATIONS_SUBMITTED)
    assert before == frozenset()  # no referrer enrolled yet
    assert firewall.writers(NOTIFICATIONS_SUBMITTED) is before  # kept, not rebuilt for every record
    assert firewall.writers(NOTIFICATIONS) == {"intake"}

    enrol(keys, "hillside", ("referrer",), new_agency_keys(tmp_path / "hillside"))
    enrolled = firewall.writers(NOTIFICATIONS_SUBMITTED)
    assert enrolled == {"hillside"}
    assert firewall.writers(NOTIFICATIONS_SUBMITTED) is enrolled

    revoke(keys, "hillside")
    assert firewall.writers(NOTIFICATIONS_SUBMITTED) == frozenset()


def test_the_directory_version_goes_up_only_when_the_file_changes(intake, tmp_path):
    firewall, keys = intake
    version = firewall.directory.version
    assert not firewall.directory.reload() and firewall.directory.version == version
    enrol(keys, "hillside", ("referrer",), new_agency_keys(tmp_path / "hillside"))
    assert firewall.directory.version == version + 1
    assert firewall.directory.version == version + 1
