"""The `split` step: assign every row to train (0), valid (1) or test (2).

Params: `SplitParams` (`mlspec/steps/params.py`).

Input ``data``. Output ``data``: one UInt8 column ``split``, row-aligned with the input.
Deterministic for a given input and seed: every draw is polars' seeded shuffle or sample,
each with its own 64-bit seed derived from the spec's and what is drawn (`_seed`). No Python loop runs over rows,
and numpy is not loaded: a run of data steps does not pay its import (~70 ms).

Counts: ``round(fraction * n)`` (half to even) for test and valid; a split with a positive
fraction gets at least one row and train keeps at least one, else StepError.

- random: a permutation of the rows; its first rows are test, the next valid.
- stratified: classes of ``by`` (sorted, nulls a class of their own, last). Each class gives
  floor(fraction * size) rows to a split, and the rows still needed to reach the overall
  count go to the classes with the largest remainders (ties: a seeded random order of the
  classes, so a `by` of many one-row classes is not split by value), so every class
  is within one row of its exact share and the totals equal the random method's. Which
  rows: a seeded random sample of each class (up to 64 classes), else each class's first
  rows in one random order of all rows (`_stratified`).
- time: rows ordered by ``by`` (ties by row index, nulls first with a warning); the latest
  rows are test, the ones before them valid.
- group: the sorted distinct values of ``by`` (nulls one group) are shuffled; whole groups
  go to test while that brings its row count nearer to ``round(test * n)`` (at least one
  group), then to valid the same way; the rest is train. The fractions reached are in the
  report, and a part more than 5 points off its fraction is a warning.
- column: the rows' values of ``by`` name their split (``train``, ``valid`` or
  ``validation``, ``test`` in any case, or 0, 1, 2); `test` and `valid` are not used. Any
  other value, or a null, is a StepError listing the distinct values with their counts.

Metrics ``rows.train``, ``rows.valid``, ``rows.test``; ``report.json`` holds the counts and
fractions, per-class counts (stratified) and group counts (group).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import polars as pl

from mlspec.contract.api import StepContext, StepError
from mlspec.frames import TEXT, base, collect, describe_dtype, label, require_columns
from mlspec.steps.params import SplitParams

TRAIN, VALID, TEST = 0, 1, 2
NAMES = {TRAIN: "train", VALID: "valid", TEST: "test"}
METHODS = ("random", "stratified", "time", "group", "column")
_NEEDS_BY = frozenset({"stratified", "time", "group", "column"})
# method: column. A row's split is named by its value of `by`: text (any case) or Ludwig's
# `fixed` codes 0, 1, 2.
COLUMN_NAMES = {"train": TRAIN, "valid": VALID, "validation": VALID, "test": TEST}
COLUMN_CODES = {TRAIN: TRAIN, VALID: VALID, TEST: TEST}
FRACTION_TOLERANCE = 0.05  # group split: warn when a part misses its fraction by more
_NESTED = frozenset({pl.List, pl.Array, pl.Struct, pl.Object})
_SAMPLED_CLASSES = 64  # stratified: up to this many classes, a seeded sample per class


def _counts(n: int, test: float, valid: float | None, where: str | None) -> tuple[int, int]:
    """Rows for test and valid: round half to even, at least 1 each, train keeps >= 1."""
    parts = 2 + (valid is not None)
    if n < parts:
        raise StepError(
            f"Too few rows to split: {n} row(s) cannot fill {parts} splits (train, "
            f"{'valid, ' if valid is not None else ''}test).",
            where=where,
            hint="a split needs at least one row for each of its parts; add data",
        )
    n_test = max(1, round(test * n))
    n_valid = max(1, round(valid * n)) if valid is not None else 0
    while n - n_test - n_valid < 1:  # give back rows to train, from the larger held-out part
        if n_test >= n_valid and n_test > 1:
            n_test -= 1
        elif n_valid > 1:
            n_valid -= 1
        else:  # pragma: no cover - impossible once n >= parts
            break
    return n_test, n_valid


def _seed(seed: int, *draw: object) -> int:
    """The 64-bit seed of one draw (`draw` names it: "rows", or "class" and the class)."""
    text = "/".join(map(str, (seed, *draw)))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _rows(n: int) -> pl.Series:
    return pl.int_range(n, dtype=pl.get_index_type(), eager=True)


def _assign(n: int, test: pl.Series, valid: pl.Series) -> pl.Series:
    """The split column: `test` rows TEST, `valid` rows VALID, every other row TRAIN."""
    out = pl.repeat(TRAIN, n, dtype=pl.UInt8, eager=True).alias("split")
    return out.scatter(test, TEST).scatter(valid, VALID)


def _classes(frame: pl.DataFrame, by: str) -> tuple[list[Any], pl.Series]:
    """The distinct values of `by` in sorted order (nulls one value, last), and per value its
    row numbers, ascending (a List column; polars keeps row order within a group)."""
    col = frame.get_column(by)
    if base(col.dtype) in TEXT:
        col = col.cast(pl.String)  # sorted as text, not by category codes
    groups = (
        pl.DataFrame({"value": col})
        .with_row_index("row")
        .group_by("value")
        .agg("row")
        .sort("value", nulls_last=True)
    )
    return groups.get_column("value").to_list(), groups.get_column("row")


def _apportion(
    sizes: list[int], fraction: float, total: int, capacity: list[int], ties: list[int]
) -> list[int]:
    """Integers per class near fraction * size, summing to `total`, never above capacity.
    Equal remainders are served in the order `ties` ranks the classes: a seeded random
    order, not the sorted one, which would give the smallest values of a `by` with many
    small classes (a continuous column: one class per row) every extra row."""
    exact = [fraction * size for size in sizes]
    take = [min(math.floor(e), c) for e, c in zip(exact, capacity, strict=True)]
    need = total - sum(take)
    if need > 0:
        # Largest remainder first; ties in the seeded order.
        for i in sorted(range(len(sizes)), key=lambda i: (take[i] - exact[i], ties[i])):
            if need == 0:
                break
            if capacity[i] > take[i]:
                take[i] += 1
                need -= 1
        for i in range(len(sizes)):  # pragma: no cover - only when classes have no room left
            if need == 0:
                break
            add = min(need, capacity[i] - take[i])
            take[i] += add
            need -= add
    return take


def _random(n: int, n_test: int, n_valid: int, seed: int) -> pl.Series:
    perm = _rows(n).shuffle(seed=_seed(seed, "rows"))
    return _assign(n, perm[:n_test], perm[n_test : n_test + n_valid])


def _stratified(
    frame: pl.DataFrame,
    by: str,
    n_test: int,
    n_valid: int,
    valid: float | None,
    test: float,
    seed: int,
) -> tuple[pl.Series, dict[str, dict[str, int]]]:
    """The split and, per class (its label), its rows per split. Which rows, by the number
    of classes (a constant, so the same data and seed always take the same way):

    - up to `_SAMPLED_CLASSES`: per class, a random ordered sample of t + v of its rows,
      seeded by the spec's seed and the class's label; the first t go to test. A class's
      draw depends only on its own rows and counts, and a partial shuffle leaves the rows
      kept for train alone (1M rows, 2 classes: ~20 ms; 5M: ~75 ms).
    - more: all rows in one random order, and in it each class's first t rows go to test,
      its next v to valid, through one stable sort by class (a sample per class in a
      Python loop took 17 s for 100k classes; this, ~0.7 s).
    """
    values, rows = _classes(frame, by)
    sizes = rows.list.len().to_list()
    ties = pl.int_range(len(sizes), eager=True).shuffle(seed=_seed(seed, "ties")).to_list()
    t = _apportion(sizes, test, n_test, sizes, ties)
    v = (
        _apportion(
            sizes, valid or 0.0, n_valid, [s - k for s, k in zip(sizes, t, strict=True)], ties
        )
        if n_valid
        else [0] * len(sizes)
    )
    n = frame.height
    if len(sizes) <= _SAMPLED_CLASSES:
        tests, valids = [], []
        for value, members, k_test, k_valid in zip(values, rows, t, v, strict=True):
            if k_test + k_valid:
                picked = members.sample(
                    n=k_test + k_valid, shuffle=True, seed=_seed(seed, "class", label(value))
                )
                tests.append(picked[:k_test])
                valids.append(picked[k_test:])
        empty = pl.Series(dtype=rows.dtype.inner)  # type: ignore[union-attr]
        test_rows, valid_rows = pl.concat([empty, *tests]), pl.concat([empty, *valids])
    else:
        index = pl.get_index_type()
        order = _rows(n).shuffle(seed=_seed(seed, "rows"))
        codes = pl.repeat(0, n, dtype=index, eager=True).scatter(
            rows.explode(),
            pl.int_range(len(sizes), dtype=index, eager=True).repeat_by(rows.list.len()).explode(),
        )
        by_class = pl.DataFrame({"row": order, "code": codes.gather(order)}).sort(
            "code", maintain_order=True
        )
        code = by_class.get_column("code")
        start = pl.Series([0, *sizes[:-1]], dtype=pl.Int64).cum_sum()
        rank = pl.int_range(n, dtype=pl.Int64, eager=True) - start.gather(code)
        t_row, v_row = (
            pl.Series(t, dtype=pl.Int64).gather(code),
            pl.Series(v, dtype=pl.Int64).gather(code),
        )
        ranked = by_class.get_column("row")
        test_rows = ranked.filter(rank < t_row)
        valid_rows = ranked.filter((rank >= t_row) & (rank < t_row + v_row))
    report = {
        label(value): {
            name: c
            for name, c in (
                ("train", size - k_test - k_valid),
                ("valid", k_valid),
                ("test", k_test),
            )
            if name != "valid" or valid is not None
        }
        for value, size, k_test, k_valid in zip(values, sizes, t, v, strict=True)
    }
    return _assign(n, test_rows, valid_rows), report


def _time(frame: pl.DataFrame, by: str, n_test: int, n_valid: int) -> pl.Series:
    n = frame.height
    # Ties are broken by row index (an explicit second key: arg_sort has no stable option);
    # nulls (unknown time) come first, i.e. in train.
    row = pl.int_range(pl.len(), dtype=pl.get_index_type())
    order = frame.select(row.sort_by([pl.col(by), row], nulls_last=False)).to_series()
    return _assign(n, order[n - n_test :], order[n - n_test - n_valid : n - n_test])


def _group(
    frame: pl.DataFrame, by: str, n_test: int, n_valid: int, seed: int, where: str | None
) -> tuple[pl.Series, dict[str, int]]:
    _, rows = _classes(frame, by)
    groups = len(rows)
    parts = 2 + (n_valid > 0)
    if groups < parts:
        raise StepError(
            f"Too few groups to split: column '{by}' has {groups} distinct value(s), a group split needs at least {parts}.",
            where=where,
            hint="split by a column with more groups, or use method: random",
        )
    perm = _rows(groups).shuffle(seed=_seed(seed, "groups"))  # shuffled order of the sorted groups
    sizes = rows.list.len().gather(perm).cast(pl.Int64)
    cum = sizes.cum_sum()
    before = cum - sizes
    # A group goes in while its first half falls short of the count: the total lands
    # nearest to it (`before + size / 2` grows with each group, so the parts are prefixes).
    to_test = (before * 2 + sizes < n_test * 2) | (before == 0)
    k_test = int(to_test.sum())
    valid_before = before - (cum[k_test - 1] if k_test else 0)
    to_valid = ~to_test & ((valid_before * 2 + sizes < n_valid * 2) | (valid_before == 0))
    if not n_valid:
        to_valid = to_valid & False
    counts = {
        "train": groups - k_test - int(to_valid.sum()),
        "valid": int(to_valid.sum()),
        "test": k_test,
    }
    if counts["train"] == 0 or (n_valid and counts["valid"] == 0):
        raise StepError(
            f"The groups of '{by}' are too uneven to split: after test and valid took whole groups, "
            f"{'valid' if counts['train'] else 'train'} is empty ({groups} groups).",
            where=where,
            hint="lower the test/valid fractions, or split by a column with more, smaller groups",
        )
    members = rows.gather(perm)
    out = _assign(
        frame.height, members.filter(to_test).explode(), members.filter(to_valid).explode()
    )
    return out, counts


def _column(frame: pl.DataFrame, by: str, where: str | None) -> pl.Series:
    col = frame.get_column(by)
    if base(col.dtype) in TEXT:
        col, values = col.cast(pl.String).str.strip_chars().str.to_lowercase(), COLUMN_NAMES
    elif col.dtype.is_integer():
        values = COLUMN_CODES
    else:
        raise StepError(
            f"A column split needs a text or integer column. Got '{by}' of dtype {describe_dtype(col.dtype)} instead.",
            where=where,
            hint="values: train, valid (or validation), test, in any case; or 0, 1, 2",
        )
    codes = col.replace_strict(
        list(values), list(values.values()), default=None, return_dtype=pl.UInt8
    )
    bad = frame.get_column(by).filter(codes.is_null())
    if len(bad):
        counts = bad.to_frame("v").group_by("v").len().sort("len", "v", descending=[True, False])
        shown = ", ".join(f"{v!r} ({n} rows)" for v, n in counts.head(10).iter_rows())
        raise StepError(
            f"A column split needs every value of '{by}' to name a split. Got {shown} instead.",
            where=where,
            hint="values: train, valid (or validation), test, in any case; or 0, 1, 2",
        )
    if not (codes == TRAIN).any() or not (codes == TEST).any():
        raise StepError(
            f"A column split needs train and test rows. Column '{by}' names "
            + (", ".join(sorted({NAMES[int(c)] for c in codes.unique()})) or "none")
            + " only.",
            where=where,
        )
    return codes.alias("split")


def run(ctx: StepContext) -> None:
    p: SplitParams = ctx.params
    method, seed, by, where = p.method, int(p.seed), p.by, p.where
    test = float(p.test)
    valid = None if p.valid is None else float(p.valid)

    if method not in METHODS:
        raise StepError(
            f"Unknown split method '{method}'.",
            where=where,
            hint="expected one of: " + ", ".join(METHODS),
        )
    for what, value in (("test", test), ("valid", valid)):
        if value is not None and not 0 < value < 1:
            raise StepError(
                f"The {what} fraction must be in (0, 1). Got {value} instead.", where=where
            )
    if test + (valid or 0) >= 1:
        raise StepError(
            f"test + valid must leave rows for train. Got {test} + {valid} = {test + (valid or 0):g} instead.",
            where=where,
        )
    if method in _NEEDS_BY and not by:
        raise StepError(f"A {method} split needs `by`: the column to split by.", where=where)

    lf = ctx.input("data").scan()
    schema = lf.collect_schema()
    use_by = method in _NEEDS_BY
    if use_by:
        require_columns(schema, [by], what="the split's input table", where=where)
        if base(schema[by]) in _NESTED:
            raise StepError(
                f"Cannot split by column '{by}' of dtype {describe_dtype(schema[by])}.", where=where
            )
        frame = collect(lf.select(by), what=f"reading column '{by}'")
        n = frame.height
    else:
        frame = None
        n = int(collect(lf.select(pl.len()), what="counting rows").item())

    n_test, n_valid = (0, 0) if method == "column" else _counts(n, test, valid, where)
    report: dict[str, Any] = {
        "method": method,
        "seed": seed,
        "by": by if use_by else None,
        "rows": n,
    }

    if method == "random":
        out = _random(n, n_test, n_valid, seed)
    elif method == "stratified":
        assert frame is not None and by is not None
        out, report["classes"] = _stratified(frame, by, n_test, n_valid, valid, test, seed)
    elif method == "time":
        assert frame is not None and by is not None
        nulls = frame.get_column(by).null_count()
        if nulls:
            ctx.warn(
                f"{where + ': ' if where else ''}time split: {nulls} row(s) have no '{by}'; they go to train."
            )
        out = _time(frame, by, n_test, n_valid)
    elif method == "column":
        assert frame is not None and by is not None
        out = _column(frame, by, where)
    else:
        assert frame is not None and by is not None
        out, groups = _group(frame, by, n_test, n_valid, seed, where)
        report["groups"] = {k: v for k, v in groups.items() if k != "valid" or valid is not None}
        for part, wanted in (("test", test), ("valid", valid)):
            got = int((out == (TEST if part == "test" else VALID)).sum()) / n
            if wanted is not None and abs(got - wanted) > FRACTION_TOLERANCE:
                ctx.warn(
                    f"{where + ': ' if where else ''}group split: whole groups of '{by}' give "
                    f"{part} {got:.3f} of the rows, asked {wanted:g}."
                )

    counts = {s: int((out == s).sum()) for s in (TRAIN, VALID, TEST)}
    report["counts"] = {NAMES[s]: counts[s] for s in (TRAIN, VALID, TEST)}
    report["fractions"] = {NAMES[s]: counts[s] / n for s in (TRAIN, VALID, TEST)}
    ctx.output.write_frame(out.to_frame(), "data")
    ctx.output.write_json(report, "report.json")
    for s in (TRAIN, VALID, TEST):
        ctx.output.metric(f"rows.{NAMES[s]}", float(counts[s]))
