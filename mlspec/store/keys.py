"""The key that binds what a store holds to what mlspec itself committed there.

A manifest lists its files' digests, so on its own it certifies nothing: whoever can write the
store (a shared folder, a CI cache restored from a pull request's job) can swap a pickle and
rewrite the digest beside it. Everything that would be trusted from the store is therefore
authenticated with an HMAC-SHA256 under a key kept *outside* it: each artifact's manifest,
and each row of the run records' file-hash cache. What fails to authenticate is treated as
damaged: moved aside and recomputed, never loaded.

Where the key comes from, first found wins:

- ``MLSPEC_STORE_KEY``: the key itself (at least 32 characters), for CI: keep it a secret of
  the trusted jobs, so a pull request's job cannot sign what the main branch will load;
- ``MLSPEC_STORE_KEY_FILE``: a file holding it (a team's shared store: one key for all its
  writers);
- ``$XDG_CONFIG_HOME/mlspec/store.key`` (``~/.config/mlspec/store.key``), created with
  32 random bytes, mode 0600, by the first run that writes a store.

A key file inside the store could be rewritten with it: `ArtifactStore` refuses one.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from pathlib import Path

ENV_KEY = "MLSPEC_STORE_KEY"
ENV_KEY_FILE = "MLSPEC_STORE_KEY_FILE"
MIN_KEY = 32
# What a worker process (a Ray task, a pool process) needs to find the same key.
KEY_VARS = (ENV_KEY, ENV_KEY_FILE, "XDG_CONFIG_HOME")


class StoreKeyError(Exception):
    """The key cannot be read or created; the message says how to provide one."""


def key_file() -> Path:
    """Where the key is read from (and created, when it is the default place)."""
    if path := os.environ.get(ENV_KEY_FILE):
        return Path(path).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "mlspec" / "store.key"


def store_key(store_root: Path | None = None, create: bool = False) -> bytes | None:
    """The key, or None when there is none yet and `create` is false (`plan` looks only).

    A key file inside `store_root` is refused: whoever writes the store could replace it."""
    if (text := os.environ.get(ENV_KEY)) is not None:
        if len(text) < MIN_KEY:
            raise StoreKeyError(
                f"{ENV_KEY} must be at least {MIN_KEY} characters. Got {len(text)} instead."
            )
        return text.encode()
    path = key_file()
    if store_root is not None and path.resolve().is_relative_to(Path(store_root).resolve()):
        raise StoreKeyError(
            f"the store key {path} is inside the store {store_root}, where anyone who writes the "
            f"store could replace it; keep it elsewhere ({ENV_KEY_FILE})"
        )
    try:
        data = path.read_bytes().strip()
    except FileNotFoundError:
        if not create:
            return None
        if os.environ.get(ENV_KEY_FILE):
            raise StoreKeyError(
                f"the store key file {path} (from {ENV_KEY_FILE}) does not exist"
            ) from None
        data = _create(path)
    except OSError as exc:
        raise StoreKeyError(f"cannot read the store key {path}: {exc.strerror}") from None
    if len(data) < MIN_KEY:
        raise StoreKeyError(
            f"the store key in {path} must be at least {MIN_KEY} characters. Got {len(data)} instead."
        )
    return data


def _create(path: Path) -> bytes:
    data = os.urandom(32).hex().encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # a concurrent first run may have made one: theirs wins
        except FileExistsError:
            data = path.read_bytes().strip()
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    except OSError as exc:
        raise StoreKeyError(
            f"cannot create the store key {path}: {exc.strerror}; set {ENV_KEY} or {ENV_KEY_FILE}"
        ) from None
    return data


def sign(key: bytes, text: str) -> str:
    """Hex HMAC-SHA256 of `text` under `key`."""
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def verify(key: bytes | None, text: str, mac: object) -> bool:
    """True when `mac` is `text`'s HMAC under `key` (constant-time); False without a key."""
    return key is not None and isinstance(mac, str) and hmac.compare_digest(sign(key, text), mac)
