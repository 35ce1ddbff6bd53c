"""libyaml composes clean ASCII specs; the result is the pure-Python parser's, mark for mark."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlspec.lang import loader
from mlspec.lang.loader import load_text

ROOT = Path(__file__).resolve().parents[2]
TEXTS = {
    p.relative_to(ROOT).as_posix(): p.read_bytes().decode("utf-8", errors="replace")
    for p in sorted(
        [
            *ROOT.glob("specs/*/*.yaml"),
            *ROOT.glob("examples/*/spec.yaml"),
            *ROOT.glob("bench/*/spec.yaml"),
        ]
    )
}


def pure(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, list]:
    with monkeypatch.context() as m:
        m.setattr(loader, "_CSpecLoader", None)
        return load_text(text, "spec.yaml")


def same(a: loader.Document | None, b: loader.Document | None) -> bool:
    if a is None or b is None:
        return a is b
    return (repr(a.data), a.marks, a.key_marks, a.text) == (
        repr(b.data),
        b.marks,
        b.key_marks,
        b.text,
    )  # NaN != NaN


def test_libyaml_is_there() -> None:
    """CI must take the fast path: PyYAML's wheels ship libyaml."""
    assert yaml.__with_libyaml__ and loader._CSpecLoader is not None


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_both_parsers_give_one_result(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = TEXTS[name]
    fast, fast_diags = load_text(text, "spec.yaml")
    slow, slow_diags = pure(text, monkeypatch)
    assert fast_diags == slow_diags and same(fast, slow)  # type: ignore[arg-type]


def test_the_corpus_takes_both_paths() -> None:
    ascii_ok = [
        n for n, t in TEXTS.items() if t.isascii() and loader._load_with_libyaml(t, "s") is not None
    ]
    assert len(ascii_ok) > 50 and len(ascii_ok) < len(TEXTS)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # duplicate key: a diagnostic, from the pure parser
        "a: !!python/object:os.system x\n",
        "a: [1, 2\n",
        "a: &x [*x]\n",
        "- 1\n- 2\n",
        "a: 1\n---\nb: 2\n",
        "on: yes\nx: 012\ny: 1e-3\nz: 'it''s'\nw: \"t\\u00e9\"\n",
        "a:\r\n  b: 'x'\r\n  c: plain text\r\n",
    ],
)
def test_problems_and_oddities_read_as_the_pure_parser_reads_them(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, fast_diags = load_text(text, "spec.yaml")
    slow, slow_diags = pure(text, monkeypatch)
    assert fast_diags == slow_diags and same(fast, slow)  # type: ignore[arg-type]


def test_text_without_a_final_line_break_has_the_pure_parsers_marks() -> None:
    """libyaml ended the root mapping of 'a: 1' one column short (found by tests/test_fuzz.py)."""
    from mlspec.lang import loader

    for text in ("0:", "a: 1", "a: [1]", "a:\n  b:", "a: {b: }"):
        fast, _ = loader.load_text(text)
        slow_loader, loader._CSpecLoader = loader._CSpecLoader, None
        try:
            slow, _ = loader.load_text(text)
        finally:
            loader._CSpecLoader = slow_loader
        assert fast is not None and slow is not None
        assert fast.marks == slow.marks, text
