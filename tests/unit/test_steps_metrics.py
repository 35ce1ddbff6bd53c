from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from mlspec.evaluation import metrics as M
from mlspec.lang import metrics_table

RNG = np.random.default_rng(0)
N = 400
Y = RNG.integers(0, 2, N)
SCORE = np.clip(RNG.random(N) * 0.6 + Y * 0.3, 0, 1)
TIED = np.round(SCORE, 1)  # many ties: each tie is one threshold
LABEL = (SCORE >= 0.5).astype(int)

K = 4
YM = RNG.integers(0, K, N)
PROBA = RNG.dirichlet(np.ones(K), N) * 0.5 + np.eye(K)[YM] * 0.5 * (RNG.random(N) < 0.7)[:, None]
PROBA /= PROBA.sum(axis=1, keepdims=True)
LABEL_M = PROBA.argmax(axis=1)

YR = RNG.normal(10, 3, N)
PRED = YR + RNG.normal(0, 1, N)


def close(a: float | None, b: float) -> None:
    assert a is not None
    assert a == pytest.approx(b, rel=1e-10, abs=1e-12)


# ----------------------------------------------------------------------------- the table


def test_table_agrees_with_the_static_copy_that_validate_reads() -> None:
    static = metrics_table.METRICS
    assert list(M.METRICS) == list(static)
    for name, m in M.METRICS.items():
        assert m.tasks == static[name].tasks, name
        assert m.higher_is_better == static[name].higher_is_better, name
    assert set(M.FAIRNESS) == set(metrics_table.FAIRNESS_METRICS)
    for name, (higher, tasks) in M.FAIRNESS.items():
        assert higher == metrics_table.FAIRNESS_METRICS[name].higher_is_better
        assert tasks == metrics_table.FAIRNESS_METRICS[name].tasks
    for task in M.TASKS:
        assert [n for n, m in M.METRICS.items() if task in m.tasks] == metrics_table.metrics_for(
            task
        )


def test_every_quantity_a_metric_needs_exists_for_its_tasks() -> None:
    for m in M.METRICS.values():
        for task in m.tasks:
            assert set(m.needs) <= set(M.QUANTITIES[task]), (m.name, task)


# ----------------------------------------------------------------------------- against scikit-learn


@pytest.mark.parametrize("score", [SCORE, TIED], ids=["distinct", "tied"])
def test_binary_metrics_equal_sklearn(score: np.ndarray) -> None:
    label = (score >= 0.5).astype(int)
    expected = {
        "roc_auc": skm.roc_auc_score(Y, score),
        "pr_auc": skm.average_precision_score(Y, score),
        "log_loss": skm.log_loss(Y, score),
        "accuracy": skm.accuracy_score(Y, label),
        "f1": skm.f1_score(Y, label),
        "precision": skm.precision_score(Y, label),
        "recall": skm.recall_score(Y, label),
        "brier": skm.brier_score_loss(Y, score),
    }
    got = M.values(list(expected), M.Rows.make("binary", Y, score, label))
    for name, value in expected.items():
        close(got[name].value, value)
        close(M.METRICS[name](Y, score, label), value)  # the table's function on bare arrays


def test_log_loss_clips_certain_mistakes_like_sklearn() -> None:
    y, p = np.array([0, 1, 1]), np.array([1.0, 0.0, 0.9])
    close(M.compute("log_loss", y, p).value, skm.log_loss(y, p))


def test_multiclass_metrics_equal_sklearn() -> None:
    rows = M.Rows.make("multiclass", YM, PROBA.max(axis=1), LABEL_M, PROBA, classes=list("abcd"))
    got = M.values(["accuracy", "macro_f1", "log_loss"], rows)
    close(got["accuracy"].value, skm.accuracy_score(YM, LABEL_M))
    close(got["macro_f1"].value, skm.f1_score(YM, LABEL_M, average="macro"))
    close(got["log_loss"].value, skm.log_loss(YM, PROBA, labels=range(K)))


def test_macro_f1_averages_over_the_classes_seen_like_sklearn() -> None:
    y = np.array([0, 0, 1, 1, 1])
    label = np.array([0, 2, 1, 1, 0])  # class 2 only predicted; class 3 never seen
    proba = np.full((5, 4), 0.25)
    close(
        M.compute("macro_f1", y, proba.max(axis=1), label, proba, classes="abcd").value,
        skm.f1_score(y, label, average="macro"),
    )


