"""Shared fixtures: example projects copied to a temporary folder with their data made."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def make_example(name: str, dest: Path, *args: str) -> Path:
    """Copy examples/<name> into dest, run its data generator there; return the spec path."""
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("data", ".mlspec"))
    subprocess.run(
        [sys.executable, str(target / "make_data.py"), *args], check=True, capture_output=True
    )
    return target / "spec.yaml"


def mlspec(
    *args: str, cwd: Path | None = None, check: bool = False, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess."""
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mlspec", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"mlspec {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def serve(target: Path, *args: str, seconds: float = 120) -> tuple[subprocess.Popen[str], int]:
    """A real `mlspec serve TARGET ARGS` on a free loopback port, once it answers
    /v2/health/ready; the caller stops it. Its stderr is a pipe: read it with communicate()."""
    import http.client
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlspec", "serve", str(target), "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"mlspec serve exited {proc.returncode}: {proc.communicate()[1]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"mlspec serve was not ready in {seconds} s")
        try:
            con = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            con.request("GET", "/v2/health/ready")
            ready = con.getresponse().status == 200
            con.close()
            if ready:
                return proc, port
        except OSError:
            time.sleep(0.2)


def artifacts(store: Path) -> dict[str, dict[str, str]]:
    """step id -> {file name: digest} for every committed artifact in a store."""
    out: dict[str, dict[str, str]] = {}
    for manifest in store.glob("objects/*/*/manifest.json"):
        m = json.loads(manifest.read_text())
        out[m["step"]] = {name: f["blake3"] for name, f in m["files"].items()}
    return out


def run_json(*args: str) -> dict:
    proc = mlspec("run", *args, "--json", check=True)
    return json.loads(proc.stdout)


SLOW_PATHS = ("integration", "test_fuzz.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end runs and the fuzzers are `slow`: `pytest -m "not slow"` is the edit-test
    loop (unit tests and the spec conformance suite); CI runs everything."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts[0] in SLOW_PATHS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def examples_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both examples with data, made once per session (read-only use: copy before editing)."""
    dest = tmp_path_factory.mktemp("examples")
    make_example("quickstart", dest)
    make_example("feed_ranking", dest, "--rows", "4000")  # small: tests check behaviour, not speed
    return dest


@pytest.fixture
def feed(tmp_path: Path, examples_dir: Path) -> Path:
    """A private copy of the feed-ranking example (spec + data), free to edit and run."""
    shutil.copytree(
        examples_dir / "feed_ranking",
        tmp_path / "feed_ranking",
        ignore=shutil.ignore_patterns(".mlspec"),
    )
    return tmp_path / "feed_ranking" / "spec.yaml"


@pytest.fixture
def quickstart(tmp_path: Path, examples_dir: Path) -> Path:
    shutil.copytree(
        examples_dir / "quickstart",
        tmp_path / "quickstart",
        ignore=shutil.ignore_patterns(".mlspec"),
    )
    return tmp_path / "quickstart" / "spec.yaml"


@pytest.fixture(scope="session")
def ray_session():  # type: ignore[no-untyped-def]
    """One real local Ray for the whole session (2 CPUs, no dashboard), shut down at the end.

    Workers import the test-only step kinds of tests/ray_steps.py at start-up. Under CI a
    missing Ray is a failure, not a skip: the conformance suite must run on Ray there.
    """
    if os.environ.get("CI") == "true":
        import ray
    else:
        ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    runtime_env = {
        "env_vars": {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        },
        "worker_process_setup_hook": "tests.ray_steps.setup",
    }
    ray.init(num_cpus=2, include_dashboard=False, runtime_env=runtime_env, log_to_driver=False)
    yield ray
    ray.shutdown()


def _slurm_problem() -> str | None:
    """Why Slurm cannot take jobs here, or None when a node is up."""
    import shutil

    if shutil.which("sbatch") is None:
        return "Slurm is not installed (no sbatch on PATH)"
    proc = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        return f"the Slurm controller does not answer: {proc.stderr.strip()}"
    states = proc.stdout.split()
    if not any(s.rstrip("*~#!%$@^-") in ("idle", "mix", "alloc", "comp") for s in states):
        return f"no Slurm node is up (sinfo: {' '.join(states) or 'no node'})"
    return None


@pytest.fixture(scope="session")
def slurm_session() -> None:
    """A running Slurm that takes jobs (backends/slurm/start.sh, which .ci/run runs first).

    Without one the Slurm tests skip, saying how to start it; under CI that is a failure.
    """
    problem = _slurm_problem()
    if problem is None:
        return
    how = "start a single-node Slurm with `sudo backends/slurm/start.sh` (needs root)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem}; CI runs the Slurm tests: {how}")
    pytest.skip(f"{problem}; to run the Slurm tests, {how}")
