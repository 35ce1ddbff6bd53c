"""The drift statistics agree with Evidently's on the same data (relative tolerance 1e-9).

Evidently (a test-only dependency, pinned in the `test` extra and constraints.txt) is called
through its stattest registry on pandas Series; ours on the same values. Under CI=true
Evidently must be installed; elsewhere the cross-check says why it skips.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from mlspec.monitor import stats

TOL = 1e-9

if os.environ.get("CI") == "true":
    import evidently  # noqa: F401
else:
    pytest.importorskip(
        "evidently", reason="Evidently (the cross-check's baseline) is not installed"
    )

import pandas as pd  # noqa: E402
from evidently.legacy.calculations.stattests import (  # noqa: E402
    chi_stat_test,
    jensenshannon_stat_test,
    ks_stat_test,
    psi_stat_test,
    wasserstein_stat_test,
)
from evidently.legacy.calculations.stattests.registry import get_stattest  # noqa: E402
from evidently.legacy.core import ColumnType  # noqa: E402

EVIDENTLY = {
    "ks": ks_stat_test,
    "chi_square": chi_stat_test,
    "psi": psi_stat_test,
    "wasserstein": wasserstein_stat_test,
    "jensen_shannon": jensenshannon_stat_test,
}
AUTO_NAMES = {
    "ks": "ks",
    "chisquare": "chi_square",
    "wasserstein": "wasserstein",
    "jensenshannon": "jensen_shannon",
}
RNG = np.random.default_rng(42)


def _numeric(n_ref: int, n_cur: int, shift: float, distinct: int | None = None):
    ref = RNG.normal(size=n_ref)
    cur = RNG.normal(shift, 1.2, size=n_cur)
    if distinct is not None:
        ref, cur = np.floor(np.abs(ref) * 2) % distinct, np.floor(np.abs(cur) * 2) % distinct
    return ref, cur


def _categorical(n_ref: int, n_cur: int, unseen: bool):
    cats = np.array(["a", "b", "c", "d", "e"])
    ref = RNG.choice(cats[:4], size=n_ref, p=[0.4, 0.3, 0.2, 0.1])
    cur = RNG.choice(cats if unseen else cats[:4], size=n_cur)
    return ref, cur


def _ours(kind: str, ref, cur) -> stats.Column:
    if kind == stats.NUMERIC:
        return stats.Column.numeric(ref, cur)
    count = lambda a: dict(zip(*np.unique(a, return_counts=True), strict=True))  # noqa: E731
    return stats.Column(kind, count(ref), count(cur))


NUMERIC_CASES = {
    "small-shifted": _numeric(400, 700, 0.3),
    "large-same": _numeric(5000, 3000, 0.0),
    "few-values": _numeric(3000, 2000, 0.5, distinct=4),
    "twenty-one-values": _numeric(3000, 2000, 0.2, distinct=21),
}
CATEGORICAL_CASES = {
    "known": _categorical(800, 900, unseen=False),
    "unseen": _categorical(5000, 4000, unseen=True),
}


# Chi-square on a continuous column is no test anyone runs: only on the few-valued ones.
NUMERIC_PAIRS = [
    (test, case)
    for case in sorted(NUMERIC_CASES)
    for test in ("ks", "chi_square", "psi", "wasserstein", "jensen_shannon")
    if test != "chi_square" or "values" in case
]


@pytest.mark.parametrize(("test", "case"), NUMERIC_PAIRS)
def test_numeric_statistics_match_evidently(case: str, test: str) -> None:
    ref, cur = NUMERIC_CASES[case]
    theirs = EVIDENTLY[test](pd.Series(ref), pd.Series(cur), ColumnType.Numerical, None)
    col = _ours(stats.NUMERIC, ref, cur)
    t = stats.TESTS[test]
    value = t.compute(col)
    assert value == pytest.approx(float(theirs.drift_score), rel=TOL, abs=1e-12)
    assert t.drifted(value, t.threshold) == bool(theirs.drifted)
    assert t.threshold == pytest.approx(theirs.actual_threshold)


@pytest.mark.parametrize("case", sorted(CATEGORICAL_CASES))
@pytest.mark.parametrize("test", ["chi_square", "psi", "jensen_shannon"])
def test_categorical_statistics_match_evidently(case: str, test: str) -> None:
    ref, cur = CATEGORICAL_CASES[case]
    theirs = EVIDENTLY[test](pd.Series(ref), pd.Series(cur), ColumnType.Categorical, None)
    t = stats.TESTS[test]
    value = t.compute(_ours(stats.CATEGORICAL, ref, cur))
    assert value == pytest.approx(float(theirs.drift_score), rel=TOL, abs=1e-12)
    assert t.drifted(value, t.threshold) == bool(theirs.drifted)


@pytest.mark.parametrize(
    ("kind", "ref", "cur"),
    [
        (stats.NUMERIC, *NUMERIC_CASES["small-shifted"]),
        (stats.NUMERIC, *NUMERIC_CASES["large-same"]),
        (stats.NUMERIC, *_numeric(3000, 2000, 0.5, distinct=3)),
        (stats.CATEGORICAL, *CATEGORICAL_CASES["known"]),
        (stats.CATEGORICAL, *CATEGORICAL_CASES["unseen"]),
    ],
)
def test_auto_picks_what_evidently_picks(kind: str, ref, cur) -> None:
    their_type = ColumnType.Numerical if kind == stats.NUMERIC else ColumnType.Categorical
    theirs = get_stattest(pd.Series(ref), pd.Series(cur), their_type, None)
    ours = stats.auto(_ours(kind, ref, cur), len(ref))
    assert ours.name == AUTO_NAMES[theirs.name]
