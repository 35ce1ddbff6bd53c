"""mlspec: a compiler for machine-learning systems.

One YAML spec states the whole system; mlspec validates it, compiles it into a DAG of
steps and runs that DAG on a backend (local, Ray or Slurm batch).
"""

from mlspec._version import __version__

__all__ = ["__version__", "load"]


def load(target: str, store: str | None = None):  # type: ignore[no-untyped-def]
    """A scorer of a bundle folder or of a spec's production version, verified before anything
    is unpickled: ``mlspec.load("spec.yaml").predict(frame)``. Imports polars and
    scikit-learn only when called (see `mlspec.scoring.locate`)."""
    from mlspec.scoring.locate import load as _load

    return _load(target, store)
