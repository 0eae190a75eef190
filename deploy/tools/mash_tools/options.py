"""Command-line options the tools share."""

from __future__ import annotations

import argparse


def numbers(parser: argparse.ArgumentParser, **defaults: float) -> argparse.ArgumentParser:
    """`--name N` options, each typed as its default is."""
    for name, default in defaults.items():
        parser.add_argument(f"--{name}", type=type(default), default=default)
    return parser
