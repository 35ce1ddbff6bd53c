"""The one metric table: how each metric is computed, which way is better, which tasks fit.

`mlspec/lang/metrics_table.py` is the static copy that `validate` reads without numpy; a
test keeps names, tasks and directions of the two equal.

Every metric is computed from *weighted sums over rows*, with one weight row per bootstrap
resample (the number of times each row was drawn). So the point estimate (weights all 1)
and the resamples share one implementation, and the resamples are one matrix product (and,
for ROC and PR AUC, running sums of the positives' and the negatives' weights over rows
sorted once by score) instead of a call into scikit-learn each. 200 resamples of 200k rows
(real XGBoost scores, one thread) take about 0.5 s for the cheap metrics (drawing the
resamples is most of it), 0.9 s for ROC AUC (0.8 s when the next resamples are drawn in a
second thread) and 2 s for all six binary metrics (2.3 s and 2.4 s when ROC and PR AUC
summed every row and grouped ties with reduceat). Point estimates and every single
resample agree with scikit-learn (tests check both), and results do not depend on the
number of BLAS threads (a test checks it).

A metric undefined on the data (ROC AUC with one class, MAPE with a zero target) is not an
error: `compute` returns ``Value(None, reason)`` and the report shows the reason.

Conventions: for classifiers ``y_true`` and ``label`` are class *indices* into ``classes``
(use `encode`); for binary tasks the positive class is ``classes[-1]`` (index 1) and
``score`` is P(positive). ``proba`` is ``(n, len(classes))`` for multiclass. For regression
``y_true`` and ``score`` are numbers and ``label``/``proba`` are unused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

TASKS = ("binary", "multiclass", "regression")

# Bootstrap resamples are generated in chunks of at most this many weights (memory bound).
_CHUNK_CELLS = 2_000_000


class Undefined(ValueError):
    """The metric has no value on these rows; `reason` says why (shown in reports)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Value:
    """A metric's value, or None and the reason it is undefined."""

    value: float | None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return (
            {"value": self.value} if self.reason is None else {"value": None, "reason": self.reason}
        )


# ----------------------------------------------------------------------------- rows


