"""The drift statistics, defined as Evidently (0.7, ``legacy/calculations/stattests``) defines them.

Every test takes the reference and current values of one column with nulls, NaN and ±inf
already dropped (Evidently drops them too): numeric columns as float64 arrays, categorical
ones as `Counts` (category -> count). A test returns its statistic; `Test.drifted` says
whether that statistic, against a threshold, is drift:

- ``ks``: the two-sided two-sample Kolmogorov-Smirnov p-value (`scipy.stats.ks_2samp`);
  drift when ``p <= threshold`` (default 0.05). Numeric only.
- ``chi_square``: Pearson's chi-square p-value of the current counts against the reference
  frequencies scaled to the current count, over the union of the categories
  (`scipy.stats.chisquare`); drift when ``p < threshold`` (0.05).
- ``psi``: population stability index ``Σ (r - c) ln(r / c)`` over bins; drift when
  ``psi >= threshold`` (0.1).
- ``wasserstein``: the first Wasserstein distance divided by ``max(std(reference), 0.001)``
  (population std); drift when ``>= threshold`` (0.1). Numeric only.
- ``jensen_shannon``: the Jensen-Shannon *distance* (natural log; the square root of the
  divergence, as `scipy.spatial.distance.jensenshannon`) between the binned shares; drift
  when ``>= threshold`` (0.1).

Bins for psi and jensen_shannon (`binned`): a numeric column with more than 20 distinct
reference values gets numpy's Sturges edges over reference and current together
(``histogram_bin_edges(concat, "sturges")``); any other column is binned by value over the
union of the categories. Shares are counts over each side's length. psi (only) replaces a
zero share by ``min(nonzero shares) / 1e6`` when that minimum is <= 0.0001, else by 0.0001.

`auto` picks as Evidently's default does: with <= 1,000 reference rows, KS for a numeric
column with more than 5 distinct values (reference and current together), chi-square
otherwise; with more, normed Wasserstein for such a numeric column, Jensen-Shannon
otherwise. (Evidently uses a proportion z-test where that count is <= 2 on small data; we
use chi-square there, which tests the same 2x1 table.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

NUMERIC, CATEGORICAL = "numeric", "categorical"
SMALL_REFERENCE = 1_000  # auto: at most this many reference rows -> p-value tests
FEW_VALUES = 5  # auto: a numeric column with at most this many distinct values is binned
BIN_BY_VALUE = (
    20  # psi/js: a numeric column with at most this many distinct values is binned by value
)

Counts = dict[Any, int]


@dataclass(frozen=True)
class Column:
    """One column's reference and current values (nulls dropped). Numeric values are kept
    sorted (`numeric` sorts them): every numeric statistic here sorts anyway, once."""

    kind: str  # NUMERIC (sorted float64 arrays) or CATEGORICAL (Counts)
    reference: Any
    current: Any

    @classmethod
    def numeric(cls, reference: Any, current: Any) -> Column:
        return cls(
            NUMERIC,
            np.sort(np.asarray(reference, dtype=np.float64)),
            np.sort(np.asarray(current, dtype=np.float64)),
        )

    @property
    def sizes(self) -> tuple[int, int]:
        if self.kind == NUMERIC:
            return len(self.reference), len(self.current)
        return sum(self.reference.values()), sum(self.current.values())

    @cached_property
    def merged(self) -> tuple[np.ndarray, np.ndarray]:
        """Reference and current values together, sorted (a stable merge of the two sorted
        runs), and for each whether it came from the reference."""
        both = np.concatenate([self.reference, self.current])
        order = np.argsort(both, kind="stable")
        return both[order], order < len(self.reference)

    def distinct(self) -> int:
        """Distinct values over reference and current together."""
        if self.kind == NUMERIC:
            both = self.merged[0]
            return int(np.count_nonzero(np.diff(both))) + 1 if len(both) else 0
        return len(set(self.reference) | set(self.current))

    def reference_distinct(self) -> int:
        if self.kind == NUMERIC:
            r = self.reference
            return int(np.count_nonzero(np.diff(r))) + 1 if len(r) else 0
        return len(self.reference)


@dataclass(frozen=True)
class Test:
    name: str
    label: str  # what the statistic is, for tables and the report
    kinds: frozenset[str]
    threshold: float  # the default
    compute: Callable[[Column], float]
    drifted: Callable[[float, float], bool]  # (statistic, threshold)
    p_value: bool  # True: small is drift


def _counts_by_value(col: Column) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current counts over the union of values (sorted for numbers)."""
    if col.kind == NUMERIC:
        keys = np.union1d(col.reference, col.current)
        ref = np.bincount(np.searchsorted(keys, col.reference), minlength=len(keys))
        cur = np.bincount(np.searchsorted(keys, col.current), minlength=len(keys))
        return ref.astype(np.float64), cur.astype(np.float64)
    keys = sorted(set(col.reference) | set(col.current), key=str)
    ref = np.array([col.reference.get(k, 0) for k in keys], dtype=np.float64)
    cur = np.array([col.current.get(k, 0) for k in keys], dtype=np.float64)
    return ref, cur


