"""Streaming sha256 of a file: the one hash the store and the run records use.

Reads into one reused 1 MiB buffer, so memory stays flat for any file size and the cost is
the hash itself (about 1 GB/s with SHA extensions, the same as `hashlib.file_digest`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """(hex sha256, bytes read) of the file at `path`."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = 0
    with Path(path).open("rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
            size += n
    return h.hexdigest(), size
