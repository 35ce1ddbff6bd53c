"""The versions a run records: Python, the platform, mlspec and the libraries that shape results.

Read from installed distributions' metadata, never by importing the libraries, so recording
them costs milliseconds and works on light paths.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from functools import cache

# Recorded name -> distributions that provide it, first match wins. xgboost-cpu ships the
# same `xgboost` module without the CUDA libraries; polars 1.30+ keeps its compiled engine in
# a separate polars-runtime-* distribution.
LIBRARIES: dict[str, tuple[str, ...]] = {
    "polars": ("polars",),
    "polars-runtime": ("polars-runtime-32", "polars-runtime-64", "polars-runtime-compat"),
    "numpy": ("numpy",),
    "scikit-learn": ("scikit-learn",),
    "xgboost": ("xgboost-cpu", "xgboost"),
    "ray": ("ray",),
}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


@cache
def _installed() -> dict[str, str]:
    """Normalized distribution name -> its metadata file, first on `sys.path` wins.

    What `importlib.metadata.version` finds, without importing it: that import (email
    parsing, zipfile, ...) took 38 ms, and ten look-ups 8 ms more, on every `plan` and `run`
    (fingerprints name library versions). Installed distributions are the
    ``<name>-<version>.dist-info`` folders (and legacy ``.egg-info``) in the `sys.path` folders.
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:  # a zip file, a missing folder
            continue
        for item in names:
            stem, dot, suffix = item.rpartition(".")
            if not dot or suffix not in ("dist-info", "egg-info"):
                continue
            meta = os.path.join(entry or ".", item)
            if os.path.isdir(meta):
                meta = os.path.join(meta, "METADATA" if suffix == "dist-info" else "PKG-INFO")
            found.setdefault(_normalize(stem.partition("-")[0]), meta)
    return found


def _version_in(meta: str) -> str | None:
    """The `Version:` header of a METADATA / PKG-INFO file (headers end at the first blank line)."""
    try:
        with open(meta, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                if key.strip().lower() == "version":
                    return value.strip()
    except OSError:
        return None
    return None


def dist_version(*names: str) -> str | None:
    """The version of the first installed distribution among `names`, or None."""
    for name in names:
        meta = _installed().get(_normalize(name))
        if meta is not None and (version := _version_in(meta)) is not None:
            return version
    return None


@cache
def _versions() -> tuple[tuple[str, str], ...]:
    from mlspec._version import __version__

    out = {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": f"{platform.system()}-{platform.release()}-{platform.machine()}",
        "mlspec": __version__,
    }
    for key, dists in LIBRARIES.items():
        if (version := dist_version(*dists)) is not None:
            out[key] = version
    return tuple(out.items())


def versions() -> dict[str, str]:
    """{"python", "implementation", "platform", "mlspec", and each installed library: version}.

    Libraries that are not installed (ray, usually) are left out.
    """
    return dict(_versions())
