"""Outside agencies: enrolment from their public keys, rotation, revocation, and the published key directory.

An agency (a school trust, a GP federation, a police force) makes its own key pair with any standard tool and
gives the hub its public keys. Enrolling it adds them to the hub's directory, gives it a Kafka identity of its own
(a SCRAM user whose password goes to the agency in its client configuration and is not kept by the hub), creates
its per-referrer topics, and grants exactly its ACLs. Its private keys never exist on the hub.

The local mesh stands in for a county's partners with simulated agencies: each gets keys made "on its own
machine", <state>/agencies/<name>/, which no hub service reads.
"""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import replace
from pathlib import Path

from mash_contracts.topics import PRODUCT_RECIPIENTS, REFERRER_ROLE
from mash_runtime.firewall.keys import DIRECTORY, enrol, new_agency_keys, revoke

from . import acls, scram
from .integrate import write_client_config
from .kafka import Access
from .topics import create_topics

REFERRER, RECIPIENT = REFERRER_ROLE, "recipient"
RECIPIENT_NAMES = tuple(a.value for a in PRODUCT_RECIPIENTS)  # a recipient's name is the agency the model routes to
# The local mesh's partners: three referring organisations (one of them the police force, which receives products
# too) and every agency a product can be routed to.
SIMULATED: dict[str, tuple[str, ...]] = {
    "northshire_schools": (REFERRER,),
    "northshire_gp": (REFERRER,),
    "police": (REFERRER, RECIPIENT),
    **{name: (RECIPIENT,) for name in RECIPIENT_NAMES if name != "police"},
}
DEFAULT_REFERRER = "northshire_schools"


def simulated_referrer(submission) -> str:
    """Which simulated referrer's system sends a synthetic submission: the police force its own, health
    professionals' through the GP federation, everyone else's through the schools' trust."""
    agency = submission.referrer.agency.value if submission.referrer.agency else None
    return {"police": "police", "health": "northshire_gp"}.get(agency, DEFAULT_REFERRER)


def enrolled(keys_dir: Path) -> dict[str, tuple[str, ...]]:
    """Every enrolled agency and its roles, as the hub's key directory lists them."""
    path = keys_dir / DIRECTORY
    if not path.exists():
        return {}
    return {name: tuple(e["roles"]) for name, e in json.loads(path.read_text()).items() if e.get("roles")}


def client_config(access: Access, name: str, password: str | None) -> str:
    """librdkafka properties (kcat -F, the reference client) for the agency's own Kafka identity, naming the hub
    CA's certificate it verifies the brokers against (written beside the configuration: integrate.write_client_config)."""
    return access.librdkafka(name, password)


def read_client_config(text: str) -> tuple[str, dict[str, str]]:
    """(bootstrap, {username: password}) from a client configuration this module wrote."""
    props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    user = props.get("sasl.username")
    return props["bootstrap.servers"], ({user: props["sasl.password"]} if user else {})


def check_roles(name: str, roles: tuple[str, ...]) -> None:
    if not roles:
        raise ValueError("enrol it as --referrer, --recipient or both")
    if RECIPIENT in roles and name not in RECIPIENT_NAMES:
        raise ValueError(f"a recipient is one of the agencies a product is routed to: {', '.join(RECIPIENT_NAMES)}")


async def add_many(access: Access, keys_dir: Path, agencies: dict[str, tuple[tuple[str, ...], bytes]]) -> dict[str, str]:
    """Enrol agencies from their public keys (name -> (roles, public keys)) and give each its Kafka identity, in one
    pass: one SCRAM request, one round of topics and ACLs. Returns each one's client configuration (it holds the
    agency's password). All or none: the directory lists only what the broker knows."""
    for name, (roles, _) in agencies.items():
        check_roles(name, roles)
    passwords = {name: secrets.token_urlsafe(24) if access.secured else None for name in agencies}
    added: list[str] = []
    try:
        for name, (roles, public_pem) in agencies.items():
            enrol(keys_dir, name, roles, public_pem)
            added.append(name)
        if access.secured and passwords:
            await scram.alter(access.client(), upsert={name: pw for name, pw in passwords.items() if pw is not None})
        await create_topics(access, enrolled(keys_dir))
    except BaseException:
        for name in added:
            revoke(keys_dir, name)
        raise
    return {name: client_config(access, name, password) for name, password in passwords.items()}


