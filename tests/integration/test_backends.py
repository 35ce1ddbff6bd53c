"""Backend conformance: every backend runs both examples to the same fingerprints and
byte-identical artifacts as the local backend. Runs are in-process (`mlspec.cli.main`), so the
ray backend reuses the session's Ray instead of starting its own; the batch backend submits
every step to the real Slurm that backends/slurm/start.sh started."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlspec.cli import main

EXAMPLES = ("quickstart", "feed_ranking")
# id -> extra `mlspec run` arguments
BACKENDS = {
    "local": ["--backend", "local", "--workers", "1"],
    "local-two-lanes": ["--backend", "local"],  # the default: in-process plus a side worker
    "local-workers-2": ["--backend", "local", "--workers", "2"],
    "ray": ["--backend", "ray"],
    "batch": ["--backend", "batch"],
}
ENGINES = {"ray": "ray_session", "batch": "slurm_session"}  # the fixture that starts or checks it
SLOW = {"batch"}  # a Slurm job per step: each step pays a process start and its imports


def committed(store: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """step id -> (fingerprint, {file: digest}) for every artifact in a store."""
    out = {}
    for manifest in store.glob("objects/*/*/manifest.json"):
        m = json.loads(manifest.read_text())
        out[m["step"]] = (
            manifest.parent.name,
            {name: f["blake3"] for name, f in m["files"].items()},
        )
    return out


def run_examples(examples_dir: Path, stores: Path, args: list[str]) -> dict[str, dict]:
    out = {}
    for name in EXAMPLES:
        store = stores / name
        code = main(["run", str(examples_dir / name / "spec.yaml"), "--store", str(store), *args])
        assert code == 0, f"mlspec run {name} {' '.join(args)} exited {code}"
        out[name] = committed(store)
    return out


@pytest.fixture(scope="module")
def reference(examples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Both examples run once on the local backend, in this process, one step at a time."""
    return run_examples(
        examples_dir, tmp_path_factory.mktemp("reference"), ["--backend", "local", "--workers", "1"]
    )


@pytest.mark.parametrize(
    "backend", [pytest.param(b, marks=[pytest.mark.slow] * (b in SLOW)) for b in BACKENDS]
)
def test_backend_matches_local(
    backend: str,
    reference: dict,
    examples_dir: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if backend in ENGINES:
        request.getfixturevalue(ENGINES[backend])
    if backend == "local-two-lanes":  # the side worker starts only on an idle core: say so
        from mlspec.backends import local

        monkeypatch.setattr(local, "_loadavg", lambda: "0.05 0.10 0.10 1/200 4242")
    got = run_examples(examples_dir, tmp_path, BACKENDS[backend])
    for name in EXAMPLES:
        assert got[name], f"{name}: no artifact"
        assert set(got[name]) == set(reference[name]), f"{name}: other steps than local"
        for step, (fp, files) in reference[name].items():
            assert got[name][step][0] == fp, f"{name}/{step}: fingerprint differs from local"
            assert got[name][step][1] == files, f"{name}/{step}: artifact bytes differ from local"
