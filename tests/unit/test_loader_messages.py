"""Messages of the loader for mistakes a spec author makes often (issue 13.19)."""

from __future__ import annotations

import pytest

from mlspec.lang.validate import validate_text

SPEC = """mlspec: 1
name: t
objectives:
  y:
    gate:
      roc_auc: {threshold}
"""


@pytest.mark.parametrize("threshold", [">= 0.6", "> 0.6", ">=0.6  # the bar", "|0.6"])
def test_an_unquoted_threshold_says_quote_it(threshold: str) -> None:
    (d,) = validate_text(SPEC.format(threshold=threshold), "spec.yaml").diagnostics
    value = threshold.split("  #")[0]
    assert (d.line, d.col, d.code) == (6, 16, "yaml-syntax")
    assert d.message.startswith(f"the threshold {value} must be quoted")
    assert d.hint == f'quote the threshold: "{value}"'
    assert "chomping" not in d.message


def test_other_block_scalar_errors_keep_the_parsers_words() -> None:
    (d,) = validate_text("name: >x\n", "spec.yaml").diagnostics
    assert d.code == "yaml-syntax" and "quoted" not in d.message
