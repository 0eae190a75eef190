"""`mash analysis year [--notifications 10000] [--seed 7] --out DIR`: a synthetic year through the real threshold
model, then the same figures and report the analysis service publishes; prints the timings and the headline.
`mash analysis render --from FIGURES.json --out DIR`: the report from a saved `GET /figures` answer, offline.

Run as `./mash analysis year|render ...` (or `python -m mash_tools analysis year|render ...`).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .options import numbers


def render(figures_json: dict | str, out_dir: str | Path) -> Path:
    """The report from `GET /figures`'s JSON; returns index.html's path."""
    from mash_analysis.figures import Figures
    from mash_analysis.report import write_report

    return write_report(Figures.from_json(figures_json), out_dir)


def year(notifications: int, seed: int, out_dir: str | Path) -> dict[str, Any]:
    """Generate, figure and render a synthetic year; the timings in seconds."""
    from mash_analysis.figures import figures
    from mash_analysis.report import write_report
    from mash_analysis.year import synthetic_year

    t0 = time.perf_counter()
    rows = synthetic_year(notifications, seed)
    t1 = time.perf_counter()
    figs = figures(rows)
    t2 = time.perf_counter()
    page = write_report(figs, out_dir)
    t3 = time.perf_counter()
    return {"generate": t1 - t0, "figures": t2 - t1, "report": t3 - t2, "total": t3 - t0, "page": page, "figures_obj": figs}


def _print_headline(figs: Any) -> None:
    from mash_cli.analysis_report import headline_lines

    print(f"period {figs.period_start} to {figs.period_end}")
    print("\n".join(headline_lines({"headline": [asdict(h) for h in figs.headline]})))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mash analysis", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    yr = numbers(sub.add_parser("year", help="a synthetic year through the real threshold model"), notifications=10_000, seed=7)
    yr.add_argument("--out", required=True)
    rd = sub.add_parser("render", help="the report from a saved GET /figures answer")
    rd.add_argument("--from", dest="source", required=True, help="a saved GET /figures JSON file")
    rd.add_argument("--out", required=True)
    args = p.parse_args(argv)

    if args.command == "render":
        from mash_analysis.figures import Figures

        try:
            raw = json.loads(Path(args.source).read_text())
            figs = Figures.from_json(raw)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise SystemExit(f"no figures to render: {e}") from None
        from mash_analysis.report import write_report

        page = write_report(figs, args.out)
        _print_headline(figs)
        print(f"report: {page}")
        return 0

    if args.notifications < 1:
        p.error("--notifications must be at least 1")
    timings = year(args.notifications, args.seed, args.out)
    _print_headline(timings["figures_obj"])
    print(
        f"{args.notifications:,} notifications (seed {args.seed}): generated in {timings['generate']:.1f} s, figures "
        f"{timings['figures']:.1f} s, report {timings['report']:.1f} s; {timings['total']:.1f} s in all"
    )
    print(f"report: {timings['page']}")
    return 0
