"""Where things live: the repository, the state directory (data, pids, logs) and the jar cache."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(os.environ.get("MASH_HOME") or Path(__file__).resolve().parents[3])
KAFKA_DEPLOY = REPO / "deploy" / "kafka"


def state_dir() -> Path:
    return Path(os.environ.get("MASH_STATE_DIR") or REPO / ".mash")


def cache_dir() -> Path:
    base = os.environ.get("MASH_CACHE_DIR") or os.path.join(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "mash")
    return Path(base)
