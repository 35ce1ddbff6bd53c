"""The store's flock: exclusive between holders, timeouts, waits, and no self-deadlock."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mlspec.store.locks import FileLock, LockTimeout


def test_a_second_holder_times_out_then_gets_it(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    with FileLock(path):
        start = time.monotonic()
        with pytest.raises(LockTimeout, match="held by another run"):
            FileLock(path, timeout=0.2).acquire()
        assert 0.2 <= time.monotonic() - start < 2
        with pytest.raises(LockTimeout):
            FileLock(path, timeout=0).acquire()
    with FileLock(path, timeout=0) as lock:
        assert lock.is_locked
    assert not lock.is_locked


def test_waiting_forever_ends_when_the_holder_releases(tmp_path: Path) -> None:
    path = tmp_path / "b.lock"
    held = FileLock(path).acquire()
    got: list[float] = []

    def wait() -> None:
        with FileLock(path):  # timeout -1: a blocking flock
            got.append(time.monotonic())

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.2)
    assert not got, "the waiter must not get a held lock"
    released = time.monotonic()
    held.release()
    thread.join(5)
    assert got and got[0] >= released


def test_one_object_cannot_take_its_lock_twice(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "c.lock").acquire()
    with pytest.raises(RuntimeError, match="already held"):
        lock.acquire()
    lock.release()
    lock.release()  # a no-op
    with FileLock(tmp_path / "c.lock", timeout=0) as again:
        assert again.is_locked
