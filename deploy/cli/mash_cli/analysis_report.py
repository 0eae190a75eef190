"""`mash analysis report|year`: the commissioning and oversight report.

  report --out DIR [--url URL --token TOKEN | --from FILE]   the running analysis service's figures (GET /figures,
                                                            aggregates only, already suppressed) rendered to DIR
  year [--notifications 10000] [--seed 7] --out DIR         a synthetic year through the real threshold model, then the
                                                            same figures and report; prints the timings and the headline

Run as `mash analysis report|year ...` (or `python -m mash_cli.analysis_report ...`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def render(figures_json: dict | str, out_dir: str | Path) -> Path:
    """The report from `GET /figures`'s JSON; returns index.html's path."""
    from mash_analysis.figures import Figures
    from mash_analysis.report import write_report

    return write_report(Figures.from_json(figures_json), out_dir)


def fetch_figures(url: str, token: str, timeout: float = 60) -> dict:
    request = urllib.request.Request(url.rstrip("/") + "/figures", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - an operator-given http(s) URL
        return json.loads(response.read())


def year(notifications: int, seed: int, out_dir: str | Path) -> dict:
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


def _print_headline(figs) -> None:
    print(f"period {figs.period_start} to {figs.period_end}")
    for h in figs.headline:
        value = (
            f"{h.value:,}" if isinstance(h.value, int) else (f"{h.value:.1f}%" if isinstance(h.value, float) else str(h.value))
        )
        print(f"  {h.label:<32} {value:>8}   {h.detail}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mash analysis", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="render the running analysis service's figures to a directory")
    rep.add_argument("--out", required=True, help="directory for index.html and the CSVs")
    rep.add_argument("--url", help="the analysis service's HTTP address, e.g. http://127.0.0.1:8086")
    rep.add_argument("--token", help="the managers' bearer token")
    rep.add_argument("--from", dest="source", help="a saved GET /figures JSON file instead of the service")
    yr = sub.add_parser("year", help="a synthetic year through the real threshold model, then the report")
    yr.add_argument("--notifications", type=int, default=10_000)
    yr.add_argument("--seed", type=int, default=7)
    yr.add_argument("--out", required=True)
    args = p.parse_args(argv)

    if args.command == "report":
        try:
            if args.source:
                raw = json.loads(Path(args.source).read_text())
            elif args.url and args.token:
                raw = fetch_figures(args.url, args.token)
            else:
                p.error("report needs --url and --token, or --from FILE")
        except urllib.error.HTTPError as e:
            raise SystemExit(f"the analysis service refused: HTTP {e.code} {e.reason}") from None
        except (OSError, ValueError) as e:  # no such file, not JSON, nobody answering
            raise SystemExit(f"no figures to render: {e}") from None
        from mash_analysis.figures import Figures

        try:
            figs = Figures.from_json(raw)
        except ValueError as e:
            raise SystemExit(f"no figures to render: {e}") from None
        page = render(raw, args.out)
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


if __name__ == "__main__":
    sys.exit(main())
