"""The batch backend on the real Slurm that backends/slurm/start.sh starts (no stand-in).

Equal fingerprints and byte-identical artifacts on both examples are the conformance suite's
(tests/integration/test_backends.py, backend "batch"). Here: what only a scheduler does. Most
runs select the quickstart's data steps (`--only +split`: four jobs), which keeps the file's
time small; every job still pays a Python start and its imports.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import artifacts, mlspec

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("slurm_session")]

PREFIX = ["--only", "+split"]  # load, check, features, split


def _jobs(store: Path, run_id: str | None = None) -> dict[str, str]:
    """step id -> Slurm job id, from the jobs file(s) the backend writes beside the logs."""
    out: dict[str, str] = {}
    for path in sorted(store.glob(f"logs/{run_id or '*'}/jobs.jsonl")):
        for line in path.read_text().splitlines():
            d = json.loads(line)
            out[d["step"]] = d["job"]
    return out


def _squeue(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    proc = subprocess.run(
        ["squeue", "-h", "-t", "all", "-j", ",".join(job_ids), "-o", "%i|%T|%r"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        i: (state, reason)
        for i, state, reason in (ln.split("|") for ln in proc.stdout.splitlines())
    }


def _fingerprint(spec: Path, step: str) -> str:
    proc = mlspec("plan", str(spec), "--json", check=True)
    return next(s["fingerprint"] for s in json.loads(proc.stdout)["steps"] if s["step"] == step)


def test_a_failing_step_cancels_its_dependents_and_is_reported_with_its_log(
    quickstart: Path,
) -> None:
    text = quickstart.read_text()
    assert "{rows: {min: 500}}" in text
    quickstart.write_text(text.replace("{rows: {min: 500}}", "{rows: {min: 100000}}"))
    proc = mlspec("run", str(quickstart), "--backend", "batch")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "error: step check.biopsies failed" in proc.stderr
    log = re.search(r"log: (\S+check\.biopsies\.log)", proc.stderr)
    assert log, proc.stderr
    assert "100000" in Path(log.group(1)).read_text()  # the check's own words, in its log
    assert re.search(r"not run: .*\bfeatures\b", proc.stderr), proc.stderr
    # Every dependent was queued ahead (afterok on the check's job) and Slurm cancelled it.
    store = quickstart.parent / ".mlspec"
    jobs = _jobs(store)
    assert {"load.biopsies", "check.biopsies", "features", "split", "report"} <= set(jobs)
    states = _squeue(list(jobs.values()))
    assert states[jobs["check.biopsies"]][0] == "FAILED"
    for step in ("features", "split", "train.diagnosis.lr", "report"):
        assert states[jobs[step]] == ("CANCELLED", "DependencyNeverSatisfied"), step
    assert set(artifacts(store)) == {"load.biopsies"}


def test_scancel_of_a_running_job_is_reported_and_a_rerun_resumes_from_the_cache(
    quickstart: Path,
) -> None:
    from mlspec.store import ArtifactStore

    store = quickstart.parent / ".mlspec"
    # Holding the step's artifact lock keeps its job running (run_task waits for the lock),
    # so the scancel below always meets a running job.
    lock = ArtifactStore(store).lock(_fingerprint(quickstart, "features"))
    lock.acquire()
    try:
        run = subprocess.Popen(
            [sys.executable, "-m", "mlspec", "run", str(quickstart), "--backend", "batch", *PREFIX],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = _jobs(store).get("features")
            if job and _squeue([job]).get(job, ("",))[0] == "RUNNING":
                break
            time.sleep(0.2)
        else:
            run.kill()
            pytest.fail("the features job never ran")
        subprocess.run(["scancel", job], check=True)
        out, err = run.communicate(timeout=120)
    finally:
        lock.release()
    assert run.returncode == 1, out + err
    assert "error: step features failed" in err
    assert f"cancelled: job {job} was cancelled" in err
    assert re.search(r"not run: .*\bsplit\b", err), err
    rerun = mlspec("run", str(quickstart), "--backend", "batch", *PREFIX, "--json", check=True)
    steps = json.loads(rerun.stdout)["steps"]
    assert steps["load.biopsies"]["cache_hit"] and steps["check.biopsies"]["cache_hit"]
    assert not steps["features"]["cache_hit"] and not steps["split"]["cache_hit"]


def test_two_runs_at_once_share_the_store(quickstart: Path, tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "mlspec",
        "run",
        str(quickstart),
        "--backend",
        "batch",
        *PREFIX,
        "--json",
    ]
    runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    runs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [r.communicate(timeout=300) for r in runs]
    for r, (out, err) in zip(runs, outs, strict=True):
        assert r.returncode == 0, out + err
    steps = [json.loads(out)["steps"] for out, _ in outs]
    for step in ("load.biopsies", "check.biopsies", "features", "split"):
        computed = [not s[step]["cache_hit"] for s in steps]
        assert sum(computed) == 1, f"{step} computed by {sum(computed)} runs"
    reference = tmp_path / "reference"
    mlspec("run", str(quickstart), "--store", str(reference), *PREFIX, check=True)
    assert artifacts(quickstart.parent / ".mlspec") == artifacts(reference)


def test_detach_submits_and_runs_show_follows_the_jobs(quickstart: Path) -> None:
    proc = mlspec("run", str(quickstart), "--backend", "batch", "--detach", *PREFIX, check=True)
    run_id = re.search(r"run (\S+) submitted: 4 jobs queued", proc.stdout)
    assert run_id, proc.stdout
    store = str(quickstart.parent / ".mlspec")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        shown = json.loads(
            mlspec("runs", "show", run_id.group(1), "--store", store, "--json").stdout
        )
        if shown["run"]["status"] != "running":
            break
        assert {j["step_id"] for j in shown["jobs"]} == {
            "load.biopsies",
            "check.biopsies",
            "features",
            "split",
        }
        time.sleep(1)
    assert shown["run"]["status"] == "succeeded", shown
    assert {s["step_id"]: s["status"] for s in shown["steps"]} == dict.fromkeys(
        ("load.biopsies", "check.biopsies", "features", "split"), "succeeded"
    )


def test_resources_slurm_cannot_give_are_refused_before_submission(quickstart: Path) -> None:
    text = quickstart.read_text()
    model = re.search(r"\n( +)- name: lr\n", text)
    assert model, "the quickstart has a model named lr"
    indent = model.group(1) + "  "
    quickstart.write_text(
        text.replace(model.group(0), f"{model.group(0)}{indent}resources: {{num_cpus: 512}}\n")
    )
    proc = mlspec("run", str(quickstart), "--backend", "batch")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Slurm refuses --cpus-per-task=512" in proc.stderr
    assert "train.diagnosis.lr" in proc.stderr
    assert "nodes have at most" in proc.stderr
    assert not _jobs(quickstart.parent / ".mlspec"), "a job was submitted"


def test_interrupting_a_run_cancels_its_jobs(quickstart: Path) -> None:
    from mlspec.store import ArtifactStore

    store = quickstart.parent / ".mlspec"
    lock = ArtifactStore(store).lock(_fingerprint(quickstart, "features"))
    lock.acquire()  # keeps the features job running, and split queued after it
    try:
        run = subprocess.Popen(
            [sys.executable, "-m", "mlspec", "run", str(quickstart), "--backend", "batch", *PREFIX],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            jobs = _jobs(store)
            if "split" in jobs and _squeue([jobs["features"]])[jobs["features"]][0] == "RUNNING":
                break
            time.sleep(0.2)
        else:
            run.kill()
            pytest.fail("the features job never ran")
        run.send_signal(signal.SIGINT)
        _out, err = run.communicate(timeout=60)
    finally:
        lock.release()
    assert run.returncode == 130, err
    deadline = time.monotonic() + 30  # a killed job is COMPLETING for a moment
    while time.monotonic() < deadline:
        states = _squeue([jobs["features"], jobs["split"]])
        if "COMPLETING" not in {state for state, _ in states.values()}:
            break
        time.sleep(0.2)
    assert states[jobs["features"]][0] == "CANCELLED"
    assert states[jobs["split"]][0] == "CANCELLED"
