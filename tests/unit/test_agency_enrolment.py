"""Enrolling outside agencies: one path for one agency (`mash agency add`) and for many (the simulated partners), and
one check of an agency's name, the directory's own, that every caller gets."""

import asyncio
import json

import pytest

from mash_cli import agencies
from mash_cli.kafka import Access
from mash_contracts.topics import hub_principals
from mash_runtime.firewall import generate
from mash_runtime.firewall.keys import DIRECTORY, enrol, new_agency_keys

pytestmark = pytest.mark.unit


@pytest.fixture
def keys(tmp_path):
    path = tmp_path / "keys"
    generate(path, hub_principals())
    return path


@pytest.fixture
def broker(monkeypatch):
    """The broker's side of enrolment (topics and ACLs), recorded instead of made; `fail` makes it refuse."""
    calls: list[dict] = []
    fail: list[BaseException] = []

    async def create_topics(access, enrolled):
        if fail:
            raise fail[0]
        calls.append(dict(enrolled))
        return []

    monkeypatch.setattr(agencies, "create_topics", create_topics)
    return calls, fail


def test_many_agencies_are_enrolled_in_one_pass_and_add_is_the_case_of_one(tmp_path, keys, broker):
    calls, _ = broker
    access = Access("127.0.0.1:9")
    configs = asyncio.run(
        agencies.add_many(
            access,
            keys,
            {
                "st_marys": (("referrer",), new_agency_keys(tmp_path / "st_marys")),
                "health": (("recipient",), new_agency_keys(tmp_path / "health")),
            },
        )
    )
    assert set(configs) == {"st_marys", "health"} and all("bootstrap.servers=127.0.0.1:9" in c for c in configs.values())
    assert len(calls) == 1 and {"st_marys": ("referrer",), "health": ("recipient",)}.items() <= calls[0].items()
    config = asyncio.run(agencies.add(access, keys, "hillside", ("referrer",), new_agency_keys(tmp_path / "hillside")))
    assert config == agencies.client_config(access, "hillside", None)
    assert agencies.enrolled(keys)["hillside"] == ("referrer",)


def test_when_the_broker_refuses_none_of_the_agencies_stays_enrolled(tmp_path, keys, broker):
    _, fail = broker
    fail.append(RuntimeError("broker down"))
    before = (keys / DIRECTORY).read_text()
    with pytest.raises(RuntimeError, match="broker down"):
        asyncio.run(
            agencies.add_many(
                Access("127.0.0.1:9"),
                keys,
                {
                    "st_marys": (("referrer",), new_agency_keys(tmp_path / "st_marys")),
                    "hillside": (("referrer",), new_agency_keys(tmp_path / "hillside")),
                },
            )
        )
    assert json.loads((keys / DIRECTORY).read_text()) == json.loads(before)


def test_the_simulated_partners_are_enrolled_through_the_same_path(tmp_path, keys, broker, monkeypatch):
    """Including one enrolled before without a Kafka identity (simulate_keys): it is enrolled afresh and gets one."""
    calls, _ = broker
    assert "northshire_gp" in agencies.simulate_keys(keys, tmp_path)
    enrolled_through = []
    add_many = agencies.add_many

    async def counted(access, keys_dir, fresh):
        enrolled_through.append(sorted(fresh))
        return await add_many(access, keys_dir, fresh)

    monkeypatch.setattr(agencies, "add_many", counted)
    access = asyncio.run(agencies.simulate(Access("127.0.0.1:9"), keys, tmp_path))
    assert enrolled_through == [sorted(agencies.SIMULATED)]
    assert all((agencies.agency_dir(tmp_path, n) / "client.properties").exists() for n in agencies.SIMULATED)
    assert all(set(agencies.enrolled(keys)[n]) == set(roles) for n, roles in agencies.SIMULATED.items())
    assert access.bootstrap == "127.0.0.1:9"
    asyncio.run(agencies.simulate(Access("127.0.0.1:9"), keys, tmp_path))
    assert enrolled_through[-1] == [] and len(calls) == 2  # nothing new, but topics and ACLs made sure of again


@pytest.mark.parametrize(
    "name,why", [("x", "2-48 characters"), ("St Marys", "2-48 characters"), ("intake", "hub's own principals")]
)
def test_the_directory_refuses_a_name_that_is_no_outside_agencys_whoever_enrols_it(tmp_path, name, why):
    """Even a hub principal whose keys are not made yet (an empty directory) is refused: before, only the CLI knew."""
    keys = tmp_path / "keys"
    keys.mkdir()
    with pytest.raises(ValueError, match=why):
        enrol(keys, name, ("referrer",), new_agency_keys(tmp_path / "agency"))
    assert not (keys / DIRECTORY).exists()


@pytest.mark.parametrize("action", ["add", "password", "revoke"])
def test_the_cli_refuses_a_bad_name_before_it_looks_for_the_broker(tmp_path, monkeypatch, capsys, action):
    from mash_cli.__main__ import main

    monkeypatch.setenv("MASH_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "pub.pem").write_bytes(new_agency_keys(tmp_path / "agency"))
    extra = ["--referrer", "--public-keys", str(tmp_path / "pub.pem")] if action == "add" else []
    assert main(["agency", action, "St Marys", *extra]) == 1
    err = capsys.readouterr().err
    assert "2-48 characters" in err and "broker" not in err


def test_the_cli_gives_no_password_to_a_name_the_directory_does_not_hold(tmp_path, monkeypatch, capsys):
    """A password alone would make a Kafka user with no keys and no ACLs: refused before the broker is looked for."""
    from mash_cli.__main__ import main

    monkeypatch.setenv("MASH_STATE_DIR", str(tmp_path / "state"))
    assert main(["agency", "password", "northshire_nobody"]) == 1
    err = capsys.readouterr().err
    assert "not enrolled" in err and "broker" not in err
