"""Inter-process locks of the store: one kernel `flock` per artifact fingerprint.

The kernel releases a flock when its holder dies, so a killed run never leaves a stale lock,
and each `FileLock` opens its own file description, so two holders in one process (threads,
or two runs embedded in one test) exclude each other as two processes do.

Why not the `filelock` package, which the store used before: its module took 8 ms to import
(2,400 lines, asyncio and its async variants among them) in every `mlspec run`, about a
tenth of the time mlspec adds to a run's data steps; what the store needs of it, on the
POSIX systems where mlspec runs (local, Ray, Slurm), is the flock below.
"""

from __future__ import annotations

import fcntl
import os
import time
from types import TracebackType

POLL_SECONDS = 0.05


class LockTimeout(TimeoutError):
    """The lock stayed held by another holder for the whole timeout."""

    def __init__(self, path: str) -> None:
        super().__init__(f"the lock {path} is held by another run")
        self.path = path


class FileLock:
    """An exclusive flock on `path`, created if missing. `timeout` < 0 waits forever, 0 tries once.

    Not reentrant: acquiring it again while held raises (holding an artifact's lock twice
    in one call chain is a bug, and waiting on oneself would hang).
    """

    def __init__(self, path: str | os.PathLike[str], timeout: float = -1) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"FileLock({self.path!r}, {'held' if self.is_locked else 'free'})"

    @property
    def is_locked(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float | None = None) -> FileLock:
        if self._fd is not None:
            raise RuntimeError(f"{self!r} is already held by this object")
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (fcntl.LOCK_NB if wait >= 0 else 0))
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockTimeout(self.path) from None
                    time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        """Unlock; a no-op when not held. The file stays (deleting it would race a waiter)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor of the description drops the flock

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
