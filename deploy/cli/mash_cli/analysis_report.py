"""`mash analysis report --out DIR [--url URL --token TOKEN]`: the commissioning and oversight report, as the running
analysis service renders it (`GET /report`: aggregates only, small numbers already suppressed), written to DIR.

Run as `mash analysis report ...` (or `python -m mash_cli.analysis_report ...`). A synthetic year's report and the
person-linkage measurement are tools (`./mash analysis year|linkage`, package mash_tools).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .service_api import Refused, call

# The file names the service may send: a page and its tables' CSVs, nothing with a path in it.
_FILE_NAME = re.compile(r"[a-z0-9][a-z0-9_]*\.(html|csv)")


def fetch_report(url: str, token: str, timeout: float = 120) -> dict:
    return call(url, token, "GET", "/report", timeout=timeout)


def write_files(report: dict, out_dir: str | Path) -> Path:
    """Write the served report's files to `out_dir`; returns index.html's path. A name that is not a plain file name
    is refused before anything is written."""
    files = report.get("files") if isinstance(report, dict) else None
    if not isinstance(files, dict) or "index.html" not in files:
        raise ValueError("the service's answer is not a report (no files, or no index.html)")
    bad = sorted(str(n) for n, text in files.items() if not _FILE_NAME.fullmatch(str(n)) or not isinstance(text, str))
    if bad:
        raise ValueError(f"the service's report names files this command will not write: {', '.join(bad)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return out / "index.html"


def headline_lines(report: dict) -> list[str]:
    lines = []
    for h in report.get("headline", []):
        v = h.get("value")
        value = f"{v:,}" if isinstance(v, int) else f"{v:.1f}%" if isinstance(v, float) else str(v)
        lines.append(f"  {h.get('label', ''):<32} {value:>8}   {h.get('detail', '')}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="mash analysis report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", required=True, help="directory for index.html and the CSVs")
    p.add_argument("--url", required=True, help="the analysis service's HTTP address, e.g. http://127.0.0.1:8086")
    p.add_argument("--token", required=True, help="the managers' bearer token")
    args = p.parse_args(argv)
    try:
        report = fetch_report(args.url, args.token)
        page = write_files(report, args.out)
    except Refused as e:
        raise SystemExit(f"the analysis service refused: {e}") from None
    except (OSError, ValueError) as e:  # nobody answering, not JSON, not a report, a file that cannot be written
        raise SystemExit(f"no report written: {e}") from None
    print("\n".join(headline_lines(report)))
    print(f"report: {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