def test_regression_metrics_equal_sklearn() -> None:
    rows = M.Rows.make("regression", YR, PRED)
    got = M.values(["rmse", "mae", "r2", "mape"], rows)
    close(got["rmse"].value, skm.root_mean_squared_error(YR, PRED))
    close(got["mae"].value, skm.mean_absolute_error(YR, PRED))
    close(got["r2"].value, skm.r2_score(YR, PRED))
    close(got["mape"].value, skm.mean_absolute_percentage_error(YR, PRED))


# ----------------------------------------------------------------------------- hand values


def test_hand_computed_values() -> None:
    y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    assert M.compute("roc_auc", y, s).value == 0.75  # 3 of the 4 (pos, neg) pairs in order
    # Thresholds from the top: 0.8 (recall 1/2, precision 1), 0.4 (-), 0.35 (recall 1, precision 2/3).
    close(M.compute("pr_auc", y, s).value, 0.5 * 1 + 0.5 * 2 / 3)
    assert (
        M.compute("roc_auc", [0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]).value == 0.875
    )  # a tie counts half
    close(M.compute("brier", y, s).value, (0.01 + 0.16 + 0.65**2 + 0.04) / 4)
    assert M.compute("accuracy", y, s, label=[0, 1, 0, 1]).value == 0.5
    assert M.compute("precision", y, s, label=[0, 1, 0, 1]).value == 0.5
    assert M.compute("recall", y, s, label=[0, 1, 0, 1]).value == 0.5
    assert M.compute("rmse", [1.0, 2.0, 3.0], [1.0, 2.0, 5.0]).value == pytest.approx(
        np.sqrt(4 / 3)
    )
    assert M.compute("mae", [1.0, 2.0, 3.0], [1.0, 2.0, 5.0]).value == pytest.approx(2 / 3)
    assert M.compute("mape", [1.0, 2.0, 4.0], [2.0, 2.0, 5.0]).value == pytest.approx(
        (1 + 0 + 0.25) / 3
    )
    assert M.compute("r2", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).value == 1.0


# ----------------------------------------------------------------------------- undefined


@pytest.mark.parametrize(
    ("name", "y", "score", "label", "words"),
    [
        ("roc_auc", [0, 0, 0], [0.1, 0.5, 0.9], None, "only one class (0) in the test split"),
        ("roc_auc", [1, 1], [0.1, 0.5], None, "only one class (1)"),
        ("pr_auc", [0, 0], [0.1, 0.5], None, "no positive rows"),
        ("recall", [0, 0], [0.1, 0.5], [1, 0], "no positive rows"),
        ("precision", [0, 1], [0.1, 0.4], [0, 0], "predicts no positive"),
        ("f1", [0, 0], [0.1, 0.4], [0, 0], "none predicted"),
        ("mape", [0.0, 1.0], [0.5, 1.0], None, "0 in 1 row(s)"),
        ("r2", [2.0, 2.0], [1.0, 3.0], None, "constant"),
        ("rmse", [], [], None, "no rows"),
    ],
)
def test_an_undefined_metric_has_a_reason_not_an_error(
    name: str, y: list[Any], score: list[float], label: list[int] | None, words: str
) -> None:
    v = M.compute(name, y, score, label)
    assert v.value is None and v.reason is not None and words in v.reason, v
    assert v.to_json() == {"value": None, "reason": v.reason}
    with pytest.raises(M.Undefined, match=r"\w"):
        M.METRICS[name](y, score, label)
    low_high = M.bootstrap(
        M.Rows.make(next(iter(M.METRICS[name].tasks)), y, score, label), [name], 20, 0
    )
    assert low_high == {name: (None, None)}


def test_reasons_name_the_rows_they_are_about() -> None:
    v = M.compute("roc_auc", [1, 1], [0.2, 0.3], what="the slice topic = news")
    assert v.reason == "only one class (1) in the slice topic = news"


def test_metric_must_fit_the_task() -> None:
    with pytest.raises(
        ValueError, match=r"must be used with a binary task\. Got 'regression' instead"
    ):
        M.value("roc_auc", M.Rows.make("regression", [1.0], [1.0]))
    with pytest.raises(ValueError, match="metric must be one of"):
        M.metric("auc")


def test_encode_maps_values_to_class_indices() -> None:
    assert M.encode(["b", "a", "b"], ["a", "b"]).tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match=r"class must be one of \['a', 'b'\]. Got 'c' instead"):
        M.encode(["c"], ["a", "b"])