async def add(access: Access, keys_dir: Path, name: str, roles: tuple[str, ...], public_pem: bytes) -> str:
    """Enrol one agency from its public keys; returns its client configuration (it holds the agency's password)."""
    return (await add_many(access, keys_dir, {name: (roles, public_pem)}))[name]


def rotate(keys_dir: Path, name: str, public_pem: bytes) -> dict:
    """New keys become current; the old stay in the directory so what was signed or sealed before still verifies
    and opens (the agency keeps its old private key until its last product under it has been read)."""
    return enrol(keys_dir, name, (), public_pem, rotate=True)


async def new_password(access: Access, name: str) -> str:
    password = secrets.token_urlsafe(24)
    await scram.alter(access.client(), upsert={name: password})
    return client_config(access, name, password)


async def remove(access: Access, keys_dir: Path, name: str) -> bool:
    """Revoke: out of the directory (nothing it signs is accepted, nothing more is sealed for it), its ACLs deleted
    (its open connections lose their rights at once) and its Kafka user deleted. Its topics stay until retention."""
    if not revoke(keys_dir, name):
        return False
    await acls.remove(access, name)
    if access.secured:
        await scram.alter(access.client(), delete=[name])
    return True


def agency_dir(state_dir: Path, name: str) -> Path:
    return state_dir / "agencies" / name


def publish(keys_dir: Path, state_dir: Path) -> None:
    """Hand each simulated agency the current public directory, as a real one fetches it (`mash agency directory`)."""
    for d in sorted((state_dir / "agencies").glob("*/")):
        shutil.copyfile(keys_dir / DIRECTORY, d / DIRECTORY)


def _simulated_to_enrol(keys_dir: Path, state_dir: Path, holds: tuple[str, ...]) -> dict[str, tuple[tuple[str, ...], bytes]]:
    """Each simulated agency not enrolled with what its own directory must hold: its keys made afresh there (and
    out of the hub's directory first if it was in it); name -> (roles, public keys), ready to enrol."""
    known = enrolled(keys_dir)
    fresh = {}
    for name, roles in SIMULATED.items():
        home = agency_dir(state_dir, name)
        if name in known and all((home / f).exists() for f in holds):
            continue
        if name in known:
            revoke(keys_dir, name)
        fresh[name] = (roles, new_agency_keys(home))
    return fresh


def simulate_keys(keys_dir: Path, state_dir: Path) -> list[str]:
    """Each simulated agency not yet enrolled makes its keys in its own directory and is enrolled from the public
    half (no broker needed, no Kafka identity); returns the names enrolled now."""
    fresh = _simulated_to_enrol(keys_dir, state_dir, ("signing.pem",))
    for name, (roles, public_pem) in fresh.items():
        enrol(keys_dir, name, roles, public_pem)
    publish(keys_dir, state_dir)
    return list(fresh)


async def simulate(access: Access, keys_dir: Path, state_dir: Path) -> Access:
    """The simulated agencies enrolled as any agency is (`add_many`), from keys each makes in its own directory, and
    handed their client configurations; returns the access the harness (demo, bench, tests) uses, with their
    credentials. One enrolled without a Kafka identity (`simulate_keys`) is enrolled afresh."""
    fresh = _simulated_to_enrol(keys_dir, state_dir, ("signing.pem", "client.properties"))
    for name, config in (await add_many(access, keys_dir, fresh)).items():
        write_client_config(config, agency_dir(state_dir, name) / "client.properties")
    publish(keys_dir, state_dir)
    passwords = dict(access.passwords)
    for name in SIMULATED:
        passwords |= read_client_config((agency_dir(state_dir, name) / "client.properties").read_text())[1]
    return replace(access, passwords=passwords)
