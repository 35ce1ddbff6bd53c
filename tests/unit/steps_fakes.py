"""StepContexts for unit tests: in memory (FakeContext) and over a real store (StoreContext).

Inputs are DataFrames (or dicts of named DataFrames / JSON values); the writer keeps what a
step writes. JSON goes through ``json.dumps(allow_nan=False)`` so a step that writes
something that is not strict JSON fails its test.

Params are the kinds' typed classes: a test may give a dict, which must fit exactly one
kind's class (`typed`), so a test cannot hand a step a field its class does not declare or
leave out one it needs. Input keys are tuples; a test may write ``"eval/quality/lr"``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from importlib import import_module
from pathlib import Path
from typing import Any

import polars as pl

from mlspec.contract.params import Params
from mlspec.steps.kinds import KINDS
from mlspec.steps.params import PARAMS


def infer_kind(keys: set[str]) -> str:
    """The one kind whose params class fits these keys (required <= keys <= fields)."""
    fits = []
    for kind, cls in PARAMS.items():
        names = {f.name for f in cls.fields()}
        required = {
            f.name
            for f in cls.fields()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        if required - {"seed", "threads"} <= keys <= names:
            fits.append(kind)
    if len(fits) != 1:
        raise AssertionError(f"params with keys {sorted(keys)} fit kinds {fits}, not exactly one")
    return fits[0]


def typed(
    params: dict[str, Any] | Params, kind: str | None = None, *, seed: int = 0, threads: int = 1
) -> Params:
    """A kind's params from a test's dict (seed and threads filled when the kind takes them)."""
    if isinstance(params, Params):
        return params
    cls = PARAMS[kind or infer_kind(set(params))]
    names = {f.name for f in cls.fields()}
    value = json.loads(json.dumps(params))  # what a task carries: plain JSON
    value.update(
        {k: v for k, v in (("seed", seed), ("threads", threads)) if k in names and k not in value}
    )
    return cls.from_json(value)


def key(name: str | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name.split("/")) if isinstance(name, str) else tuple(name)


class FakeReader:
    fingerprint = "fake"

    def __init__(
        self, frames: pl.DataFrame | dict[str, pl.DataFrame], jsons: dict[str, Any] | None = None
    ) -> None:
        self.frames = {"data": frames} if isinstance(frames, pl.DataFrame) else dict(frames)
        self.jsons = dict(jsons or {})

    def path(self, name: str) -> Path:
        raise NotImplementedError("the fake store has no files")

    def frame(self, name: str = "data", columns: list[str] | None = None) -> pl.DataFrame:
        df = self.frames[name]
        return df.select(columns) if columns is not None else df

    def scan(self, name: str = "data") -> pl.LazyFrame:
        return self.frames[name].lazy()

    def json(self, name: str) -> Any:
        return self.jsons[name]

    def names(self) -> list[str]:
        return sorted([*self.frames, *self.jsons])


class FakeWriter:
    fingerprint = "fake-out"

    def __init__(self, inputs: dict[str, FakeReader] | None = None) -> None:
        self.frames: dict[str, pl.DataFrame] = {}
        self.jsons: dict[str, Any] = {}
        self.metrics: dict[str, float] = {}
        self.references: dict[str, Path] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.inputs = inputs if inputs is not None else {}

    def path(self, name: str) -> Path:
        raise NotImplementedError("the fake store has no files")

    def write_frame(self, frame: pl.DataFrame | pl.LazyFrame, name: str = "data") -> None:
        assert name not in self.frames, f"{name} written twice"
        self.frames[name] = frame.collect() if isinstance(frame, pl.LazyFrame) else frame

    def reference(self, path: Path, name: str = "data") -> None:
        assert name not in self.frames, f"{name} written twice"
        self.references[name] = Path(path)
        self.frames[name] = pl.read_parquet(path)

    def write_json(self, value: Any, name: str) -> None:
        assert name not in self.jsons, f"{name} written twice"
        self.jsons[name] = json.loads(json.dumps(value, allow_nan=False, sort_keys=True))

    def write_view(self, recipe: dict[str, Any], name: str = "data") -> None:
        """Keep the recipe, and build its frame from the context's inputs as a reader would."""
        assert name not in self.frames, f"{name} written twice"
        self.views[name] = json.loads(json.dumps(recipe, allow_nan=False, sort_keys=True))
        module = import_module(KINDS[recipe["kind"]].module)
        scans = {
            n: self.inputs.get(n, self.inputs.get(f"source/{n}")).scan() for n in recipe["inputs"]
        }
        self.frames[name] = module.view(self.views[name]["params"], scans).collect()

    def metric(self, name: str, value: float) -> None:
        assert isinstance(value, int | float) and not isinstance(value, bool), (name, value)
        self.metrics[name] = float(value)


class FakeContext:
    def __init__(
        self,
        params: dict[str, Any] | Params,
        inputs: dict[Any, FakeReader | pl.DataFrame] | None = None,
        *,
        spec_root: Path | str = ".",
        step_id: str = "test.step",
        seed: int = 0,
        kind: str | None = None,
    ) -> None:
        self.step_id = step_id
        self.params = typed(params, kind, seed=seed)
        self.spec_root = Path(spec_root)
        self.log = logging.getLogger(f"mlspec.test.{step_id}")
        self.readers = {
            key(k): v if isinstance(v, FakeReader) else FakeReader(v)
            for k, v in (inputs or {}).items()
        }
        self.output = FakeWriter({"/".join(k): v for k, v in self.readers.items()})
        self.warnings: list[str] = []

    def input(self, *name: str) -> FakeReader:
        return self.readers[key(name)]

    def inputs(self, group: str) -> dict[tuple[str, ...], FakeReader]:
        return {k[1:]: v for k, v in sorted(self.readers.items()) if k[0] == group}

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def cores(self) -> int:
        return int(getattr(self.params, "threads", 1) or 1)


def ctx(
    params: dict[str, Any] | Params,
    data: pl.DataFrame | None = None,
    *,
    kind: str | None = None,
    **inputs: pl.DataFrame,
) -> FakeContext:
    """A context whose input ``data`` is `data` (plus any named inputs)."""
    all_inputs: dict[Any, FakeReader | pl.DataFrame] = dict(inputs)
    if data is not None:
        all_inputs["data"] = data
    return FakeContext(params, all_inputs, kind=kind)


class StoreContext:
    """A StepContext over a real store: inputs are fingerprints, the output a staging folder."""

    def __init__(
        self,
        store: Any,
        params: dict[str, Any] | Params,
        inputs: dict[Any, str],
        *,
        seed: int = 0,
        threads: int = 1,
        kind: str | None = None,
    ) -> None:
        self.store = store
        self.step_id = "test.step"
        self.params = typed(params, kind, seed=seed, threads=threads)
        self.spec_root = Path(".")
        self.output = store.stage(secrets.token_hex(8), self.step_id)
        self.log = logging.getLogger("mlspec.test.store")
        self._inputs = {key(k): v for k, v in inputs.items()}
        self.warnings: list[str] = []

    def input(self, *name: str) -> Any:
        return self.store.open(self._inputs[key(name)])  # KeyError for an unknown input

    def inputs(self, group: str) -> dict[tuple[str, ...], Any]:
        return {k[1:]: self.input(*k) for k in sorted(self._inputs) if k[0] == group}

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def cores(self) -> int:
        return int(getattr(self.params, "threads", 1) or 1)

    def commit(self) -> Any:
        self.store.commit(self.output)
        return self.store.open(self.output.fingerprint)
