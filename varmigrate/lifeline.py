"""A child process that notices its parent's death (`kill -9` of the CLI, a CI timeout, a cancelled
pre-commit) and goes with it instead of staying blocked on a pipe that nobody will write again.

Linux: `prctl(PR_SET_PDEATHSIG)`, the kernel signals the child the moment its parent goes. Elsewhere
(and if prctl is unavailable): a daemon thread that polls `os.getppid()` (a dead parent's children
are re-parented, so the id changes) and signals the process itself.

The kernel sends the death signal when the *thread* that forked the child exits, not only when the
whole process does; a long-lived process whose children may have been started from a short-lived
thread must therefore treat the signal as "look again" and compare `os.getppid()` with the pid it
expects (`parent_died`), as the harness worker does.

stdlib only: the harness imports this module too.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Optional

PR_SET_PDEATHSIG = 1
POLL_S = 0.25  # the fallback's polling period: well under the ~1 s a dead parent's child may linger

ENV_PARENT = "VARMIGRATE_PARENT_PID"  # an exec'd child learns the pid to watch from its environment


def _prctl_pdeathsig(signum: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def parent_died(parent_pid: int) -> bool:
    """True once the process `parent_pid` is no longer this process's parent."""
    return os.getppid() != parent_pid


def _watch(parent_pid: int, signum: int) -> None:
    while not parent_died(parent_pid):
        time.sleep(POLL_S)
    os.kill(os.getpid(), signum)


def die_with_parent(parent_pid: Optional[int], signum: int = signal.SIGTERM, *, poll: bool = False) -> str:
    """Arrange for `signum` to reach this process when `parent_pid` (the pid seen before the fork)
    dies; at once if it already has. `poll=True` adds the polling thread even where prctl works.

    Returns how: "prctl", "thread" or "none" (no parent pid known)."""
    if parent_pid is None or parent_pid <= 1:
        return "none"
    how = "prctl" if _prctl_pdeathsig(signum) else "thread"
    if how == "thread" or poll:
        threading.Thread(target=_watch, args=(parent_pid, signum), name="varmigrate-lifeline", daemon=True).start()
    if parent_died(parent_pid):  # it died before the death signal was armed
        os.kill(os.getpid(), signum)
    return how


def parent_from_env() -> Optional[int]:
    """The parent pid an exec'd child was told to watch (`ENV_PARENT`), if any."""
    try:
        return int(os.environ[ENV_PARENT])
    except (KeyError, ValueError):
        return None