# ----------------------------------------------------------------------------- bootstrap


def _expanded(counts: np.ndarray) -> np.ndarray:
    """The row indices of one resample, from its counts (row i repeated counts[i] times)."""
    return np.repeat(np.arange(len(counts)), counts.astype(np.int64))


@pytest.mark.parametrize("score", [SCORE, TIED], ids=["distinct", "tied"])
def test_each_resample_equals_sklearn_on_the_drawn_rows(score: np.ndarray) -> None:
    """The vectorised rank metrics under weights are the metric of the resampled rows."""
    label = (score >= 0.5).astype(int)
    for rows in (
        M.Rows.make("binary", Y, score, label),
        M.Rows.make("binary", Y, score, label).for_bootstrap(["roc_auc"]),
    ):
        w = next(M.resample_weights(N, 5, seed=3)).copy()
        sample = M.Sample(rows, w, ["loss", "tp", "pos", "pred_pos"])
        got = {
            name: M.METRICS[name].batch(sample) for name in ("roc_auc", "pr_auc", "log_loss", "f1")
        }
        for b in range(len(w)):
            i = _expanded(w[b])
            y, s, lab = rows.y[i], rows.score[i], rows.label[i]  # type: ignore[index]
            close(got["roc_auc"][b], skm.roc_auc_score(y, s))
            close(got["pr_auc"][b], skm.average_precision_score(y, s))
            close(got["log_loss"][b], skm.log_loss(y, s, labels=[0, 1]))
            close(got["f1"][b], skm.f1_score(y, lab))


def test_each_resample_equals_sklearn_for_multiclass_and_regression() -> None:
    w = next(M.resample_weights(N, 4, seed=5)).copy()
    mc = M.Sample(
        M.Rows.make("multiclass", YM, PROBA.max(axis=1), LABEL_M, PROBA, classes="abcd"), w
    )
    rg = M.Sample(M.Rows.make("regression", YR, PRED), w)
    macro, r2, mape = M.macro_f1(mc), M.r2(rg), M.mape(rg)
    for b in range(len(w)):
        i = _expanded(w[b])
        close(macro[b], skm.f1_score(YM[i], LABEL_M[i], average="macro"))
        close(r2[b], skm.r2_score(YR[i], PRED[i]))
        close(mape[b], skm.mean_absolute_percentage_error(YR[i], PRED[i]))


def test_resamples_draw_n_rows_each_and_depend_on_the_seed_only() -> None:
    chunks = [w.copy() for w in M.resample_weights(1000, 25, seed=1)]
    w = np.concatenate(chunks)
    assert w.shape == (25, 1000) and (w.sum(axis=1) == 1000).all()
    again = np.concatenate([c.copy() for c in M.resample_weights(1000, 25, seed=1)])
    assert np.array_equal(w, again)
    assert not np.array_equal(
        w, np.concatenate([c.copy() for c in M.resample_weights(1000, 25, seed=2)])
    )


def test_bootstrap_is_deterministic_and_brackets_the_estimate() -> None:
    rows = M.Rows.make("binary", Y, SCORE, LABEL)
    names = ["roc_auc", "pr_auc", "log_loss", "accuracy", "f1", "brier"]
    a = M.bootstrap(rows, names, 200, seed=7)
    assert a == M.bootstrap(M.Rows.make("binary", Y, SCORE, LABEL), names, 200, seed=7)
    assert a != M.bootstrap(rows, names, 200, seed=8)
    point = M.values(names, rows)
    for name in names:
        low, high = a[name]
        assert low is not None and high is not None
        assert low < point[name].value < high, name  # type: ignore[operator]
        assert high - low < 0.2, name


@pytest.mark.parametrize("score", [SCORE, TIED], ids=["distinct", "tied"])
def test_drawing_ahead_in_a_second_thread_gives_the_same_intervals(
    score: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        M, "_CHUNK_CELLS", 3 * N
    )  # 3 resamples a chunk: 17 chunks, two buffers in turn
    rows = M.Rows.make("binary", Y, score, (score >= 0.5).astype(int))
    names = ["roc_auc", "pr_auc", "log_loss", "f1"]
    assert M.bootstrap(rows, names, 50, 4, threads=2) == M.bootstrap(rows, names, 50, 4, threads=1)


