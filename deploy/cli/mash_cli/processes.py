"""Starting and stopping background processes by pid file, without leaving orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return _state(pid) not in ("Z", "X", None)


def stat_fields(pid: int | None) -> list[str] | None:
    """/proc/<pid>/stat after the command name: field 0 is the state, 11 and 12 user and system CPU ticks."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return None


def _state(pid: int) -> str | None:
    fields = stat_fields(pid)
    return fields[0] if fields else None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def read_pid(pid_file: Path, must_contain: str) -> int | None:
    """The live process recorded in pid_file, or None; a stale file (dead or reused pid) is removed."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        pid_file.unlink(missing_ok=True)
        return None
    if alive(pid):
        # Just after exec the kernel can show an empty command line: a process still starting is ours.
        command = cmdline(pid)
        if not command.strip() or must_contain in command:
            return pid
    pid_file.unlink(missing_ok=True)
    return None


def spawn(argv: list[str], log_file: Path, pid_file: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        # A session of its own, so a terminal's Ctrl-C reaches only us and we stop children in order.
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True
        )
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(str(proc.pid))
    return proc.pid


def terminate(pid: int, timeout: float = 30.0, sig: int = signal.SIGTERM) -> bool:
    """Signal the process group, wait, then SIGKILL. True when it stopped within the timeout."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return True
    except PermissionError:
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    for _ in range(50):
        if not alive(pid):
            break
        time.sleep(0.1)
    return False


def apt_install(package: str) -> None:
    """Install a Debian package (as root), for the tools the project fetches on demand."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", package]):
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