def binned(col: Column, fill_zeroes: bool) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current shares per bin (see the module doc)."""
    n_ref, n_cur = col.sizes
    if col.kind == NUMERIC and col.reference_distinct() > BIN_BY_VALUE:
        edges = np.histogram_bin_edges(np.concatenate([col.reference, col.current]), "sturges")
        ref = np.histogram(col.reference, edges)[0] / n_ref
        cur = np.histogram(col.current, edges)[0] / n_cur
    else:
        ref_counts, cur_counts = _counts_by_value(col)
        ref, cur = ref_counts / n_ref, cur_counts / n_cur
    if fill_zeroes:
        for shares in (ref, cur):
            low = shares[shares != 0].min()
            shares[shares == 0] = low / 10**6 if low <= 0.0001 else 0.0001
    return ref, cur


def ks(col: Column) -> float:
    from scipy.stats import ks_2samp

    return float(ks_2samp(col.reference, col.current).pvalue)


def chi_square(col: Column) -> float:
    from scipy.stats import chisquare

    n_ref, n_cur = col.sizes
    ref, cur = _counts_by_value(col)
    with np.errstate(divide="ignore"):  # a category unseen in the reference: p = 0, as Evidently
        return float(chisquare(cur, ref * (n_cur / n_ref)).pvalue)


def psi(col: Column) -> float:
    ref, cur = binned(col, fill_zeroes=True)
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def wasserstein_distance(col: Column) -> float:
    """W1 = ∫ |F_ref - F_cur|, summed between consecutive values of both samples as
    `scipy.stats.wasserstein_distance` sums it, from the one stable merge: the running
    count of reference values at position i is F_ref's count at that value wherever the
    next value differs, and everywhere else the gap to the next value is 0."""
    merged, from_ref = col.merged
    n_ref, n_cur = col.sizes
    ref_counts = np.cumsum(from_ref)[:-1]
    cur_counts = np.arange(1, len(merged)) - ref_counts
    gaps = np.diff(merged)
    return float(np.sum(np.abs(ref_counts / n_ref - cur_counts / n_cur) * gaps))


def wasserstein(col: Column) -> float:
    norm = max(float(np.std(col.reference)), 0.001)
    return wasserstein_distance(col) / norm


def _rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """scipy.special.rel_entr: x ln(x/y) where both are > 0, 0 where x == 0."""
    out = np.zeros_like(x)
    both = (x > 0) & (y > 0)
    out[both] = x[both] * np.log(x[both] / y[both])
    out[(x > 0) & ~both] = np.inf
    return out


def jensen_shannon(col: Column) -> float:
    """`scipy.spatial.distance.jensenshannon(ref, cur)` in numpy: both normalised to sum 1,
    m their mean, sqrt((Σ rel_entr(ref, m) + Σ rel_entr(cur, m)) / 2). scipy.spatial costs
    0.3-0.5 s to import, more than the tests of 20 columns."""
    ref, cur = binned(col, fill_zeroes=False)
    ref, cur = ref / ref.sum(), cur / cur.sum()
    m = (ref + cur) / 2.0
    return float(np.sqrt((np.sum(_rel_entr(ref, m)) + np.sum(_rel_entr(cur, m))) / 2.0))


def _below(value: float, threshold: float) -> bool:
    return value < threshold


def _at_or_below(value: float, threshold: float) -> bool:
    return value <= threshold


def _at_or_above(value: float, threshold: float) -> bool:
    return value >= threshold


BOTH = frozenset({NUMERIC, CATEGORICAL})
TESTS: dict[str, Test] = {
    t.name: t
    for t in (
        Test("ks", "K-S p-value", frozenset({NUMERIC}), 0.05, ks, _at_or_below, True),
        Test("chi_square", "chi-square p-value", BOTH, 0.05, chi_square, _below, True),
        Test("psi", "PSI", BOTH, 0.1, psi, _at_or_above, False),
        Test(
            "wasserstein",
            "Wasserstein distance (normed)",
            frozenset({NUMERIC}),
            0.1,
            wasserstein,
            _at_or_above,
            False,
        ),
        Test(
            "jensen_shannon",
            "Jensen-Shannon distance",
            BOTH,
            0.1,
            jensen_shannon,
            _at_or_above,
            False,
        ),
    )
}
AUTO = "auto"
NAMES = (AUTO, *TESTS)


def auto(col: Column, reference_rows: int) -> Test:
    """Evidently's default test for a column (see the module doc). `reference_rows` is the
    reference's size before any sampling, as Evidently would see it."""
    few = col.kind == CATEGORICAL or col.distinct() <= FEW_VALUES
    if reference_rows <= SMALL_REFERENCE:
        return TESTS["chi_square" if few else "ks"]
    return TESTS["jensen_shannon" if few else "wasserstein"]


def choose(name: str, col: Column, reference_rows: int) -> Test:
    return auto(col, reference_rows) if name == AUTO else TESTS[name]