@dataclass(eq=False)
class Rows:
    """The evaluated rows, prepared once and shared by every metric and every resample."""

    task: str
    y: np.ndarray  # class index (int64) or target value (float64)
    score: np.ndarray  # float64
    label: np.ndarray | None = None  # class index (int64)
    proba: np.ndarray | None = None  # (n, K) float64
    classes: tuple[Any, ...] = ()
    what: str = "the test split"  # how reasons name these rows
    by_score: bool = (
        False  # rows are sorted by descending score (the bootstrap's order for rank metrics)
    )
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def make(
        cls,
        task: str,
        y_true: Any,
        score: Any,
        label: Any = None,
        proba: Any = None,
        classes: Sequence[Any] = (),
        what: str = "the test split",
    ) -> Rows:
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}. Got {task!r} instead.")
        score = np.asarray(score, dtype=np.float64).ravel()
        if task == "regression":
            y = np.asarray(y_true, dtype=np.float64).ravel()
        else:
            y = np.asarray(y_true).ravel().astype(np.int64)
        if y.shape != score.shape:
            raise ValueError(
                f"y_true and score must have the same length. Got {len(y)} and {len(score)} instead."
            )
        lab = None if label is None else np.asarray(label).ravel().astype(np.int64)
        pr = None if proba is None else np.asarray(proba, dtype=np.float64).reshape(len(y), -1)
        if task == "binary" and not classes:
            classes = (0, 1)
        return cls(task, y, score, lab, pr, tuple(classes), what)

    @property
    def n(self) -> int:
        return len(self.y)

    def take(self, index: np.ndarray, what: str | None = None, by_score: bool = False) -> Rows:
        """These rows at `index` (a mask or positions): a slice, or a reordering."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]

        return Rows(
            self.task,
            self.y[index],
            self.score[index],
            pick(self.label),
            pick(self.proba),
            self.classes,
            what or self.what,
            by_score,
        )

    def for_bootstrap(self, names: Sequence[str]) -> Rows:
        """The same rows, sorted by descending score when a rank metric is among `names`, so
        that resamples need no reordering (a bootstrap does not depend on the rows' order)."""
        if self.by_score or not any(n in RANKED for n in names):
            return self
        return self.take(np.argsort(-self.score, kind="stable"), by_score=True)

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def quantity(self, name: str) -> np.ndarray:
        """A per-row number that metrics sum (see QUANTITIES); ValueError if an input is missing."""
        return self.cached(f"q_{name}", lambda: QUANTITIES[self.task][name](self))

    def need_label(self) -> np.ndarray:
        if self.label is None:
            raise ValueError("this metric needs predicted labels; pass label=")
        return self.label

    def need_proba(self) -> np.ndarray:
        if self.proba is None:
            raise ValueError("this metric needs class probabilities; pass proba=")
        return self.proba


def _eps_log(p: np.ndarray) -> np.ndarray:
    """-log(p) with p clipped to [eps, 1 - eps], as scikit-learn's log_loss does."""
    eps = np.finfo(np.float64).eps
    return -np.log(np.clip(p, eps, 1 - eps))


def _pos(r: Rows) -> np.ndarray:
    return (r.y == 1).astype(np.float64)


def _pred_pos(r: Rows) -> np.ndarray:
    return (r.need_label() == 1).astype(np.float64)


def _centred(r: Rows) -> np.ndarray:
    # Centre y first: Σw(y-ȳ)² = Σw·y'² - (Σw·y')²/Σw is then free of cancellation.
    return r.y - (r.y.mean() if r.n else 0.0)


def _ape(r: Rows) -> np.ndarray:
    out = np.full(r.n, np.nan)
    np.divide(np.abs(r.y - r.score), np.abs(r.y), out=out, where=r.y != 0)
    return out


# Per-row quantities whose (weighted) sums the metrics are made of, per task.
QUANTITIES: dict[str, dict[str, Callable[[Rows], np.ndarray]]] = {
    "binary": {
        "pos": _pos,
        "pred_pos": _pred_pos,
        "tp": lambda r: _pos(r) * _pred_pos(r),
        "correct": lambda r: (r.need_label() == r.y).astype(np.float64),
        "loss": lambda r: np.where(r.y == 1, _eps_log(r.score), _eps_log(1 - r.score)),
        "sq": lambda r: (r.score - _pos(r)) ** 2,
    },
    "multiclass": {
        "correct": lambda r: (r.need_label() == r.y).astype(np.float64),
        "loss": lambda r: _eps_log(r.need_proba()[np.arange(r.n), r.y]),
    },
    "regression": {
        "sq_err": lambda r: (r.y - r.score) ** 2,
        "abs_err": lambda r: np.abs(r.y - r.score),
        "ape": _ape,
        "yc": _centred,
        "yc2": lambda r: _centred(r) ** 2,
    },
}


def _one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread.

    OpenBLAS splits a matrix product differently for each thread count, and so sums in a
    different order: on an AMD EPYC (Haswell kernel) `w @ Q` for 30 resamples of 20k rows
    differed in the last bit between 1 and 2 threads. Metrics must not depend on where a
    step runs; one thread costs 6 ms more per 50 resamples of 200k rows.
    """
    return _blas().limit(limits=1, user_api="blas")


@cache
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class Sample:
    """Weights over the rows: all ones (the point estimate) or b bootstrap resamples.

    `w` is (b, n): how many times each row was drawn. Every sum a metric needs is one
    matrix product `w @ Q` over the per-row quantities `Q`, computed once per sample for
    all metrics; rank metrics use running sums of the positives' and the negatives'
    weights in score order (`by_class`).
    """

    def __init__(
        self, rows: Rows, w: np.ndarray | None = None, quantities: Sequence[str] = ()
    ) -> None:
        self.rows = rows
        self.w = np.ones((1, rows.n)) if w is None else w
        self._wanted = list(dict.fromkeys(quantities))
        self._sums: dict[str, np.ndarray] = {}
        self._cache: dict[str, Any] = {}

    @property
    def total(self) -> np.ndarray:
        if "total" not in self._cache:
            self._cache["total"] = self.w.sum(axis=1)
        return self._cache["total"]

    def sum(self, name: str) -> np.ndarray:
        """Σ_i w[b, i] · quantity[i] for every resample b."""
        if name not in self._sums:
            names = [q for q in self._wanted if q not in self._sums]
            if name not in names:
                names.append(name)
            key = "matrix_" + " ".join(names)
            q = self.rows.cached(
                key, lambda: np.column_stack([self.rows.quantity(q) for q in names])
            )
            with _one_blas_thread():
                sums = self.w @ q
            self._sums.update({q: sums[:, j] for j, q in enumerate(names)})
        return self._sums[name]

    def mean(self, name: str) -> np.ndarray:
        return _ratio(self.sum(name), self.total)

    def by_class(self) -> tuple[np.ndarray, np.ndarray, RankIndex]:
        """For the rank metrics: running sums of the positives' weights in descending score
        order, with a leading 0 (b, P + 1), the negatives' weights (b, N), and the rows'
        `RankIndex`.

        Only the positives are summed and only the negatives gathered, with np.take (which
        keeps C order): ROC AUC then costs ~16 ms per 10 x 200k chunk, against ~80 ms when
        every row was summed and tied scores were grouped with np.add.reduceat.
        """
        if "by_class" not in self._cache:
            index = _rank_index(self.rows)
            running = np.zeros((self.w.shape[0], len(index.positives) + 1))
            np.cumsum(np.take(self.w, index.positives, axis=1), axis=1, out=running[:, 1:])
            self._cache["by_class"] = (running, np.take(self.w, index.negatives, axis=1), index)
        return self._cache["by_class"]

    def negatives_running(self) -> np.ndarray:
        """Running sums of the negatives' weights in descending score order, leading 0 (b, N + 1)."""
        if "negatives_running" not in self._cache:
            _, wn, _ = self.by_class()
            running = np.zeros((wn.shape[0], wn.shape[1] + 1))
            np.cumsum(wn, axis=1, out=running[:, 1:])
            self._cache["negatives_running"] = running
        return self._cache["negatives_running"]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


# ----------------------------------------------------------------------------- binary


def _score_groups(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    """Row order by descending score and where each run of tied scores starts (one threshold)."""

    def make() -> tuple[np.ndarray, np.ndarray]:
        order = np.arange(rows.n) if rows.by_score else np.argsort(-rows.score, kind="stable")
        s = rows.score[order]
        starts = (
            np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
            if rows.n
            else np.zeros(0, np.int64)
        )
        return order, starts

    return rows.cached("groups", make)


@dataclass(frozen=True)
class RankIndex:
    """Where the positives and negatives of some rows stand in descending score order.

    ``positives``/``negatives``: their row positions, highest score first. Per negative,
    ``above``: how many positives score higher; ``level``: how many score higher or equal
    (``level - above`` positives are tied with it); ``tied``: the negatives with such ties.
    Per group of tied scores holding a positive (a threshold where recall grows), in score
    order: ``hit_groups`` its index among all ``groups`` score groups, ``hit_above`` and
    ``hit_level`` the positives before it and through it, ``hit_negatives`` the negatives
    through it.
    """

    positives: np.ndarray
    negatives: np.ndarray
    above: np.ndarray
    level: np.ndarray
    tied: np.ndarray
    groups: int
    hit_groups: np.ndarray
    hit_above: np.ndarray
    hit_level: np.ndarray
    hit_negatives: np.ndarray


def _rank_index(rows: Rows) -> RankIndex:
    def make() -> RankIndex:
        order, starts = _score_groups(rows)
        positive = rows.y[order] == 1
        first = np.zeros(rows.n, dtype=np.int64)
        first[starts] = 1
        group = np.cumsum(first) - 1  # the score group of each row in sorted order
        ends = np.append(starts[1:], rows.n)
        before = np.concatenate(([0], np.cumsum(positive)))  # positives among the first k rows
        g = group[~positive]
        above, level = before[starts[g]], before[ends[g]]
        hit = np.unique(group[positive])
        return RankIndex(
            order[positive],
            order[~positive],
            above,
            level,
            np.flatnonzero(level > above),
            len(starts),
            hit,
            before[starts[hit]],
            before[ends[hit]],
            ends[hit] - before[ends[hit]],
        )

    return rows.cached("rank_index", make)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of two (b, m) arrays."""
    return np.einsum("ij,ij->i", a, b)


def roc_auc(s: Sample) -> np.ndarray:
    """Mann-Whitney: P(score of a positive > score of a negative), ties counting one half.

    Each negative counts the weight of the positives scored above it, and half of those
    tied with it: Σ wn·(CP[above] + (CP[level] - CP[above])/2) / (P·N), with CP the running
    sum of the positives' weights. The weights are counts, so every sum is an exact integer
    (or half one) and the value is the same, bit for bit, as summing over score groups.
    """
    if _rank_index(s.rows).groups == 1:
        # One score for every row (a constant model such as the baseline): every pair is
        # tied and counts one half. The same value, bit for bit, as the sums below (exact
        # integers), without gathering and summing every drawn row (~0.25 s for 200 x 200k).
        with _one_blas_thread():  # its own product: `Sample.sum`'s columns shape other sums' bits
            positives = s.w @ s.rows.quantity("pos")  # counts: an exact integer in any order
        pairs = positives * (s.total - positives)
        return _ratio(0.5 * pairs, pairs)
    running, wn, index = s.by_class()
    num = _dot(wn, np.take(running, index.above, axis=1))
    if len(index.tied):
        t = index.tied
        ties = np.take(running, index.level[t], axis=1) - np.take(running, index.above[t], axis=1)
        num += 0.5 * _dot(np.take(wn, t, axis=1), ties)
    return _ratio(num, running[:, -1] * wn.sum(axis=1))


def pr_auc(s: Sample) -> np.ndarray:
    """Average precision: Σ over thresholds of (recall gained) × precision (sklearn's definition).

    Only thresholds where a positive row sits can gain recall. There, the positives' weight
    gained and the precision come from the running sums of `Sample.by_class`; the other
    thresholds hold exact zeros, so the row-wise sum adds the same numbers in the same order
    as a sum over every threshold (bit for bit: the weights are counts).
    """
    running, _, index = s.by_class()
    b = running.shape[0]
    tp = np.take(running, index.hit_level, axis=1)
    gained = tp - np.take(running, index.hit_above, axis=1)
    drawn = tp + np.take(s.negatives_running(), index.hit_negatives, axis=1)
    gain, precision = np.zeros((b, index.groups)), np.zeros((b, index.groups))
    gain[:, index.hit_groups] = gained
    precision[:, index.hit_groups] = tp / np.maximum(drawn, 1e-300)  # nothing drawn yet: tp = 0 too
    return _ratio(_dot(gain, precision), running[:, -1])


def log_loss(s: Sample) -> np.ndarray:
    return s.mean("loss")


def accuracy(s: Sample) -> np.ndarray:
    return s.mean("correct")


def precision(s: Sample) -> np.ndarray:
    return _ratio(s.sum("tp"), s.sum("pred_pos"))


def recall(s: Sample) -> np.ndarray:
    return _ratio(s.sum("tp"), s.sum("pos"))


def f1(s: Sample) -> np.ndarray:
    return _ratio(2 * s.sum("tp"), s.sum("pred_pos") + s.sum("pos"))


def brier(s: Sample) -> np.ndarray:
    return s.mean("sq")


# ----------------------------------------------------------------------------- multiclass


def macro_f1(s: Sample) -> np.ndarray:
    """F1 per class averaged over the classes present in y_true or the labels (sklearn's)."""
    rows = s.rows
    k = max(
        len(rows.classes),
        int(rows.y.max(initial=-1)) + 1,
        int(rows.need_label().max(initial=-1)) + 1,
    )
    cell = rows.y * k + rows.need_label()  # confusion-matrix cell of each row
    b = s.w.shape[0]
    keys = (cell[None, :] + (np.arange(b) * k * k)[:, None]).ravel()
    cm = np.bincount(keys, weights=s.w.ravel(), minlength=b * k * k).reshape(b, k, k)
    tp = np.diagonal(cm, axis1=1, axis2=2)
    fp = cm.sum(axis=1) - tp  # predicted as the class, another truth
    fn = cm.sum(axis=2) - tp
    den = 2 * tp + fp + fn
    per_class = _ratio(2 * tp, den)
    present = den > 0
    return _ratio(
        np.where(present, per_class, 0.0).sum(axis=1), present.sum(axis=1).astype(np.float64)
    )


# ----------------------------------------------------------------------------- regression


def rmse(s: Sample) -> np.ndarray:
    return np.sqrt(s.mean("sq_err"))


def mae(s: Sample) -> np.ndarray:
    return s.mean("abs_err")


def r2(s: Sample) -> np.ndarray:
    yc2 = s.sum("yc2")
    sst = yc2 - _ratio(s.sum("yc") ** 2, s.total)
    out = 1 - _ratio(s.sum("sq_err"), sst)
    return np.where(sst > 1e-12 * yc2, out, np.nan)  # a constant target (in this resample)


def mape(s: Sample) -> np.ndarray:
    return s.mean("ape")


RANKED = frozenset({"roc_auc", "pr_auc"})  # metrics of the score's order (sorted rows help)


# ----------------------------------------------------------------------------- reasons


def _one_class(rows: Rows) -> str | None:
    present = np.unique(rows.y)
    if len(present) >= 2:
        return None
    only = int(present[0])
    named = f" ({rows.classes[only]!r})" if only < len(rows.classes) else ""
    return f"only one class{named} in {rows.what}"


def _no_positives(rows: Rows) -> str | None:
    return None if (rows.y == 1).any() else f"no positive rows in {rows.what}"


def _no_predicted(rows: Rows) -> str | None:
    return (
        None
        if (rows.need_label() == 1).any()
        else f"the model predicts no positive row in {rows.what}"
    )


def _no_f1(rows: Rows) -> str | None:
    if (rows.y == 1).any() or (rows.need_label() == 1).any():
        return None
    return f"no positive rows in {rows.what} and none predicted"


def _constant_target(rows: Rows) -> str | None:
    return f"the target is constant in {rows.what}" if np.ptp(rows.y) == 0 else None


def _zero_target(rows: Rows) -> str | None:
    zeros = int((rows.y == 0).sum())
    return (
        f"the target is 0 in {zeros} row(s) of {rows.what}; MAPE divides by it" if zeros else None
    )


# ----------------------------------------------------------------------------- the table

Batch = Callable[[Sample], np.ndarray]
Reason = Callable[[Rows], "str | None"]


def _always(rows: Rows) -> str | None:
    return None


@dataclass(frozen=True)
class Metric:
    name: str
    batch: Batch  # Sample -> (b,) values; NaN where a resample has no value
    higher_is_better: bool
    tasks: frozenset[str]
    needs: tuple[str, ...] = ()  # QUANTITIES it sums (summed together for all metrics)
    undefined: Reason = _always  # why these rows have no value, or None

    def __call__(
        self,
        y_true: Any,
        score: Any,
        label: Any = None,
        proba: Any = None,
        classes: Sequence[Any] = (),
    ) -> float:
        """The metric on arrays; raises `Undefined` where `compute` returns a reason."""
        v = compute(self.name, y_true, score, label, proba, classes)
        if v.value is None:
            raise Undefined(v.reason or "undefined")
        return v.value


def _m(
    name: str, batch: Batch, higher: bool, tasks: str, needs: str = "", undefined: Reason = _always
) -> Metric:
    return Metric(name, batch, higher, frozenset(tasks.split()), tuple(needs.split()), undefined)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        _m("roc_auc", roc_auc, True, "binary", undefined=_one_class),
        _m("pr_auc", pr_auc, True, "binary", undefined=_no_positives),
        _m("log_loss", log_loss, False, "binary multiclass", "loss"),
        _m("accuracy", accuracy, True, "binary multiclass", "correct"),
        _m("f1", f1, True, "binary", "tp pred_pos pos", _no_f1),
        _m("precision", precision, True, "binary", "tp pred_pos", _no_predicted),
        _m("recall", recall, True, "binary", "tp pos", _no_positives),
        _m("brier", brier, False, "binary", "sq"),
        _m("macro_f1", macro_f1, True, "multiclass"),
        _m("rmse", rmse, False, "regression", "sq_err"),
        _m("mae", mae, False, "regression", "abs_err"),
        _m("r2", r2, True, "regression", "sq_err yc yc2", _constant_target),
        _m("mape", mape, False, "regression", "ape", _zero_target),
    )
}

# Fairness differences across protected groups (fairlearn's definitions; binary tasks;
# smaller is fairer): name -> (higher_is_better, tasks). Computed by `fairness`.
FAIRNESS: dict[str, tuple[bool, frozenset[str]]] = {
    "demographic_parity_difference": (False, frozenset({"binary"})),
    "equalized_odds_difference": (False, frozenset({"binary"})),
}


def _infer_task(m: Metric, classes: Sequence[Any], proba: Any) -> str:
    """The task of a metric called on bare arrays: multiclass when more than two classes show."""
    many = len(classes) > 2 or (
        proba is not None and np.ndim(proba) == 2 and np.shape(proba)[1] > 2
    )
    if many and "multiclass" in m.tasks:
        return "multiclass"
    return next(t for t in TASKS if t in m.tasks)


def metric(name: str, task: str | None = None) -> Metric:
    if name not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}. Got {name!r} instead.")
    m = METRICS[name]
    if task is not None and task not in m.tasks:
        raise ValueError(
            f"metric {name!r} must be used with a {' or '.join(sorted(m.tasks))} task. Got {task!r} instead."
        )
    return m


def reason(name: str, rows: Rows) -> str | None:
    """Why `name` has no value on these rows, or None when it has one."""
    if rows.n == 0:
        return f"no rows in {rows.what}"
    return metric(name, rows.task).undefined(rows)


def values(names: Sequence[str], rows: Rows) -> dict[str, Value]:
    """Each metric on every row (weights 1), sharing one pass over the rows."""
    sample = Sample(
        rows, None, [q for n in names if reason(n, rows) is None for q in METRICS[n].needs]
    )
    out: dict[str, Value] = {}
    for name in names:
        why = reason(name, rows)
        if why is not None:
            out[name] = Value(None, why)
            continue
        v = float(METRICS[name].batch(sample)[0])
        out[name] = (
            Value(v) if np.isfinite(v) else Value(None, f"not a finite number on {rows.what}")
        )
    return out


def value(name: str, rows: Rows) -> Value:
    """One metric on every row: a number, or None and the reason."""
    return values([name], rows)[name]


def compute(
    name: str,
    y_true: Any,
    score: Any,
    label: Any = None,
    proba: Any = None,
    classes: Sequence[Any] = (),
    *,
    task: str | None = None,
    what: str = "the test split",
) -> Value:
    """One metric on arrays (see the module's conventions); never raises for undefined data."""
    task = task or _infer_task(metric(name), classes, proba)
    return value(name, Rows.make(task, y_true, score, label, proba, classes, what))


def encode(values: Any, classes: Sequence[Any]) -> np.ndarray:
    """Class values -> indices into `classes`; a value not in `classes` is a ValueError."""
    index = {c: i for i, c in enumerate(classes)}
    try:
        return np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values))
    except KeyError as exc:
        raise ValueError(
            f"class must be one of {list(classes)}. Got {exc.args[0]!r} instead."
        ) from None