def test_bootstrap_does_not_depend_on_the_blas_thread_count() -> None:
    from threadpoolctl import threadpool_limits

    rows = M.Rows.make("regression", np.tile(YR, 50), np.tile(PRED, 50))
    with threadpool_limits(1):
        one = M.bootstrap(rows, ["rmse", "r2", "mae"], 30, 0)
    with threadpool_limits(2):
        two = M.bootstrap(rows, ["rmse", "r2", "mae"], 30, 0)
    assert one == two


def test_a_constant_score_has_roc_auc_one_half_on_every_resample_with_both_classes() -> None:
    """The one-score-group shortcut (a constant model, e.g. the baseline) gives what
    scikit-learn gives on each resample, and NaN where a resample drew one class only."""
    y = np.zeros(30, dtype=int)
    y[:3] = 1
    rows = M.Rows.make("binary", y, np.full(30, 0.3)).for_bootstrap(["roc_auc"])
    w = np.concatenate([c.copy() for c in M.resample_weights(30, 60, 0)])
    got = M.roc_auc(M.Sample(rows, w, []))
    both = (w @ (rows.y == 1) > 0) & (w @ (rows.y == 0) > 0)
    assert 0 < both.sum() < len(w)  # some resamples drew no positive
    assert np.isnan(got[~both]).all()
    for b in np.flatnonzero(both)[:10]:
        assert got[b] == skm.roc_auc_score(rows.y, rows.score, sample_weight=w[b]) == 0.5


def test_resamples_where_a_metric_is_undefined_are_left_out() -> None:
    # One positive among 30 rows: about a third of the resamples draw no positive at all.
    y = np.zeros(30, dtype=int)
    y[0] = 1
    rows = M.Rows.make("binary", y, np.linspace(0, 1, 30))
    low, high = M.bootstrap(rows, ["roc_auc"], 100, 0)["roc_auc"]
    assert low is not None and high is not None and 0 <= low <= high <= 1


# ----------------------------------------------------------------------------- fairness


def test_fairness_differences_by_hand() -> None:
    #            group A: 4 rows          group B: 6 rows
    y = np.concatenate(([1, 1, 0, 0], [1, 0, 0, 0, 1, 0]))
    label = np.concatenate(([1, 0, 1, 0], [1, 1, 1, 0, 1, 0]))
    groups = np.array(["A"] * 4 + ["B"] * 6)
    # A: selection 2/4, TPR 1/2, FPR 1/2.  B: selection 4/6, TPR 2/2, FPR 2/4.
    assert M.demographic_parity_difference(label, groups) == pytest.approx(4 / 6 - 2 / 4)
    assert M.equalized_odds_difference(y, label, groups) == pytest.approx(
        max(1 - 1 / 2, 1 / 2 - 1 / 2)
    )
    rates = M.group_rates(y, label, groups)
    assert rates == [
        {"group": "A", "count": 4, "positives": 2, "selection_rate": 0.5, "tpr": 0.5, "fpr": 0.5},
        {
            "group": "B",
            "count": 6,
            "positives": 2,
            "selection_rate": pytest.approx(4 / 6),
            "tpr": 1.0,
            "fpr": 0.5,
        },
    ]


def test_fairness_leaves_undefined_rates_out() -> None:
    # Group C has no positives: no TPR. FPR spread: A 1/2, B 1/4, C 1/2 -> 1/4; TPR spread: A 1/2, B 1 -> 1/2.
    y = np.concatenate(([1, 1, 0, 0], [1, 0, 0, 0, 0, 1], [0, 0]))
    label = np.concatenate(([1, 0, 1, 0], [1, 1, 0, 0, 0, 1], [1, 0]))
    groups = np.array([2] * 4 + [10] * 6 + [7] * 2)
    rates = M.group_rates(y, label, groups)
    assert [r["group"] for r in rates] == [2, 7, 10]  # numbers sort as numbers
    assert rates[1]["tpr"] is None and rates[1]["fpr"] == 0.5
    assert M.equalized_odds_difference(y, label, groups) == pytest.approx(0.5)
    assert M.demographic_parity_difference(label, groups) == pytest.approx(0.5 - 0.5)
    assert M.equalized_odds_difference([0, 0], [1, 0], ["a", "b"]) == pytest.approx(
        1.0
    )  # FPR 1 vs 0
    assert M.equalized_odds_difference([], [], []) is None
