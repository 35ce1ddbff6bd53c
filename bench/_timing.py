"""Shared helpers for benchmarks: whole-process timings, interleaved so that noise hits all sides."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def _compile_package() -> None:
    """Byte-compile mlspec first, as `pip install` does: with PYTHONDONTWRITEBYTECODE set (as
    on these machines) an editable install would otherwise recompile ~50 modules per process
    (~0.15 s), which no installed user pays."""
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "mlspec")], check=True)


_compile_package()


def time_process(argv: Sequence[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> float:
    """Seconds of one whole process. Dirty pages left by the process before (a script's
    unsynced output) are written out first, untimed: otherwise the kernel flushes them
    during this one, which is then charged for another's writes."""
    os.sync()
    start = time.perf_counter()
    subprocess.run(
        argv,
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=None if env is None else {**os.environ, **env},
    )
    return time.perf_counter() - start


def interleaved(
    commands: dict[str, Sequence[str]], repeat: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Run each command `repeat` times, round-robin, after `warmup` untimed rounds."""
    for _ in range(warmup):
        for argv in commands.values():
            time_process(argv)
    out: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            out[name].append(time_process(argv))
    return out


DATA_KINDS = ("load", "check", "join", "features", "split")


def run_steps(store: Path) -> list[dict]:
    """The step records (id, kind, seconds, ...) of the last run recorded in `store`."""
    import json

    proc = subprocess.run(
        [PYTHON, "-m", "mlspec", "runs", "show", "latest", "--store", str(store), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)["steps"]


def step_seconds(store: Path) -> dict[str, float]:
    """Seconds of the last run recorded in `store`, per part: data steps, train, evaluate, the rest."""
    parts = dict.fromkeys(("data", "train", "evaluate", "rest"), 0.0)
    for step in run_steps(store):
        kind = step["kind"]
        part = "data" if kind in DATA_KINDS else kind if kind in ("train", "evaluate") else "rest"
        parts[part] += step["seconds"]
    return parts


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def against_script(
    spec_dir: str,
    script: str,
    make_data,
    rows: int,
    repeat: int,
    run_args: Sequence[str] = (),
    variants: dict[str, Callable[[str], str]] | None = None,
    other_scripts: dict[str, str] | None = None,
) -> tuple[dict[str, list[float]], list[float], Path]:
    """mlspec run vs a hand-written script on the same generated data, interleaved.

    Copies bench/<spec_dir>/spec.yaml and makes the data in a new temporary folder `root`,
    then times the script and a cold `mlspec run` (a fresh store each time) `repeat` times.
    `variants` adds more specs (label -> a function of spec.yaml's text), each run cold in
    the same rounds. `other_scripts` (label -> source) are timed in the same rounds too, their
    times under "script:<label>" in the first dict. Returns ({"mlspec": times, label: times,
    ...}, script times, root); the store of round i of a spec labelled L is
    root / f"store-{L}-{i}". The caller removes root.
    """
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="mlspec-bench-"))
    base = (ROOT / "bench" / spec_dir / "spec.yaml").read_text()
    specs = {"mlspec": root / "spec.yaml"}
    specs["mlspec"].write_text(base)
    for label, extra in (variants or {}).items():
        specs[label] = root / f"spec-{label}.yaml"
        specs[label].write_text(extra(base))
    make_data(root, rows)
    (root / "hand_written.py").write_text(script)
    for label, text in (other_scripts or {}).items():
        (root / f"hand_written_{label}.py").write_text(text)
    ours: dict[str, list[float]] = {label: [] for label in specs}
    ours.update({f"script:{label}": [] for label in other_scripts or {}})
    theirs: list[float] = []
    for i in range(repeat):
        theirs.append(time_process([PYTHON, str(root / "hand_written.py"), str(root)]))
        for label in other_scripts or {}:
            ours[f"script:{label}"].append(
                time_process([PYTHON, str(root / f"hand_written_{label}.py"), str(root)])
            )
        for label, spec in specs.items():
            store = root / f"store-{label}-{i}"
            ours[label].append(
                time_process(
                    [PYTHON, "-m", "mlspec", "run", str(spec), *run_args, "--store", str(store)]
                )
            )
    return ours, theirs, root
