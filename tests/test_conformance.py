"""The conformance suite of the spec language: specs/valid and specs/invalid.

Every spec in specs/valid must validate with no error and no warning. Every spec in
specs/invalid starts with comment lines that declare exactly what it must produce:

    # expect: LINE:COL CODE              one line per expected error
    # expect-warning: LINE:COL CODE      one line per expected warning

and the set of (line, col, code) that `validate_file` reports must equal the declared set,
for errors and for warnings separately. Together the invalid specs must exercise every
diagnostic code that the front end (loader, schema, checks, expression language) can emit.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlspec.lang import expr as expr_lang
from mlspec.lang import loader
from mlspec.lang.validate import validate_file, validate_text

ROOT = Path(__file__).resolve().parents[1]
VALID = sorted((ROOT / "specs" / "valid").glob("*.yaml"))
INVALID = sorted((ROOT / "specs" / "invalid").glob("*.yaml"))
SPEC_SOURCES = [
    ROOT / "mlspec" / "lang" / name for name in ("loader.py", "schema.py", "checks.py", "expr.py")
]

_EXPECT = re.compile(r"#\s*expect(-warning)?:\s*(\d+):(\d+)\s+([a-z0-9-]+)\s*$")

# Codes that no spec file can produce: they are about the file itself (line 0), or the
# schema mapper's fallback for a keyword that the schema does not use today.
NOT_IN_CORPUS = {
    "spec-not-found": "tested below with a path that does not exist",
    "spec-too-large": "tested below with a lowered size limit",
    "spec-unreadable": "tested below with a read that fails",
    "schema": "fallback of schema.py for a JSON Schema keyword without its own message",
}

Key = tuple[int, int, str]


def expectations(path: Path) -> tuple[set[Key], set[Key]]:
    """The declared (line, col, code) of errors and of warnings, from the leading comments."""
    errors: set[Key] = set()
    warnings: set[Key] = set()
    # latin-1 never fails, so a spec that is deliberately not UTF-8 still has a header.
    for line in path.read_bytes().decode("latin-1").splitlines():
        if not line.startswith("#"):
            break
        m = _EXPECT.match(line)
        if m:
            (warnings if m.group(1) else errors).add((int(m.group(2)), int(m.group(3)), m.group(4)))
    return errors, warnings


def _found(path: Path) -> tuple[set[Key], set[Key], str]:
    result = validate_file(path)
    errors = {(d.line, d.col, d.code) for d in result.diagnostics if d.severity == "error"}
    warnings = {(d.line, d.col, d.code) for d in result.diagnostics if d.severity == "warning"}
    shown = "\n".join(
        f"  {d.line}:{d.col} {d.severity} [{d.code}] {d.message}" for d in result.diagnostics
    )
    return errors, warnings, shown


def test_corpus_is_there() -> None:
    assert len(VALID) >= 8
    assert len(INVALID) >= 45


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_spec(path: Path) -> None:
    result = validate_file(path)
    assert result.diagnostics == [], "\n" + "\n".join(str(d) for d in result.diagnostics)
    assert result.ok


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_spec(path: Path) -> None:
    want_errors, want_warnings = expectations(path)
    assert want_errors or want_warnings, f"{path.name} declares no '# expect:' line"
    errors, warnings, shown = _found(path)
    assert errors == want_errors, f"{path.name}: got\n{shown}"
    assert warnings == want_warnings, f"{path.name}: got\n{shown}"


def test_invalid_specs_are_small_and_focused() -> None:
    for path in INVALID:
        lines = path.read_bytes().splitlines()
        assert len(lines) <= 60, f"{path.name} has {len(lines)} lines"
        errors, warnings = expectations(path)
        assert len(errors) + len(warnings) <= 12, f"{path.name} expects too much at once"


# ---------------------------------------------------------------- every code is covered


def emitted_codes() -> set[str]:
    """Every diagnostic code in the front end's source, found where diagnostics are made."""
    text = {p.name: p.read_text("utf-8") for p in SPEC_SOURCES}
    codes: set[str] = set()
    code = r'"([a-z][a-z0-9]*(?:-[a-z0-9]+)*)"'
    where = r"(?:\((?:[^()]|\([^()]*\))*\)|\w+)"  # a name, or a tuple (one level of calls)
    patterns = {
        "loader.py": [
            rf"Diagnostic\(\s*file,\s*[^,]+,\s*[^,]+,\s*{code}",
            rf"self\.fail\(\s*\w+,\s*{code}",
        ],
        "schema.py": [rf"self\.at\(\s*{where}\s*,\s*{code}"],
        "checks.py": [
            rf"(?:ctx|self)\.(?:error|warn)\(\s*{where}\s*,\s*{code}",
            rf"doc\.diag\(\s*{where}\s*,\s*{code}",
        ],
    }
    for name, pats in patterns.items():
        for pat in pats:
            codes.update(re.findall(pat, text[name]))
    codes.update(expr_lang.ERROR_CODES)
    codes.update(re.findall(r'"(expr-[a-z-]+)"', text["expr.py"]))
    return codes


