"""`diff` and `plan --base` on hostile specs: diagnostics, and nothing read, run or unpickled.

Each command runs in a fresh interpreter with an audit hook (PEP 578) that logs every file
open, pickle look-up, process start and `os.system`; the test asserts none reach outside the
repository, the interpreter's own files and the spec's folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs" / "diff"
HEAVY = ("polars", "sklearn", "xgboost", "ray", "numpy", "pandas", "pyarrow", "joblib")

PROBE = r"""
import json, sys
events = []
def hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        events.append(["open", args[0].decode() if isinstance(args[0], bytes) else args[0]])
    elif event in ("pickle.find_class", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "ctypes.dlopen"):
        events.append([event, repr(args)[:200]])
sys.addaudithook(hook)
import contextlib, io
from mlspec.cli import main
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    code = main(ARGV)
print(json.dumps({"code": code, "events": events, "modules": sorted(sys.modules), "out": out.getvalue(), "err": err.getvalue()}))
"""

BASE = (SPECS / "removed-source.yaml").read_text()
HOSTILE = {
    "absolute-source": BASE.replace("path: data/posts.csv", "path: /etc/passwd"),
    "external-source": BASE.replace(
        "path: data/posts.csv", "path: /etc/passwd\n      format: csv\n      external: true"
    ),
    "python-tag": BASE.replace(
        "name: small", "name: !!python/object/apply:os.system ['touch /tmp/pwned']"
    ),
    "model-type": BASE.replace("type: logistic_regression", "type: os.system"),
    "expression": BASE.replace(
        "{name: followers, scale: standard}",
        "{name: followers, expr: \"__import__('os').system('id')\"}",
    ),
}


def run_probe(argv: list[str], cwd: Path) -> dict:
    code = PROBE.replace("ARGV", repr(argv))
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def allowed(path: str, roots: list[Path]) -> bool:
    p = Path(path)
    if not p.is_absolute():
        return True  # relative to cwd, which is the spec's folder
    p = p.resolve()
    return any(p == r or r in p.parents for r in roots)


def roots(tmp: Path) -> list[Path]:
    import sysconfig

    extra = {
        sys.prefix,
        sys.base_prefix,
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
    }
    return [ROOT.resolve(), tmp.resolve(), *(Path(x).resolve() for x in extra)]


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("command", ["diff", "diff-markdown"])
def test_hostile_spec_reads_nothing_outside_and_runs_nothing(
    name: str, command: str, tmp_path: Path
) -> None:
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "head.yaml").write_text(HOSTILE[name])
    extra = {"diff": [], "diff-json": ["--json"], "diff-markdown": ["--format", "markdown"]}[
        command
    ]
    res = run_probe(["diff", "base.yaml", "head.yaml", *extra], tmp_path)
    if name == "external-source":  # valid: external data is allowed, but a diff never reads it
        assert res["code"] == 0, res["err"]
    else:
        assert res["code"] == 2 and "error" in res["err"], res
    opened = [p for e, p in res["events"] if e == "open"]
    assert not any("passwd" in p for p in opened)
    outside = [p for p in opened if not allowed(p, roots(tmp_path))]
    assert not outside, outside
    assert not [e for e in res["events"] if e[0] != "open"], res["events"]
    heavy = [m for m in res["modules"] if m.split(".")[0] in HEAVY]
    assert not heavy
    assert not Path("/tmp/pwned").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["diff", "{specs}/feed.yaml", "{specs}/feature-expr.yaml", "--store", "{tmp}"],
        ["diff", "{specs}/feed.yaml", "{specs}/weight-change.yaml", "--format", "markdown"],
    ],
)
def test_diff_imports_no_heavy_library(argv: list[str], tmp_path: Path) -> None:
    argv = [a.replace("{specs}", str(SPECS)).replace("{tmp}", str(tmp_path)) for a in argv]
    res = run_probe(argv, tmp_path)
    assert res["code"] == 0, res["err"]
    heavy = sorted(m for m in res["modules"] if m.split(".")[0] in HEAVY)
    assert not heavy, heavy
    assert not [e for e in res["events"] if e[0] != "open"]
    data = [p for e, p in res["events"] if e == "open" and "/data/" in p]
    assert not data, data


@pytest.mark.parametrize("name", ["external-source", "model-type"])
def test_plan_base_on_a_hostile_head_runs_only_git(name: str, tmp_path: Path) -> None:
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (tmp_path / "spec.yaml").write_text(BASE)
    env = ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "spec.yaml"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *env, *args], cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / "spec.yaml").write_text(HOSTILE[name])
    res = run_probe(["plan", "spec.yaml", "--base", "HEAD"], tmp_path)
    assert res["code"] == (0 if name == "external-source" else 2), res["err"]
    others = [e for e in res["events"] if e[0] != "open"]
    assert all(e[0] in ("subprocess.Popen", "os.posix_spawn") and "git" in e[1] for e in others), (
        others
    )
    opened = [p for e, p in res["events"] if e == "open"]
    assert not [p for p in opened if not allowed(p, roots(tmp_path))]
    assert not [m for m in res["modules"] if m.split(".")[0] in HEAVY]