# ----------------------------------------------------------------------------- bootstrap


def resample_weights(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Yield (b, n) arrays of bootstrap counts (how often each row was drawn), in chunks.

    Two buffers take turns: a chunk is overwritten two chunks later, so a caller may work on
    one while the next is drawn (`_drawn_ahead`); use it before asking for the one after.

    One resample is n draws with replacement (`Generator.integers`), counted per row; the
    chunk size depends on `n` only, so the draws are the same on every machine.
    """
    rng = np.random.default_rng(seed)
    chunk = max(1, min(resamples, _CHUNK_CELLS // max(n, 1)))
    # reused: a fresh 16 MB array per chunk costs page faults
    buffers = [np.empty((chunk, n)) for _ in range(min(2, -(-resamples // chunk)))]
    for k, start in enumerate(range(0, resamples, chunk)):
        w = buffers[k % len(buffers)][: min(chunk, resamples - start)]
        for row in w:
            row[:] = np.bincount(rng.integers(0, n, size=n), minlength=n)
        yield w


def _drawn_ahead(chunks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """The chunks of `resample_weights`, the next one drawn in a second thread while the
    caller computes on the current one. Drawing is about two thirds of a bootstrap of ROC
    AUC, and `Generator.integers` and numpy's array loops release the GIL: 200 x 200k
    resamples took 0.87 s of CPU in one thread (see `bootstrap`). The draws come from the
    one generator, in order, so the intervals are the same with or without it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="mlspec-bootstrap") as pool:
        upcoming = pool.submit(next, chunks, None)
        while (chunk := upcoming.result()) is not None:
            upcoming = pool.submit(next, chunks, None)
            yield chunk


def bootstrap(
    rows: Rows,
    names: Sequence[str],
    resamples: int,
    seed: int,
    level: float = 0.95,
    threads: int = 1,
) -> dict[str, tuple[float | None, float | None]]:
    """Percentile confidence interval (low, high) of each metric, all on the same resamples.

    Resamples where a metric has no value (one class drawn) are left out of its interval;
    (None, None) for a metric undefined on the rows, or when there is nothing to resample.
    With ``threads >= 2`` the next resamples are drawn while the current ones are scored.
    """
    out: dict[str, tuple[float | None, float | None]] = {name: (None, None) for name in names}
    names = [n for n in names if reason(n, rows) is None]
    if rows.n == 0 or resamples <= 0 or not names:
        return out
    rows = rows.for_bootstrap(names)
    needs = [q for n in names for q in METRICS[n].needs]
    found: dict[str, list[np.ndarray]] = {name: [] for name in names}
    chunks = resample_weights(rows.n, resamples, seed)
    for w in _drawn_ahead(chunks) if threads >= 2 else chunks:
        sample = Sample(rows, w, needs)
        for name in names:
            found[name].append(METRICS[name].batch(sample))
    tail = (1 - level) / 2 * 100
    for name in names:
        v = np.concatenate(found[name])
        v = v[np.isfinite(v)]
        if len(v):
            low, high = np.percentile(v, [tail, 100 - tail])
            out[name] = (float(low), float(high))
    return out


# ----------------------------------------------------------------------------- fairness


def group_rates(y_true: Any, label: Any, groups: Any) -> list[dict[str, Any]]:
    """Per group (sorted keys): count, selection rate, TPR and FPR (None without positives/negatives).

    `y_true` and `label` are 0/1 (1 = positive class); `groups` holds one key per row
    (numbers keep their order; other keys are compared as text).
    """
    y = np.asarray(y_true).astype(np.int64).ravel()
    pred = np.asarray(label).astype(np.int64).ravel()
    g = np.asarray(groups)
    keys, codes = np.unique(g.astype(str) if g.dtype == object else g, return_inverse=True)
    k = len(keys)
    count = np.bincount(codes, minlength=k)
    selected = np.bincount(codes, weights=pred == 1, minlength=k)
    positives = np.bincount(codes, weights=y == 1, minlength=k)
    negatives = count - positives
    tp = np.bincount(codes, weights=(y == 1) & (pred == 1), minlength=k)
    fp = np.bincount(codes, weights=(y != 1) & (pred == 1), minlength=k)
    return [
        {
            "group": keys[g].item(),
            "count": int(count[g]),
            "positives": int(positives[g]),
            "selection_rate": float(selected[g] / count[g]),
            "tpr": float(tp[g] / positives[g]) if positives[g] else None,
            "fpr": float(fp[g] / negatives[g]) if negatives[g] else None,
        }
        for g in range(k)
    ]


def _spread(rates: list[float | None]) -> float | None:
    defined = [r for r in rates if r is not None]
    return max(defined) - min(defined) if defined else None


def demographic_parity_difference(label: Any, groups: Any) -> float:
    """max - min over groups of the selection rate P(label = 1 | group) (fairlearn's)."""
    rates = group_rates(np.zeros(len(label)), label, groups)
    return _spread([r["selection_rate"] for r in rates]) or 0.0


def equalized_odds_difference(y_true: Any, label: Any, groups: Any) -> float | None:
    """max of the TPR spread and the FPR spread across groups (fairlearn's "worst case").

    A group without positives (negatives) has no TPR (FPR) and is left out of that spread;
    None when no group has either rate.
    """
    rates = group_rates(y_true, label, groups)
    spreads = [
        s
        for s in (_spread([r["tpr"] for r in rates]), _spread([r["fpr"] for r in rates]))
        if s is not None
    ]
    return max(spreads) if spreads else None