def corpus_codes() -> set[str]:
    out: set[str] = set()
    for path in INVALID:
        errors, warnings = expectations(path)
        out.update(code for _line, _col, code in errors | warnings)
    return out


def test_grep_finds_the_codes() -> None:
    """Guards the grep: it must still see codes of every kind (else it silently shrinks)."""
    codes = emitted_codes()
    for sample in (
        "yaml-syntax",
        "yaml-alias-bomb",
        "spec-encoding",
        "unknown-key",
        "missing-key",
        "type",
        "enum",
        "range",
        "name",
        "unknown-column",
        "split-by-unused",
        "target-leak",
        "monitor-option",
        "expr-arity",
    ):
        assert sample in codes
    assert len(codes) >= 60


def test_corpus_covers_every_code() -> None:
    missing = emitted_codes() - corpus_codes() - set(NOT_IN_CORPUS)
    assert not missing, f"no spec in specs/invalid expects: {sorted(missing)}"


def test_corpus_expects_only_real_codes() -> None:
    unknown = corpus_codes() - emitted_codes()
    assert not unknown, f"specs/invalid expects codes the front end never emits: {sorted(unknown)}"


# ---------------------------------------------------------------- file-level codes


def test_spec_not_found(tmp_path: Path) -> None:
    result = validate_file(tmp_path / "nope.yaml")
    assert [(d.line, d.col, d.code) for d in result.diagnostics] == [(0, 0, "spec-not-found")]
    result = validate_file(tmp_path)
    assert [(d.line, d.col, d.code) for d in result.diagnostics] == [(0, 0, "spec-not-found")]


def test_spec_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_BYTES", 100)
    spec = tmp_path / "big.yaml"
    spec.write_text("description: " + "x" * 200 + "\n")
    result = validate_file(spec)
    assert [(d.line, d.col, d.code) for d in result.diagnostics] == [(0, 0, "spec-too-large")]


def test_spec_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "locked.yaml"
    spec.write_text("mlspec: 1\n")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    result = validate_file(spec)
    assert [(d.line, d.col, d.code) for d in result.diagnostics] == [(0, 0, "spec-unreadable")]
    assert "Permission denied" in result.diagnostics[0].message


def test_spec_encoding_built_from_bytes(tmp_path: Path) -> None:
    spec = tmp_path / "latin1.yaml"
    spec.write_bytes(b"mlspec: 1\nname: caf\xe9\n")
    result = validate_file(spec)
    assert [(d.line, d.col, d.code) for d in result.diagnostics] == [(2, 10, "spec-encoding")]
    # A BOM is allowed, and is not a column: the bad byte is still in column 10.
    spec.write_bytes(b"\xef\xbb\xbfname: caf\xe9\n")
    result = validate_file(spec)
    assert [(d.line, d.col, d.code) for d in result.diagnostics] == [(1, 10, "spec-encoding")]
    assert "0xe9" in result.diagnostics[0].message


def test_diagnostics_are_deterministic() -> None:
    for path in INVALID[:10]:
        assert validate_file(path).diagnostics == validate_file(path).diagnostics


def test_validate_text_equals_validate_file() -> None:
    for path in VALID + INVALID:
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            continue
        by_text = [
            (d.line, d.col, d.code, d.message)
            for d in validate_text(text, str(path), path.resolve()).diagnostics
        ]
        by_file = [(d.line, d.col, d.code, d.message) for d in validate_file(path).diagnostics]
        assert by_text == by_file, path.name


# ---------------------------------------------------------------- the real command line


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlspec", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_cli_accepts_every_valid_spec() -> None:
    proc = _cli("validate", *(str(p.relative_to(ROOT)) for p in VALID))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"no issues found in {len(VALID)} spec files" in proc.stdout


def test_cli_rejects_an_invalid_spec() -> None:
    path = ROOT / "specs" / "invalid" / "unknown-key-misspelt-models.yaml"
    rel = str(path.relative_to(ROOT))
    proc = _cli("validate", rel)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (errors, _warnings) = expectations(path)
    for line, col, code in errors:
        assert f"{rel}:{line}:{col}: error: " in proc.stdout
        assert f"[{code}]" in proc.stdout
    assert "did you mean 'models'?" in proc.stdout
    assert "Found 2 errors in 1 file" in proc.stderr


def test_cli_json_output() -> None:
    path = ROOT / "specs" / "invalid" / "unknown-key-misspelt-models.yaml"
    proc = _cli("validate", "--json", str(path.relative_to(ROOT)))
    assert proc.returncode == 2
    items = json.loads(proc.stdout)
    assert items and all(
        set(item) >= {"file", "line", "col", "code", "message", "hint"} for item in items
    )
    assert {(i["line"], i["col"], i["code"]) for i in items} == expectations(path)[0]
    proc = _cli("validate", "--json", str(VALID[0].relative_to(ROOT)))
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == []
