"""The project's tools, apart from the operator CLI: `./mash demo`, `./mash bench` and `./mash analysis
year|render|linkage` come here (the `./mash` script routes them); everything else is `mash_cli`.

mash demo                 the whole mesh on a real broker with synthetic referrals, then a clean shutdown
mash bench [--nodes 3]    desk research and mesh throughput, latency and memory (prints figures), on one broker
                          node or a three-node cluster
mash analysis year [--notifications N] [--seed S] --out DIR
                          the commissioning report over a synthetic year through the real threshold model
mash analysis render --from FIGURES.json --out DIR
                          the report from a saved GET /figures answer, offline
mash analysis linkage [--people N] [--seed S] [--write] [--json] [--retrain]
                          person-linkage precision and recall on a synthetic population whose truth is known
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mash_cli.paths import state_dir

from .options import numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mash", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = numbers(
        sub.add_parser("demo", help="run the whole mesh with synthetic referrals"), referrals=10, seed=7, timeout=180.0
    )
    demo.add_argument(
        "--postgres", action="store_true", help="each service's store on PostgreSQL (Debian's package) instead of SQLite"
    )
    bench = numbers(
        sub.add_parser("bench", help="measure desk research and the mesh end to end; prints figures"),
        families=2000,
        referrals=300,
        seed=7,
        backlog=5000,
        seconds=20.0,
    )
    bench.add_argument("--json", type=Path, help="also write the mesh's figures to this file")
    bench.add_argument(
        "--nodes", type=int, choices=[1, 3], default=1, help="the local broker's nodes: 3 keeps three replicas of every topic"
    )
    ana = sub.add_parser("analysis", help="a synthetic year's report, a saved report rendered, linkage quality", add_help=False)
    ana.add_argument("action", choices=["year", "render", "linkage"])
    ana.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    root = state_dir()
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(root / "demo", args.referrals, args.seed, args.timeout, args.postgres)
    if args.command == "bench":
        from .bench import bench_desk, bench_mesh

        bench_desk(args.families, args.referrals, args.seed)
        bench_mesh(args.families, args.referrals, args.seed, root / "bench", args.json, args.backlog, args.seconds, args.nodes)
        return 0
    if args.action == "linkage":
        from .linkage_quality import main as linkage_main

        return linkage_main(args.rest) or 0
    from .analysis import main as analysis_main

    return analysis_main([args.action, *args.rest])


if __name__ == "__main__":
    sys.exit(main())
