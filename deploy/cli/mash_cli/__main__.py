"""mash: the operator's command: the local broker, topics, agencies, keys, the mesh and what it records.
(`./mash demo`, `./mash bench` and `./mash analysis year|render|linkage` are the project's tools, package mash_tools.)

mash kafka start [--nodes 1|3] [--plaintext]|stop|status
                          the local broker: one KRaft node, or three keeping three replicas; TLS with the hub's
                          own CA unless --plaintext
mash postgres start|stop|status   a local PostgreSQL for the services' stores (MASH_DATABASE_URL)
mash topics               create every catalogue topic (idempotent)
mash keys init|rotate     the services' signing and encryption keys, in the state directory (never committed)
mash agency add NAME --referrer|--recipient --public-keys FILE [--output CONFIG] | rotate NAME --public-keys FILE |
            password NAME --output CONFIG | revoke NAME | list | directory [--output FILE]
                          enrol an outside agency from its public keys (its Kafka identity, topics and ACLs;
                          its client configuration, mode 0600, holds the password the hub does not keep)
mash init [--replace] [SERVICE ...]
                          create and stamp each service's store, once before its first start (`mash up` does it);
                          --replace starts a new empty store for a service whose store is lost
mash up [--nodes 3] [--replicas N] [--observe] | down | ps
                          run every service in the background against the local broker, with the
                          simulated partner agencies enrolled (their own keys in .mash/agencies/, not the hub's);
                          --replicas N instances of each; --observe adds Zipkin and Prometheus with alert rules
mash status               each service's readiness and consumer lag, the oldest waiting referral
mash audit verify [--offline]|seen REF|shared --nhs N | --family F --given G --dob YYYY-MM-DD
                          the confidential record of activity: verify its chains (against the anchors on
                          the broker), who saw a referral, what was shared about a person
                          (--state .mash/demo after a demo)
mash decision pending | confirm REF --manager NAME |
              override REF --manager NAME --level N --outcome O [--recipient A ...] --rationale TEXT |
              (confirm and override take --as practice_consultant for an adult routed to an allocated team) |
              grounds REF --manager NAME --kind s47|strategy_discussion --rationale TEXT |
              chronology REF [--subject S] [--json]
                          the MASH manager's desk: recommendations waiting for a person (with each desk's
                          declines); recorded s47 grounds re-open the declined desks' research; a referral's
                          multi-agency chronology (date | agency | event | outcome), of one child with --subject
mash analysis report --out DIR [--url URL --token TOKEN]
                          the commissioning and oversight report, as the running analysis service renders it
mash dlq list | replay ID ...   dead letters with their reasons; replay chosen ones after a fix
mash trace REF [--state DIR]  a referral's journey through every service as a waterfall
mash users add NAME --name "Display Name" --role call_handler|manager|operations|practice_consultant | disable NAME | list
mash retention [--older-than-days N] [--outcome O ...] [--referral REF ...] [--dry-run]
                          crypto-shred closed cases: destroy their case keys, record the erasure
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mash_contracts.topics import hub_principals, markdown_table

from .kafka import Access, KafkaError, LocalKafka
from .mesh import Mesh
from .paths import state_dir
from .postgres import LocalPostgres
from .topics import create_topics


def _local_server(name: str, server, action: str, started: Callable[[Any], str]) -> int:
    """`mash kafka|postgres start|stop|status`: the local broker and the local PostgreSQL answer alike."""
    if action == "start":
        print(started(server.start()))
    elif action == "stop":
        print("stopped" if server.stop() else "not running")
    else:
        print(f"{name}: {server.status()}")
    return 0


def _broker_shape(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nodes",
        type=int,
        choices=[1, 3],
        help="start: a new local broker's nodes (default 1, or MASH_KAFKA_NODES); 3 keeps three replicas of every topic",
    )
    parser.add_argument(
        "--plaintext",
        action="store_true",
        help="start: a new local broker speaks SASL over plain TCP, not TLS (local experiments only; MASH_KAFKA_PLAINTEXT=1)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mash", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    kafka = sub.add_parser("kafka", help="the local broker")
    kafka.add_argument("action", choices=["start", "stop", "status", "client-config"])
    kafka.add_argument("principal", nargs="?", help="client-config: whose connection settings (librdkafka/kcat -F format)")
    kafka.add_argument("--output", "-o", type=Path, help="client-config: write to this file (mode 0600: it holds a password)")
    _broker_shape(kafka)
    for name, text in (
        ("seal", "seal a message (JSON on stdin) as PRINCIPAL for a topic's readers"),
        ("open", "open a sealed record (stdin) as PRINCIPAL, one of the topic's readers"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--as", dest="principal", required=True)
        cmd.add_argument(
            "--keys",
            type=Path,
            help="an outside agency's own directory (signing.pem, encryption.pem and "
            "the published directory.json); without it, a hub principal's keys in the state directory",
        )
        cmd.add_argument("--topic", required=True)
        cmd.add_argument("--key", required=True, help="the record's key (submission id or referral id)")
    agency = sub.add_parser("agency", help="enrol, rotate, re-password or revoke an outside agency; the public key directory")
    agency.add_argument("action", choices=["add", "rotate", "password", "revoke", "list", "directory"])
    agency.add_argument("name", nargs="?")
    agency.add_argument("--referrer", action="store_true", help="add: it submits notifications")
    agency.add_argument("--recipient", action="store_true", help="add: it receives information products")
    agency.add_argument("--public-keys", type=Path, help="add, rotate: its Ed25519 and X25519 public keys (PEM)")
    agency.add_argument(
        "--output", "-o", type=Path, help="add, password: its client configuration (0600); directory: the public key directory"
    )
    postgres = sub.add_parser("postgres", help="a local PostgreSQL server (Debian's package) for the stores")
    postgres.add_argument("action", choices=["start", "stop", "status"])
    keys = sub.add_parser("keys", help="generate (init) or rotate the services' signing and encryption keys")
    keys.add_argument("action", choices=["init", "rotate"])
    keys.add_argument("services", nargs="*", help="default: every service")
    init = sub.add_parser("init", help="create and stamp each service's store (a plain start never makes one)")
    init.add_argument("services", nargs="*", help="default: every service")
    init.add_argument(
        "--replace",
        action="store_true",
        help="start a new empty store where the one a service was initialised with is lost (or adopt another)",
    )
    sub.add_parser("topics", help="create the catalogue's topics")
    sub.add_parser("topic-table", help="print the topic catalogue as a markdown table")
    sub.add_parser("docs", help="regenerate docs/asyncapi.json and docs/schemas/*.json from the code")
    up = sub.add_parser("up", help="start the broker and every service in the background")
    _broker_shape(up)
    up.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="instances of each service, sharing its store and consumer groups (docs/reliability.md#replicas)",
    )
    up.add_argument(
        "--observe", action="store_true", help="also Zipkin (traces) and Prometheus (metrics, alert rules) on loopback"
    )
    sub.add_parser("down", help="stop the services and the broker")
    sub.add_parser("ps", help="show the broker and services")
    sub.add_parser("status", help="each service's readiness and consumer lag, and the oldest waiting referral")
    aud = sub.add_parser("audit", help="verify the record of activity; who has seen a referral; what was shared about a person")
    aud.add_argument("action", choices=["verify", "seen", "shared"])
    aud.add_argument("referral_id", nargs="?")
    aud.add_argument("--nhs")
    aud.add_argument("--family")
    aud.add_argument("--given")
    aud.add_argument("--dob")
    aud.add_argument("--state", help="state directory of the run to read (default: the mesh's, .mash)")
    aud.add_argument(
        "--offline",
        action="store_true",
        help="verify: the chains alone, without the anchors on the broker (a replaced chain would not show)",
    )
    dec = sub.add_parser("decision", help="the MASH manager: pending recommendations, confirm, override with a rationale")
    dec.add_argument("action", choices=["pending", "confirm", "override", "grounds", "chronology"])
    dec.add_argument("referral_id", nargs="?")
    dec.add_argument("--manager", default=None)
    dec.add_argument(
        "--as",
        dest="role",
        choices=["manager", "practice_consultant"],
        default="manager",
        help="confirm, override: a Safeguarding Adults Practice Consultant decides the adults routed to an allocated team",
    )
    dec.add_argument("--level", type=int)
    dec.add_argument("--outcome")
    dec.add_argument("--recipient", action="append", default=[])
    dec.add_argument("--rationale")
    dec.add_argument("--kind", choices=["s47", "strategy_discussion"], help="grounds: what the manager recorded")
    dec.add_argument("--subject", help="chronology: one subject's (a child's) entries and the household-wide ones")
    dec.add_argument("--json", action="store_true", help="chronology: the service's JSON, not the table")
    dec.add_argument("--state", help="state directory of the run (default: the mesh's, .mash)")
    ana = sub.add_parser("analysis", help="the commissioning report from the running analysis service", add_help=False)
    ana.add_argument("action", choices=["report"])
    ana.add_argument("rest", nargs=argparse.REMAINDER)
    dlq = sub.add_parser("dlq", help="list dead letters with their reasons; replay chosen ones after a fix")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("ids", nargs="*", help="replay: dead letter ids")
    tr = sub.add_parser("trace", help="a referral's journey through every service, as a waterfall of spans")
    tr.add_argument("referral_id")
    tr.add_argument("--state", help="state directory of the run (default: the mesh's, .mash)")
    usr = sub.add_parser("users", help="the people who sign in to the web front door: add, disable, list")
    usr.add_argument("action", choices=["add", "disable", "list"])
    usr.add_argument("username", nargs="?")
    usr.add_argument("--name", help="add: the name decisions and the audit record show")
    usr.add_argument(
        "--role", choices=["call_handler", "manager", "operations", "practice_consultant"], help="add: what they may do"
    )
    usr.add_argument("--state", help="state directory of the running mesh (default: .mash)")
    ret = sub.add_parser("retention", help="crypto-shred closed cases by retention policy and record the erasure")
    ret.add_argument("--older-than-days", type=int, default=90)
    ret.add_argument(
        "--outcome", action="append", help="outcomes that close a case (default: no_further_action, advice_and_signposting)"
    )
    ret.add_argument("--referral", action="append", help="shred exactly these referrals (an erasure request)")
    ret.add_argument("--dry-run", action="store_true")
    ret.add_argument("--state", help="state directory of the run (default: the mesh's, .mash)")
    args = parser.parse_args(argv)

    root = state_dir()
    # The run a reading command looks at: --state (a demo's, say) or the mesh's own.
    state = Path(args.state).resolve() if getattr(args, "state", None) else root
    broker = LocalKafka(
        root / "kafka", node_count=getattr(args, "nodes", None), tls=False if getattr(args, "plaintext", False) else None
    )
    if args.command == "kafka":
        if args.action == "client-config":
            from .integrate import client_config, write_client_config

            if not args.principal:
                parser.error("client-config needs a principal")
            write_client_config(client_config(broker, args.principal), args.output)
            return 0
        return _local_server(
            "kafka",
            broker,
            args.action,
            lambda started: (
                f"Kafka answering at {started.bootstrap} ({started.replication} replicas per partition, "
                f"{started.protocol} with SCRAM{f', the hub CA in {started.ca_file}' if started.ca_file else ''}; "
                f"credentials in {broker.credentials_file})"
            ),
        )
    if args.command == "postgres":
        return _local_server(
            "postgres",
            LocalPostgres(root / "postgres"),
            args.action,
            lambda url: f"PostgreSQL accepting connections: MASH_DATABASE_URL={url}",
        )
    if args.command == "keys":
        from mash_runtime.firewall import generate

        changed = generate(root / "keys", args.services or hub_principals(), rotate=args.action == "rotate")
        print(f"keys in {root / 'keys'}: " + (", ".join(f"{s} -> {kid}" for s, kid in changed.items()) or "already present"))
        return 0
    if args.command == "init":
        try:
            done = Mesh(Access(""), root).init(*args.services, replace=args.replace)
        except RuntimeError as e:  # a store that is not the one a service was initialised with, say
            print(e, file=sys.stderr)
            return 1
        print("\n".join(done.values()))
        return 0
    if args.command == "audit":
        from . import audit

        if args.action == "verify":
            # The run's own broker, where its services anchored their chains.
            run_broker = LocalKafka(state / "kafka")
            known = run_broker.properties.exists() and run_broker.credentials_file.exists()
            mesh = Mesh(run_broker.access if known else Access(""), state)
            return 0 if audit.verify(mesh, offline=args.offline) else 1
        mesh = Mesh(Access(""), state)
        if args.action == "seen":
            if not args.referral_id:
                parser.error("audit seen needs a referral id")
            audit.seen(mesh, args.referral_id)
            return 0
        audit.shared(mesh, nhs=args.nhs, family=args.family, given=args.given, dob=args.dob)
        return 0
    if args.command == "decision":
        from . import manager

        mesh = Mesh(Access(""), state)
        if args.action == "chronology" and not args.referral_id:
            parser.error("chronology needs a referral id")
        if args.action in ("confirm", "override", "grounds") and (not args.referral_id or not args.manager):
            parser.error("confirm, override and grounds need a referral id and --manager")
        try:
            if args.action == "pending":
                manager.pending(mesh)
            elif args.action == "chronology":
                manager.chronology(mesh, args.referral_id, args.subject, args.json)
            elif args.action == "grounds":
                if not args.kind or not args.rationale:
                    parser.error("grounds needs --kind and --rationale")
                manager.grounds(mesh, args.referral_id, args.manager, args.kind, args.rationale)
            elif args.action == "confirm":
                manager.confirm(mesh, args.referral_id, args.manager, args.role)
            else:
                if args.level is None or not args.outcome or not args.rationale:
                    parser.error("override needs --level, --outcome and --rationale")
                manager.override(
                    mesh, args.referral_id, args.manager, args.level, args.outcome, args.recipient, args.rationale, args.role
                )
        except ValueError as e:  # NotPending, a missing rationale, an unknown level or outcome
            print(f"refused: {e}", file=sys.stderr)
            return 1
        return 0
    if args.command == "analysis":
        from .analysis_report import main as report_main

        rest = list(args.rest)
        if "--state" in rest[:-1]:
            at = rest.index("--state")
            state = Path(rest[at + 1]).resolve()
            del rest[at : at + 2]
        if not {"--url", "-h", "--help"} & set(rest):
            # The running mesh's analysis service, with the managers' token, as `mash decision chronology` finds it.
            from .service_api import endpoint

            base, token = endpoint(Mesh(Access(""), state), "analysis")
            rest += [f"--url={base}", f"--token={token}"]  # a token may begin with "-": never a separate word
        return report_main(rest) or 0
    if args.command == "dlq":
        from . import dlq as dead

        mesh = Mesh(broker.access, root)
        if args.action == "list":
            print("\n".join(dead.render(asyncio.run(dead.letters(mesh)))))
            return 0
        if not args.ids:
            parser.error("dlq replay needs dead letter ids (see `mash dlq list`)")
        try:
            done = asyncio.run(dead.replay(mesh, args.ids))
        except LookupError as e:
            print(f"refused: {e}", file=sys.stderr)
            return 1
        print("\n".join(f"replayed {d.dead_letter_id} to {d.source_topic}" for d in done))
        return 0
    if args.command == "trace":
        from . import trace

        lines = trace.waterfall(trace.of_referral(trace.load(state / "traces"), args.referral_id))
        print("\n".join(lines) if lines else f"no spans for {args.referral_id} in {state / 'traces'}")
        return 0 if lines else 1
    if args.command == "users":
        from . import users

        where = Path(args.state).resolve() if args.state else state
        try:
            return users.run(Mesh(Access(""), where), args.action, args.username, args.name, args.role)
        except ValueError as e:  # the service's refusal, with its reason
            print(f"refused: {e}", file=sys.stderr)
            return 1
    if args.command == "retention":
        from datetime import timedelta

        from . import retention

        mesh = Mesh(Access(""), state)
        done = retention.run(
            mesh,
            older_than=timedelta(days=args.older_than_days),
            outcomes=tuple(args.outcome or retention.DEFAULT_OUTCOMES),
            referral_ids=tuple(args.referral or ()),
            dry_run=args.dry_run,
        )
        for d in done:
            print(
                f"{'would shred' if args.dry_run else 'shredded'} {d.referral_id} ({d.outcome}, decided {d.decided_at:%Y-%m-%d})"
            )
        print(f"{len(done)} cases {'would be ' if args.dry_run else ''}shredded")
        return 0
    if args.command == "topics":
        created = asyncio.run(create_topics(broker.access))
        print(f"created {len(created)} topics" + (f": {', '.join(created)}" if created else ""))
        return 0
    if args.command == "agency":
        from .agency_command import run as agency_run

        return agency_run(args, parser, broker, root)
    if args.command in ("seal", "open"):
        from . import integrate

        data = sys.stdin.buffer.read()
        try:
            out = (integrate.seal if args.command == "seal" else integrate.open_)(
                root / "keys", args.principal, args.topic, args.key, data, agency_dir=args.keys
            )
        except (ValueError, RuntimeError) as e:  # not a valid message, an envelope that does not open, no such keys
            print(f"refused: {e}", file=sys.stderr)
            return 1
        sys.stdout.buffer.write(out + b"\n")
        return 0
    if args.command == "docs":
        from .specs import write

        changed = write()
        print(f"{len(changed)} documents updated" + "".join(f"\n  {p}" for p in changed))
        return 0
    if args.command == "topic-table":
        print(markdown_table())
        return 0
    if args.command == "up":
        from .observe import Observability, ObserveError

        if args.replicas < 1:
            parser.error("--replicas must be at least 1")
        try:
            access = broker.start()
        except KafkaError as e:  # a state directory holding a broker of another shape, say
            print(e, file=sys.stderr)
            return 1
        asyncio.run(create_topics(access))
        watching = Observability(root / "observe")
        observed = watching if args.observe else None
        try:
            # Before the services start: each reads where to send its spans once. A service started again while Zipkin
            # still runs from an earlier `--observe` keeps sending to it.
            traced = watching.start_traces() if observed or watching.zipkin.pid() else {}
        except ObserveError as e:
            print(e, file=sys.stderr)
            return 1
        mesh = Mesh(access, root, extra_env=traced, replicas=args.replicas)
        try:
            mesh.init()  # makes the stores the first time; never replaces one a service was initialised with
            mesh.enrol_simulated_agencies()
        except RuntimeError as e:
            print(e, file=sys.stderr)
            return 1
        mesh.start()
        mesh.wait_ready(timeout=60.0 * args.replicas)  # twenty processes on two cores take their time
        print(
            f"mesh up on {access.bootstrap} ({access.protocol}, {access.replication} replica(s) per partition, "
            f"{args.replicas} instance(s) per service); `mash down` stops it"
        )
        web = f"http://127.0.0.1:{mesh.http_port('web')}"
        print(f"the referral form: {web}/referral; the MASH manager's workspace: {web}/workspace (`mash users add` first)")
        if observed:
            try:
                prometheus = observed.start_metrics(mesh)
            except ObserveError as e:
                print(e, file=sys.stderr)
                return 1
            print(f"traces: {observed.zipkin_url()}/zipkin/; metrics and alerts: {prometheus}/alerts")
        return 0
    if args.command == "down":
        from .observe import Observability

        Mesh(Access(""), root).stop()
        Observability(root / "observe").stop()  # after the services: their last spans are taken
        broker.stop()
        print("mesh down")
        return 0
    if args.command == "status":
        from .observe import Observability
        from .status import status

        print(f"kafka: {broker.status()}")
        if broker.properties.exists() and broker.pid():
            print("\n".join(status(Mesh(broker.access, root))))
        print(f"observe: {Observability(root / 'observe').status()}")
        return 0
    if args.command == "ps":
        print(f"kafka: {broker.status()}")
        if broker.properties.exists():
            for service, instances in Mesh(broker.access, root).running_instances().items():
                for instance, pid in instances.items():
                    name = service if instance == "1" else f"{service} (instance {instance})"
                    print(f"{name}: {f'running (pid {pid})' if pid else 'stopped'}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
