"""Fuzz tests of the spec front end: whatever the text, validation answers with diagnostics.

Invariants checked for every input:

- `validate_text` never raises;
- every diagnostic has a code (``lower-case-with-dashes``), a message and a known severity;
- every position is inside the text: line >= 1 and col >= 1 (line 0 is only for problems
  with the file itself, which text never has), the line exists, and the column is at most
  one past the end of that line;
- a result without errors builds its typed Spec;
- `schema_fit.fits` gives jsonschema's verdict on every document that loads;
- the libyaml fast path loads what the pure-Python parser loads, with the same marks.

Inputs: random text, YAML-looking text, random YAML documents (plain and spec-shaped), and
mutations of every example spec and every spec in specs/valid. R1 (issue 19) runs mutated and
schema-generated specs through `validate`, `plan`, `graph` and `diff` in-process
(`tests/spec_fuzz.py`; the full 10,000 are `bench/fuzz_specs.py`). Runs derandomized, with no
example database, so CI sees the same examples on every run; the whole file runs in well
under a minute.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlspec.diagnostics import render_json, render_text
from mlspec.lang import loader
from mlspec.lang.loader import load_text, walk
from mlspec.lang.schema import _validator, schema_text
from mlspec.lang.schema_fit import fits
from mlspec.lang.validate import Result, validate_text
from tests import spec_fuzz

ROOT = Path(__file__).resolve().parents[1]
SPEC_FILES = sorted(
    [*ROOT.glob("examples/*/spec.yaml"), *(ROOT / "specs" / "valid").glob("*.yaml")]
)
SPEC_TEXTS = {p.relative_to(ROOT).as_posix(): p.read_text("utf-8") for p in SPEC_FILES}
# The invalid corpus seeds the text mutations too: it starts on the error paths.
INVALID_TEXTS = {
    p.relative_to(ROOT).as_posix(): p.read_bytes().decode("utf-8", errors="replace")
    for p in sorted((ROOT / "specs" / "invalid").glob("*.yaml"))
}

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Cheap inputs (short text) get more examples for the same time.
FUZZ_MORE = settings(FUZZ, max_examples=400)

_CODE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
# Line breaks as YAML (and PyYAML) counts them; positions are relative to these lines.
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def yaml_lines(text: str) -> list[str]:
    return _BREAK.split(text)


def check_invariants(text: str, result: Result) -> None:
    lines = yaml_lines(text)
    for d in result.diagnostics:
        where = f"{d.line}:{d.col} [{d.code}] {d.message!r} in {text[:300]!r}"
        assert isinstance(d.code, str) and _CODE.match(d.code), where
        assert isinstance(d.message, str) and d.message.strip(), where
        assert d.hint is None or (isinstance(d.hint, str) and d.hint.strip()), where
        assert d.severity in ("error", "warning", "note"), where
        assert d.line >= 1 and d.col >= 1, where
        assert d.line <= len(lines), where
        assert d.col <= len(lines[d.line - 1]) + 1, where
        assert d.span >= 1, where
    rendered = render_text(result.diagnostics, {"fuzz.yaml": text}, max_shown=None)
    for d in result.diagnostics:
        assert f": {d.severity}: {d.message} [{d.code}]" in rendered
    assert len(json.loads(render_json(result.diagnostics))) == len(result.diagnostics)
    if result.ok:
        assert result.document is not None
        assert result.spec is not None


def _pure_load(text: str) -> tuple[Any, list[Any]]:
    """`load_text` with the pure-Python parser only (no libyaml fast path)."""
    fast, loader._CSpecLoader = loader._CSpecLoader, None
    try:
        return load_text(text, "fuzz.yaml")
    finally:
        loader._CSpecLoader = fast


def validate(text: str) -> Result:
    result = validate_text(text, "fuzz.yaml")
    check_invariants(text, result)
    slow, slow_diags = _pure_load(text)  # libyaml's document is the pure parser's, mark for mark
    fast = result.document
    if slow is None or fast is None:
        assert slow is fast and (slow_diags == result.diagnostics), text[:300]
    else:
        assert (repr(fast.data), fast.marks, fast.key_marks) == (
            repr(slow.data),
            slow.marks,
            slow.key_marks,
        ), text[:300]
    if result.document is not None:  # the fast verdict is jsonschema's, on every document
        data = result.document.data
        assert fits(data, schema_text()) == (not any(_validator().iter_errors(data))), text[:300]
    return result


# ---------------------------------------------------------------- (a) random text


@FUZZ_MORE
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    validate(text)


YAMLISH = st.from_regex(
    r"\A(?:[ \t]{0,6}(?:- |\? |: |[a-z_$<]{1,8}: ?)?"
    r"(?:[\[\]{}&*!|>'\",#%@`~]|[a-z0-9_.-]{1,10}|\\[nx0t]|<<| ){0,8}\r?\n){1,15}\Z",
    fullmatch=True,
)


@FUZZ_MORE
@given(YAMLISH)
def test_yamlish_text(text: str) -> None:
    validate(text)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
KEYS = st.text(max_size=12) | st.integers(min_value=-5, max_value=5) | st.booleans() | st.none()


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)


PLAIN_DOCS = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=30,
)


@FUZZ
@given(PLAIN_DOCS, st.booleans())
def test_random_yaml_documents(value: Any, flow: bool) -> None:
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=flow)
    validate(text)


# Spec-shaped documents: keys and values from the spec language, so the checks run deep.
SPEC_WORDS = [
    "mlspec",
    "name",
    "description",
    "problem",
    "goal",
    "task",
    "data",
    "sources",
    "path",
    "format",
    "query",
    "columns",
    "checks",
    "column",
    "rows",
    "min",
    "max",
    "allowed",
    "not_null",
    "joins",
    "left",
    "right",
    "on",
    "how",
    "split",
    "method",
    "test",
    "valid",
    "seed",
    "by",
    "features",
    "expr",
    "type",
    "encoding",
    "impute",
    "fill_value",
    "scale",
    "objectives",
    "target",
    "metrics",
    "select_by",
    "baseline",
    "threshold",
    "models",
    "params",
    "search",
    "space",
    "low",
    "high",
    "log",
    "trials",
    "cv",
    "gate",
    "slices",
    "fairness",
    "protected",
    "combine",
    "weights",
    "deployment",
    "batch",
    "rest",
    "port",
    "monitors",
    "objective",
    "metric",
    "execution",
    "backend",
    "external",
    "separator",
]
SPEC_VALUES = [
    1,
    0,
    -1,
    0.5,
    1.5,
    2,
    "binary",
    "multiclass",
    "regression",
    "ranking",
    "roc_auc",
    "rmse",
    "log_loss",
    "accuracy",
    "a.csv",
    "b.sqlite",
    "../x.parquet",
    "/abs.csv",
    "log1p(x)",
    "where(x > 0, x, 0)",
    "x.y",
    "foo(",
    "",
    ">= 0.5",
    "stratified",
    "grid",
    "random",
    "valid",
    "categorical",
    "numeric",
    "constant",
    "mean",
    "xgboost",
    "ridge",
    "logistic_regression",
    "dummy",
    "data_drift",
    "performance",
    "prediction_drift",
    "rest",
    "batch",
    "probability",
    "x",
    "y",
    "s",
    "o",
    "m",
    "baseline",
]
SPEC_KEYS = st.sampled_from(SPEC_WORDS) | st.sampled_from(["s", "o", "p", "x", "y", "m"])
SPEC_LEAVES = st.sampled_from(SPEC_VALUES) | SCALARS
SPEC_DOCS = st.recursive(
    SPEC_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(SPEC_KEYS, children, max_size=6)
    ),
    max_leaves=60,
)


@FUZZ
@given(st.dictionaries(SPEC_KEYS, SPEC_DOCS, min_size=1, max_size=8))
def test_spec_shaped_documents(value: dict[str, Any]) -> None:
    validate(_dump(value))


# ---------------------------------------------------------------- (b) mutated valid specs


def _typo(word: str, data: st.DataObject) -> str:
    if not word:
        return "x"
    i = data.draw(st.integers(0, len(word) - 1), label="typo at")
    kind = data.draw(st.sampled_from(["drop", "swap", "insert", "case"]), label="typo kind")
    if kind == "drop" and len(word) > 1:
        return word[:i] + word[i + 1 :]
    if kind == "swap" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "case":
        return word[:i] + word[i].swapcase() + word[i + 1 :]
    return word[:i] + data.draw(st.sampled_from(string.ascii_lowercase + "_-")) + word[i:]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-1000, 1000)
    | st.floats(-1e6, 1e6)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _mutate_data(spec: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """Delete a key, misspell it, or replace a value, somewhere in the document."""
    paths = [p for p, _v in walk(spec) if p]
    path = data.draw(st.sampled_from(paths), label="path")
    parent: Any = spec
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    how = data.draw(st.sampled_from(["delete", "rename", "replace", "duplicate"]), label="how")
    if how == "delete":
        del parent[last]
    elif how == "rename" and isinstance(last, str):
        value = parent.pop(last)
        parent[_typo(last, data)] = value
    elif how == "duplicate" and isinstance(parent, list):
        parent.insert(last, parent[last])
    else:
        parent[last] = data.draw(JSON_VALUES | SPEC_DOCS, label="value")
    return spec


@FUZZ
@given(st.sampled_from(sorted(SPEC_TEXTS)), st.data())
def test_mutated_specs_data(name: str, data: st.DataObject) -> None:
    doc, diags = load_text(SPEC_TEXTS[name], name)
    assert doc is not None and not diags
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        doc.data = _mutate_data(doc.data, data)
    validate(_dump(doc.data))


def _mutate_text(text: str, data: st.DataObject) -> str:
    lines = text.split("\n")
    i = data.draw(st.integers(0, len(lines) - 1), label="line")
    how = data.draw(
        st.sampled_from(["dup", "delete", "indent", "dedent", "tab", "insert", "typo", "swap"]),
        label="how",
    )
    line = lines[i]
    if how == "dup":
        lines.insert(i, line)
    elif how == "delete":
        del lines[i]
    elif how == "indent":
        lines[i] = " " * data.draw(st.integers(1, 4)) + line
    elif how == "dedent":
        lines[i] = line[data.draw(st.integers(1, 4)) :] if line.startswith(" ") else line
    elif how == "tab":
        lines[i] = "\t" + line.lstrip(" ")
    elif how == "swap" and i + 1 < len(lines):
        lines[i], lines[i + 1] = lines[i + 1], line
    elif how == "typo":
        words = re.findall(r"[A-Za-z_]+", line)
        if words:
            word = data.draw(st.sampled_from(words))
            lines[i] = line.replace(word, _typo(word, data), 1)
    else:
        at = data.draw(st.integers(0, len(line)), label="column")
        chars = data.draw(
            st.text(
                alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#,? \t%@`\\\x00\x85\u2028é\ufeff"))
                | st.characters(),
                min_size=1,
                max_size=4,
            ),
            label="inserted",
        )
        lines[i] = line[:at] + chars + line[at:]
    return "\n".join(lines)


@FUZZ
@given(st.sampled_from(sorted(SPEC_TEXTS)), st.data())
def test_mutated_specs_text(name: str, data: st.DataObject) -> None:
    text = SPEC_TEXTS[name]
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        text = _mutate_text(text, data)
    validate(text)


@FUZZ
@given(st.sampled_from(sorted(INVALID_TEXTS)), st.data())
def test_mutated_invalid_specs_text(name: str, data: st.DataObject) -> None:
    text = INVALID_TEXTS[name]
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        text = _mutate_text(text, data)
    validate(text)


def test_every_spec_unmutated_is_valid() -> None:
    """The seeds of the mutation fuzzers are valid, so every problem found is the mutation's."""
    for name, text in SPEC_TEXTS.items():
        result = validate(text)
        assert result.diagnostics == [], name
        # The same data written out by another YAML writer means the same spec.
        assert result.document is not None
        again = validate(_dump(result.document.data))
        assert again.diagnostics == [], name
        assert again.document is not None and again.document.data == result.document.data, name


# ---------------------------------------------------------------- (c) R1: every light command

# The first specs of bench/fuzz_specs.py (same mutator, same seed), which runs 10,000.
R1_CI_COUNT = 120


@pytest.mark.slow
def test_r1_fuzzed_specs_through_validate_plan_graph_diff(tmp_path: Path) -> None:
    """Mutated and generated specs: no exception, exit 0 or 2, located, <= 1 s CPU each."""
    outcomes = spec_fuzz.fuzz(R1_CI_COUNT, tmp_path, seed=0)
    findings = [f"spec {o.index} from {o.seed}: {f}" for o in outcomes for f in o.failures]
    assert not findings, "\n\n".join(findings[:5])
    # the fuzz reaches the planner: some specs stay valid, most are refused
    assert 0 < sum(o.valid for o in outcomes) < len(outcomes)
