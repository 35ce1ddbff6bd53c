"""The `mlspec` executable leaves with os._exit after main: nothing it printed may be lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_piped_output_is_complete_and_the_exit_code_kept(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mlspec", "schema"], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(
        (ROOT / "schemas" / "mlspec.schema.json").read_text()
    )
    bad = ROOT / "specs" / "invalid" / "range-evaluation.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "mlspec", "validate", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stdout.count("error:") + proc.stderr.count("error:") == 3


def test_output_to_a_file_is_flushed(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    with out.open("w") as fh:
        proc = subprocess.run(
            [sys.executable, "-m", "mlspec", "schema"], stdout=fh, stderr=subprocess.PIPE, text=True
        )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["title"].startswith("mlspec spec")


def test_a_closed_pipe_is_not_an_error() -> None:
    code = "import subprocess, sys; p = subprocess.Popen([sys.executable, '-m', 'mlspec', 'schema'], stdout=subprocess.PIPE, stderr=subprocess.PIPE); p.stdout.read(10); p.stdout.close(); print(p.wait(), p.stderr.read().decode())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    status, _, err = proc.stdout.partition(" ")
    assert status in ("0", "-13", "1"), proc.stdout  # never a traceback
    assert "Traceback" not in err
