"""A deployment's one-shot steps, run from the hub image (`python -m mash_cli.deploy_init ...`):

- `secrets`: the hub CA, each Kafka node's keystore and server.properties, the cluster id, a SCRAM password for the
  admin and every hub principal, and each service's own credentials, into a directory laid out as below. Compose's
  init service writes it into volumes; for Kubernetes an operator writes it on their own machine and loads it as
  Secrets (create-secrets.sh, written beside it). Run again, it keeps what exists (the CA, the passwords, the cluster
  id) and reissues a broker certificate only when it is missing, names other hosts, nears its end, or is asked to.
- `hub`: the hub's own keys (as `mash keys init` makes them) and each service's store (its own `init`).
- `provision`: once the brokers answer, every hub principal's SCRAM user, the catalogue's topics (three replicas, two
  in sync) and the ACLs, through the same functions the local mesh uses (topics.create_topics, acls.apply).
- `init`: compose's one init step: `secrets` and `hub` into its volumes, each file owned by the one who reads it.

    <out>/init/       ca.key, ca.pem, credentials.json, keystores.json: stays with the init step (or the operator)
    <out>/kafka/      <node>.properties, <node>.p12, ca.pem, cluster-id, scram-users, admin.properties: every node's
    <out>/provision/  credentials.json, ca.pem: the provisioning step's (it acts as admin)
    <out>/services/<service>/  kafka.env, password, ca.pem: that service's own
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets as random
import shlex
import subprocess
import sys
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from mash_contracts.topics import hub_principals
from mash_runtime.firewall import generate
from mash_runtime.firewall.keys import write_secret

from . import scram, tls
from .agencies import enrolled
from .deployment import HUB_UID, KAFKA_UID, PLATFORMS, Node, Platform, admin_client_properties, broker_properties, dns_name
from .kafka import ADMIN, SCRAM, Access, answers, cluster_uuid
from .mesh import SERVICES
from .topics import create_topics

RENEW_BEFORE = dt.timedelta(days=60)


def write_secrets(platform: Platform, out: Path, renew: bool = False) -> None:
    """Everything secret the platform's nodes and services read, laid out under `out` as the module says."""
    init, kafka, provision = out / "init", out / "kafka", out / "provision"
    for directory in (init, kafka, provision):
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca = tls.ensure_ca(init)
    passwords = _kept(init / "credentials.json")
    passwords |= {p: random.token_urlsafe(24) for p in (ADMIN, *hub_principals()) if p not in passwords}
    write_secret(init / "credentials.json", json.dumps(passwords, indent=1, sort_keys=True))
    if not (init / "cluster-id").exists():
        (init / "cluster-id").write_text(cluster_uuid())
    keystores = _kept(init / "keystores.json")
    for node in platform.nodes:
        store = kafka / f"{node.name}.p12"
        if renew or not _still_good(store, keystores.get(node.name), node):
            keystores[node.name] = tls.issue_broker(init, store, [node.host]).password
        write_secret(kafka / f"{node.name}.properties", broker_properties(platform, node, passwords[ADMIN], keystores[node.name]))
    write_secret(init / "keystores.json", json.dumps(keystores, indent=1, sort_keys=True))
    users = [a for p, pw in sorted(passwords.items()) for a in ("--add-scram", f"{SCRAM}=[name={p},password={pw}]")]
    write_secret(kafka / "scram-users", "\n".join(users) + "\n")
    write_secret(kafka / "admin.properties", admin_client_properties(passwords[ADMIN]))
    (kafka / "cluster-id").write_text((init / "cluster-id").read_text())
    write_secret(provision / "credentials.json", json.dumps(passwords, indent=1, sort_keys=True))
    for directory in (kafka, provision):
        (directory / "ca.pem").write_bytes(ca.read_bytes())
    for service in SERVICES:
        own = out / "services" / service
        own.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_secret(own / "password", passwords[service])
        write_secret(own / "kafka.env", f"KAFKA_PASSWORD={shlex.quote(passwords[service])}\n")
        (own / "ca.pem").write_bytes(ca.read_bytes())
    if platform.name == "k8s":
        (out / "create-secrets.sh").write_text(kubernetes_secrets_script())


def _kept(path: Path) -> dict[str, str]:
    return json.loads(path.read_text()) if path.exists() else {}


def _still_good(store: Path, password: str | None, node: Node) -> bool:
    """The keystore opens, names the node's host, and has more than RENEW_BEFORE left."""
    if password is None or not store.exists():
        return False
    _, cert, _ = pkcs12.load_key_and_certificates(store.read_bytes(), password.encode())
    if cert is None:
        return False
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    return node.host in names and cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > RENEW_BEFORE


