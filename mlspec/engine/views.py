"""Views: a step output stored as its recipe and rebuilt, lazily, by whoever reads it.

dbt materialises a model as a table or as a view; so do we. A step that writes a view
(`ArtifactWriter.write_view`) stores ``<name>.view.json``: its kind, the params its kind's
``view(params, inputs)`` function needs, and the fingerprints of the artifacts it reads. A
reader that asks for the frame gets ``view(params, {input: LazyFrame})``: one polars query
from the stored tables up, so the join is planned together with the expressions that read
it, and the joined rows are never written, read back and hashed (on 1M rows x 20 columns
that round trip cost more than the join).

A view is as reproducible as a table: the recipe names its inputs by fingerprint, its
kind's code version is in its own fingerprint, and the kind's ``view`` function is pure.
The step that writes a view still runs every check it can without the rows (keys, dtypes,
row counts), so its errors still carry its step id.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlspec.steps.kinds import KINDS

if TYPE_CHECKING:
    import polars as pl

    from mlspec.store import ArtifactStore, Reader

SUFFIX = ".view.json"


def recipe(kind: str, params: dict[str, Any], inputs: dict[str, str]) -> dict[str, Any]:
    """What a view stores: no spec locations, nothing of the machine; same plan, same bytes."""
    return {"kind": kind, "params": params, "inputs": dict(sorted(inputs.items()))}


def build(store: ArtifactStore, spec: dict[str, Any]) -> pl.LazyFrame:
    """The LazyFrame of a view's recipe, its inputs opened (and verified) from `store`."""
    inputs = {name: open_artifact(store, fp).scan() for name, fp in spec["inputs"].items()}
    return import_module(KINDS[spec["kind"]].module).view(spec["params"], inputs)


class ViewReader:
    """An `ArtifactReader` that serves a view's frame by building it; other files as stored.

    A view is built once per reader: a LazyFrame is immutable, and building may read (a
    join's lookup reads its right side), so a step that scans its input twice (schema, then
    rows) does not build it twice.
    """

    def __init__(self, reader: Reader, store: ArtifactStore) -> None:
        self._reader = reader
        self._store = store
        self._built: dict[str, pl.LazyFrame] = {}
        self.fingerprint = reader.fingerprint
        self.manifest = reader.manifest

    def __repr__(self) -> str:
        return f"ViewReader({self._reader!r})"

    def _view(self, name: str) -> dict[str, Any] | None:
        file = name.removesuffix(".parquet") + SUFFIX
        return self._reader.json(file) if file in self.manifest.files else None

    def names(self) -> list[str]:
        return self._reader.names()

    def path(self, name: str) -> Path:
        return self._reader.path(name)

    def json(self, name: str) -> Any:
        return self._reader.json(name)

    def scan(self, name: str = "data") -> pl.LazyFrame:
        if name not in self._built:
            spec = self._view(name)
            if spec is None:
                return self._reader.scan(name)
            self._built[name] = build(self._store, spec)
        return self._built[name]

    def frame(self, name: str = "data", columns: list[str] | None = None) -> pl.DataFrame:
        if self._view(name) is None:
            return self._reader.frame(name, columns)
        lf = self.scan(name)
        return (lf.select(columns) if columns is not None else lf).collect()


def is_view(reader: Any) -> bool:
    """Does this input artifact hold a view (its frames are rebuilt on every read)?"""
    return any(name.endswith(SUFFIX) for name in reader.names())


def open_artifact(store: ArtifactStore, fp: str) -> Reader | ViewReader:
    """The reader a step gets for an input: views are built, tables are read."""
    reader = store.open(fp)
    return ViewReader(reader, store) if is_view(reader) else reader


class ColumnsReader:
    """An input a step may read some columns of: the columns its fingerprint depends on.

    Reading any other column fails, so a step cannot depend on more than its cache key says.
    With no columns the frame keeps only its row count (a ``__row__`` index), which is all a
    random split reads.
    """

    def __init__(self, reader: Any, columns: tuple[str, ...]) -> None:
        self._reader = reader
        self.columns = tuple(columns)
        self.fingerprint = reader.fingerprint

    def scan(self, name: str = "data") -> pl.LazyFrame:
        import polars as pl

        lf = self._reader.scan(name)
        if name != "data":
            return lf
        if not self.columns:
            return lf.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("__row__"))
        present = lf.collect_schema()
        return lf.select([c for c in self.columns if c in present])

    def frame(self, name: str = "data", columns: list[str] | None = None) -> pl.DataFrame:
        if name != "data":
            return self._reader.frame(name, columns)
        wanted = list(self.columns) if columns is None else list(columns)
        extra = [c for c in wanted if c not in self.columns]
        if extra:
            raise KeyError(
                f"columns {extra} are not among the columns this step declared: {list(self.columns)}"
            )
        return self.scan(name).select(wanted).collect()

    def __getattr__(self, name: str) -> Any:
        if name == "path":
            raise AttributeError("a column slice of an artifact has no file path")
        return getattr(self._reader, name)
