"""`mash agency`: the operator's enrolment of outside agencies against the running local broker."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from mash_runtime.firewall.keys import DIRECTORY, check_agency_name, parse_public_keys

from . import agencies
from .integrate import write_client_config


def run(args, parser, broker, root: Path) -> int:
    keys_dir = root / "keys"
    if args.action == "list":
        for name, roles in sorted(agencies.enrolled(keys_dir).items()):
            print(f"{name}: {', '.join(roles)}")
        return 0
    if args.action == "directory":
        text = (keys_dir / DIRECTORY).read_text()
        if args.output:
            args.output.write_text(text)
        else:
            sys.stdout.write(text + "\n")
        return 0
    if not args.name:
        parser.error(f"agency {args.action} needs the agency's name")
    roles = tuple(r for r, on in ((agencies.REFERRER, args.referrer), (agencies.RECIPIENT, args.recipient)) if on)
    try:
        # Everything that can be judged without the broker is judged first, so a mistake costs nothing. The name by
        # the directory's own check (enrol's): `add` looks for the broker before it enrols, `password` goes straight to it.
        check_agency_name(args.name)
        public = _public_keys(parser, args) if args.action in ("add", "rotate") else b""
        if public:
            parse_public_keys(public)
        if args.action == "add":
            agencies.check_roles(args.name, roles)
        if args.action == "password" and args.name not in agencies.enrolled(keys_dir):
            # A password for a name the directory does not hold would make a Kafka user with no keys and no ACLs.
            raise ValueError(f"{args.name} is not enrolled: `mash agency add` it first")
        if args.action == "rotate":
            entry = agencies.rotate(keys_dir, args.name, public)
            print(
                f"{args.name}: current keys now {entry['current']['signing']}, {entry['current']['encryption']} "
                "(the old stay in the directory: keep the old private key until what was sealed for it is read)"
            )
            return 0
        if not broker.properties.exists() or broker.pid() is None:
            raise ValueError("the broker is not running here: start the mesh with `./mash up` (or `./mash kafka start`)")
        access = broker.access
        if args.action == "add":
            config = asyncio.run(agencies.add(access, keys_dir, args.name, roles, public))
            write_client_config(config, args.output)
            if args.output:
                print(
                    f"enrolled {args.name} as {' and '.join(roles)}; its client configuration (0600) is {args.output}",
                    file=sys.stderr,
                )
            return 0
        if args.action == "password":
            write_client_config(asyncio.run(agencies.new_password(access, args.name)), args.output)
            return 0
        if not asyncio.run(agencies.remove(access, keys_dir, args.name)):
            print(f"{args.name} is not enrolled", file=sys.stderr)
            return 1
        print(f"revoked {args.name}: out of the directory, its ACLs and Kafka user deleted")
        return 0
    except (ValueError, OSError) as e:  # a refusal, an unreadable key file
        print(f"refused: {e}", file=sys.stderr)
        return 1


def _public_keys(parser, args) -> bytes:
    if args.public_keys is None:
        parser.error(f"agency {args.action} needs --public-keys FILE")
    return args.public_keys.read_bytes()  # an OSError names the file