def kubernetes_secrets_script() -> str:
    """The Secrets the manifests name, from the files beside it (`sh create-secrets.sh -n NAMESPACE`); nothing in
    deploy/k8s holds a value."""
    lines = [
        "#!/bin/sh",
        "# Loads the generated files as the Secrets deploy/k8s refers to. Arguments go to kubectl (e.g. -n mash).",
        "# Keep init/ (the CA's key and every password) out of the cluster: it is how certificates are renewed.",
        "set -eu",
        'cd "$(dirname "$0")"',
        'kubectl "$@" create secret generic mash-kafka --from-file=kafka/',
        'kubectl "$@" create secret generic mash-ca --from-file=ca.pem=kafka/ca.pem',
        'kubectl "$@" create secret generic mash-provision --from-file=credentials.json=provision/credentials.json',
    ]
    lines += [
        f'kubectl "$@" create secret generic mash-kafka-{dns_name(s)} --from-file=password=services/{s}/password'
        for s in SERVICES
    ]
    return "\n".join(lines) + "\n"


def set_up_hub(keys: Path, state: Path, services: list[str] | None = None) -> None:
    """The hub's keys, then each service's store through its own `init` (idempotent: a store it was initialised
    with is never replaced)."""
    generate(keys, hub_principals())
    for service in services or list(SERVICES):
        home = state / service
        home.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "MASH_STATE_DIR": str(home),
            "MASH_KEYS_DIR": str(keys),
            "MASH_DATABASE_URL": f"sqlite:///{home / service}.db",
        }
        done = subprocess.run([sys.executable, "-m", f"mash_{service}", "init"], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"initialising {service}'s store failed: {done.stderr.strip()[-2000:]}")
        print(done.stdout.strip())


def _own(path: Path, uid: int) -> None:
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, uid)
        for name in (*dirs, *files):
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def compose_init(root: Path, renew: bool = False) -> None:
    """Everything compose's services find in their volumes, mounted under `root` (see docker-compose.yml's init)."""
    platform = PLATFORMS["compose"]
    write_secrets(platform, root, renew)
    _own(root / "kafka", KAFKA_UID)
    for node in platform.nodes:
        data = root / "kafka-data" / node.name
        data.mkdir(parents=True, exist_ok=True)
        _own(data, KAFKA_UID)
    set_up_hub(root / "keys", root / "state")
    for hub_only in ("provision", "services", "keys", "state"):
        _own(root / hub_only, HUB_UID)


def provision(bootstrap: str, credentials: Path, ca: Path, keys: Path, timeout: float = 600.0) -> list[str]:
    """Wait for every broker to answer, then the users, topics and ACLs."""
    passwords = json.loads(credentials.read_text())
    brokers = bootstrap.split(",")
    access = Access(bootstrap, {ADMIN: passwords[ADMIN]}, ca_file=ca, brokers=len(brokers))
    deadline = time.monotonic() + timeout
    while not (all(answers(Access(b, access.passwords, ca_file=ca)) for b in brokers) and (keys / "directory.json").exists()):
        if time.monotonic() > deadline:
            raise SystemExit(f"the brokers ({bootstrap}) or the hub's keys ({keys}) were not there after {timeout:.0f}s")
        time.sleep(2)
    # Users made at format time are here already; a principal added since (a new desk) gets its user now.
    asyncio.run(scram.alter(access.client(ADMIN), upsert={p: passwords[p] for p in hub_principals()}))
    return asyncio.run(create_topics(access, enrolled(keys)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mash_cli.deploy_init", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    s = sub.add_parser("secrets", help="the CA, brokers' keystores and properties, passwords, each service's credentials")
    s.add_argument("--platform", choices=sorted(PLATFORMS), required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--renew-certificates", action="store_true")
    h = sub.add_parser("hub", help="the hub's keys and each service's store")
    h.add_argument("--keys", type=Path, required=True)
    h.add_argument("--state", type=Path, required=True, help="holds one directory per service")
    p = sub.add_parser("provision", help="SCRAM users, topics and ACLs on the running cluster")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--credentials", type=Path, required=True)
    p.add_argument("--ca", type=Path, required=True)
    p.add_argument("--keys", type=Path, required=True)
    i = sub.add_parser("init", help="compose's init step: secrets and hub into the volumes under --root")
    i.add_argument("--root", type=Path, required=True)
    i.add_argument("--renew-certificates", action="store_true")
    args = parser.parse_args(argv)
    if args.step == "secrets":
        write_secrets(PLATFORMS[args.platform], args.out, args.renew_certificates)
        print(
            f"written to {args.out}" + (f"; load them with `sh {args.out}/create-secrets.sh`" if args.platform == "k8s" else "")
        )
    elif args.step == "hub":
        set_up_hub(args.keys, args.state)
    elif args.step == "provision":
        created = provision(args.bootstrap, args.credentials, args.ca, args.keys)
        print(f"provisioned: {len(created)} topics created, users and ACLs in place")
    else:
        compose_init(args.root, args.renew_certificates)
    return 0


if __name__ == "__main__":
    sys.exit(main())
