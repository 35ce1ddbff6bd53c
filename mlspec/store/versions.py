"""The versions a run records: Python, the platform, mlspec and the libraries that shape results.

Read from installed distributions' metadata (`importlib.metadata`), never by importing the
libraries, so recording them costs milliseconds and works on light paths.
"""

from __future__ import annotations

import platform
import sys
from functools import cache
from importlib import metadata

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


def dist_version(*names: str) -> str | None:
    """The version of the first installed distribution among `names`, or None."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


@cache
def _versions() -> tuple[tuple[str, str], ...]:
    from mlspec import __version__

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
