"""`alert.retrain`: run the spec again on the current data when a monitor with it fires.

"On the new data" means: the current file takes the place of the spec's data. The current
file has the joined data's columns (what the features read) and, for retraining, every
objective's target; so the derived spec has one source, ``current``, at the current file's
absolute path (``external: true``; for a folder or a pattern, their rows stacked into one
Parquet file beside the derived spec), no joins, and everything else of the spec unchanged
(split, features, objectives, combine, gate, monitors). It is written to
``<store>/monitor/retrain-<UTC time>/spec.yaml`` and run with ``mlspec run`` on the same
store, in the foreground; its output goes to ``run.log`` beside it. A successful run
registers a new version of the same system, **not promoted**: a person promotes it after
reading its report. Without every target in the current data nothing runs, and the result
says which columns are missing.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import yaml

TIMEOUT = 3600.0


def derived_spec(spec_path: Path, current: Path) -> dict[str, Any]:
    """The spec's document (read by mlspec's own YAML 1.2 loader: PyYAML's safe_load would
    turn `on`, `no` or `012` into booleans and numbers) with the current file as its data."""
    from mlspec.lang.loader import load_file

    loaded, _ = load_file(spec_path)
    if loaded is None:  # validated before monitoring; changed on disk since
        raise ValueError(f"{spec_path} no longer loads")
    doc = copy.deepcopy(loaded.data)
    data = dict(doc.get("data") or {})
    data["sources"] = {"current": {"path": str(current.resolve()), "external": True}}
    data.pop("joins", None)
    doc["data"] = data
    batch = dict((doc.get("deployment") or {}).get("batch") or {})
    if "input" in batch:  # relative to the spec's folder, not the derived spec's: the run
        batch.pop("input")  # scores its own test rows, as a batch deployment without input
        doc["deployment"] = {**doc["deployment"], "batch": batch}
    execution = dict(doc.get("execution") or {})
    execution.pop("store", None)
    if execution:
        doc["execution"] = execution
    return doc


def retrain(
    spec_path: Path, current: Path, frame: pl.DataFrame, targets: list[str], store: Path
) -> dict[str, Any]:
    """Run the derived spec on `current`; when that is a folder or a pattern, on `frame`
    (its files, stacked) written beside the derived spec as ``current.parquet``."""
    missing = [t for t in targets if t not in frame.columns]
    if missing:
        return {
            "ran": False,
            "reason": "the current data has no target column(s) "
            + ", ".join(f"'{t}'" for t in missing),
        }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = store / "monitor" / f"retrain-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    if not current.is_file():
        current = folder / "current.parquet"
        frame.write_parquet(current)
    spec = folder / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(derived_spec(spec_path, current), sort_keys=False), encoding="utf-8"
    )
    log = folder / "run.log"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "mlspec", "run", str(spec), "--store", str(store)],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=TIMEOUT,
            check=False,
        )
    return {"ran": True, "spec": str(spec), "log": str(log), "exit_code": proc.returncode}
