"""Worker processes die with the process that started them.

A pool worker (spawned by the local backend) outlives a parent killed with SIGKILL (the OOM
killer, ``kill -9``, a CI timeout): it sits idle, holds memory and keeps the caller's
stdout/stderr pipes open, so whatever waits for those pipes to close hangs. Two guards:

- Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` makes the kernel kill the worker when the
  thread that forked it exits. Set in the worker itself, so there is a window before it is
  set: checked afterwards by comparing the parent pid.
- Everywhere, and should the first be unavailable: a daemon thread that looks at
  ``os.getppid()`` every `POLL_S` seconds and ends the process once it changed (the worker
  was re-parented to init or a subreaper).
"""

from __future__ import annotations

import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_S = 1.0


def _pdeathsig() -> bool:
    """Ask the kernel for SIGKILL when the parent exits; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    event = threading.Event()
    while not event.wait(POLL_S):
        if os.getppid() != parent:
            os._exit(1)  # no cleanup: whatever it would flush belongs to a dead run


def die_with_parent(parent: int) -> None:
    """Make this process end when `parent` (its parent's pid) is gone."""
    _pdeathsig()
    if os.getppid() != parent:  # the parent died before the guard was set
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="mlspec-parent-watch", daemon=True).start()
