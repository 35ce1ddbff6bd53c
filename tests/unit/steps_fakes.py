"""An in-memory StepContext for unit tests of the data steps.

Inputs are DataFrames (or dicts of named DataFrames / JSON values); the writer keeps what a
step writes. JSON goes through ``json.dumps(allow_nan=False)`` so a step that writes
something that is not strict JSON fails its test.
"""

from __future__ import annotations

import json
import logging
from importlib import import_module
from pathlib import Path
from typing import Any

import polars as pl

from mlspec.steps.kinds import KINDS


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
        scans = {n: self.inputs[n].scan() for n in recipe["inputs"]}
        self.frames[name] = module.view(self.views[name]["params"], scans).collect()

    def metric(self, name: str, value: float) -> None:
        assert isinstance(value, int | float) and not isinstance(value, bool), (name, value)
        self.metrics[name] = float(value)


class FakeContext:
    def __init__(
        self,
        params: dict[str, Any],
        inputs: dict[str, FakeReader | pl.DataFrame] | None = None,
        *,
        spec_root: Path | str = ".",
        step_id: str = "test.step",
        seed: int = 0,
    ) -> None:
        self.step_id = step_id
        self.params = params
        self.spec_root = Path(spec_root)
        self.log = logging.getLogger(f"mlspec.test.{step_id}")
        self.seed = seed
        self.threads = 1
        self.inputs = {
            k: v if isinstance(v, FakeReader) else FakeReader(v) for k, v in (inputs or {}).items()
        }
        self.output = FakeWriter(self.inputs)
        self.warnings: list[str] = []

    def input(self, name: str) -> FakeReader:
        return self.inputs[name]

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def ctx(
    params: dict[str, Any], data: pl.DataFrame | None = None, **inputs: pl.DataFrame
) -> FakeContext:
    """A context whose input ``data`` is `data` (plus any named inputs)."""
    all_inputs: dict[str, FakeReader | pl.DataFrame] = dict(inputs)
    if data is not None:
        all_inputs["data"] = data
    return FakeContext(params, all_inputs)
