"""The front end on hostile sizes (issue 19, item 1): no crash, no hang, a located answer.

30,000 nested brackets segfaulted PyYAML's C composer (exit 139) in validate, plan, graph and
diff; 50,000 unknown keys took 693 s to print (each diagnostic split the whole source into
lines again). The limits below are generous for a loaded 2-core machine and far below what
the old code took.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mlspec.cli import main
from mlspec.diagnostics import MAX_SHOWN, render_text
from mlspec.lang.validate import validate_file, validate_text

ROOT = Path(__file__).resolve().parents[2]
VALID_HEAD = "mlspec: 1\nname: t\n"


def _mlspec(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlspec", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.mark.parametrize(
    "body, where",
    [
        ("x: " + "[" * 30_000 + "]" * 30_000 + "\n", "3:68"),
        ("x: " + "{a: " * 15_000 + "1" + "}" * 15_000 + "\n", "3:260"),
        ("x:\n" + "- " * 20_000 + "1\n", "4:129"),
    ],
    ids=["brackets", "flow-mappings", "block-sequences"],
)
def test_deep_nesting_is_a_located_error_in_every_light_command(
    tmp_path: Path, body: str, where: str
) -> None:
    spec = tmp_path / "deep.yaml"
    spec.write_text(VALID_HEAD + body)
    for args in (
        ["validate", str(spec)],
        ["plan", str(spec)],
        ["graph", "--no-status", str(spec)],
        ["diff", str(spec), str(spec)],
    ):
        proc = _mlspec(*args)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 2, (args, proc.returncode, out[-500:])  # not 139 (SIGSEGV)
        assert f"deep.yaml:{where}: error: nesting deeper than 64 levels [yaml-too-deep]" in out
        assert "Traceback" not in out


def test_nesting_is_bounded_before_composing_also_without_libyaml(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlspec.lang import loader

    monkeypatch.setattr(loader, "_CSpecLoader", None)
    text = VALID_HEAD + "é: " + "[" * 30_000 + "]" * 30_000 + "\n"
    result = validate_text(text, "deep.yaml")
    assert [(d.line, d.col, d.code) for d in result.diagnostics] == [(3, 68, "yaml-too-deep")]


def test_depth_64_is_allowed_and_65_is_not() -> None:
    def nested(levels: int) -> str:  # the value at objectives.o.models[0].params.a nests
        return (
            VALID_HEAD
            + "data: {sources: {s: {path: s.csv}}}\nfeatures: [{name: f}]\nobjectives:\n  o:\n"
            + "    task: binary\n    target: y\n    models:\n      - name: m\n"
            + "        type: xgboost\n        params:\n          a: "
            + "[" * levels
            + "]" * levels
            + "\n"
        )

    # objectives.o.models[0].params.a is 5 levels deep; 59 brackets make the 64th level.
    assert not [d for d in validate_text(nested(59)).diagnostics if d.code == "yaml-too-deep"]
    assert [d.code for d in validate_text(nested(60)).diagnostics] == ["yaml-too-deep"]


@pytest.mark.slow
def test_many_unknown_keys_are_linear_and_summarised(tmp_path: Path) -> None:
    n = 20_000
    spec = tmp_path / "wide.yaml"
    spec.write_text(VALID_HEAD + "".join(f"k{i}: 1\n" for i in range(n)))
    start = time.perf_counter()
    result = validate_file(spec)
    text = render_text(result.diagnostics, {result.file: result.text or ""})
    took = time.perf_counter() - start
    # The old renderer alone took ~200 s here (quadratic); this takes ~1 s on an idle machine.
    assert took < 30, took
    assert sum(d.code == "unknown-key" for d in result.diagnostics) == n
    assert text.count("[unknown-key]") == MAX_SHOWN - 2
    hidden = n + 2 - MAX_SHOWN  # and 2 missing keys, shown first (line 1)
    assert f"note: {hidden:,} more diagnostics not shown (unknown-key {hidden:,})" in text
    # every command that prints diagnostics caps them: plan and diff ran past 180 s
    for args in (["plan", str(spec)], ["diff", str(spec), str(spec)], ["validate", str(spec)]):
        start = time.perf_counter()
        proc = _mlspec(*args, timeout=240)
        assert time.perf_counter() - start < 60, args
        assert proc.returncode == 2
        out = proc.stdout + proc.stderr
        assert "more diagnostics not shown" in out and out.count("[unknown-key]") <= 2 * MAX_SHOWN


def test_max_errors_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "wide.yaml"
    spec.write_text(VALID_HEAD + "".join(f"k{i}: 1\n" for i in range(30)))
    assert main(["validate", "--max-errors", "5", str(spec)]) == 2
    out = capsys.readouterr()
    assert out.out.count(": error: ") == 5
    assert "note: 27 more diagnostics not shown (unknown-key 27)" in out.out
    assert "Found 32 errors in 1 file" in out.err
    assert main(["validate", "--max-errors", "0", str(spec)]) == 2
    assert capsys.readouterr().out.count(": error: ") == 32


def test_hints_are_bounded_per_spec() -> None:
    """difflib for every one of 50,000 unknown keys took ~15 s; the first ones keep hints."""
    text = VALID_HEAD + "".join(f"nmae{i}: 1\n" for i in range(5_000)) + "descriptoin: x\n"
    result = validate_text(text)
    hints = [d.hint for d in result.diagnostics if d.code == "unknown-key"]
    assert hints[0] == "did you mean 'name'?"
    assert hints[-1] is not None and hints[-1].startswith("expected one of")


def test_text_output_survives_lone_surrogates(capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID_HEAD + '"\\ud800": 1\n'
    rendered = render_text(validate_text(text, "s.yaml").diagnostics, {"s.yaml": text})
    assert "\\ud800" in rendered
    rendered.encode("utf-8")  # would raise UnicodeEncodeError when printed


@pytest.mark.slow
def test_a_long_list_with_a_repeat_is_linear() -> None:
    """uniqueItems compared items pair by pair: 20,000 names and a repeat took 48 s."""

    def seconds(n: int) -> float:
        text = (
            VALID_HEAD + "data: {sources: {s: {path: s.csv}}}\nfeatures: [{name: f}]\n"
            "objectives:\n  o:\n    task: binary\n    target: y\n"
            "    models: [{name: m, type: dummy}]\n"
            "    slices: [" + ", ".join(f"c{i}" for i in range(n)) + ", c0]\n"
        )
        start = time.process_time()
        codes = [d.code for d in validate_text(text).diagnostics]
        assert codes == ["duplicate"]
        return time.process_time() - start

    small, large = seconds(2_000), seconds(20_000)
    assert large / small < 30, (small, large)  # linear: ~10; pair by pair: ~100


def _cpu(work: Callable[[], object]) -> float:
    """CPU seconds of `work` without the cyclic GC: a collection's cost follows the whole
    test process's heap (late in the suite: every library loaded), not the input's size, and
    once made a linear 10x look like 32x."""
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        work()
        return time.process_time() - start
    finally:
        gc.enable()


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["leaking-features", "joined-wide-sources"])
def test_wide_specs_are_linear(shape: str) -> None:
    """Two lookups in lists made validate quadratic in the features and the columns."""
    head = (
        VALID_HEAD
        + "objectives:\n  o: {task: binary, target: y, models: [{name: m, type: dummy}]}\n"
    )

    def spec(n: int) -> str:
        if shape == "leaking-features":  # each reads the target: a target-leak each
            features = "".join(f'  - {{name: f{i}, expr: "y + {i}"}}\n' for i in range(n))
            return head + "data: {sources: {s: {path: s.csv}}}\nfeatures:\n" + features
        cols = ", ".join(f"c{i}: int" for i in range(n))
        return (
            head + "features: [{name: f}]\ndata:\n  sources:\n"
            f"    s: {{path: s.csv, columns: {{{cols}, y: int, f: int}}}}\n"
            f"    u: {{path: u.csv, columns: {{{cols}}}}}\n"
            "  joins: [{left: s, right: u, on: c0}]\n"
        )

    def seconds(n: int) -> float:
        text = spec(n)
        return min(_cpu(lambda: validate_text(text)) for _ in range(2))

    small, large = seconds(1_000), seconds(10_000)
    assert large / small < 30, (small, large)  # linear: ~10; quadratic: ~100
