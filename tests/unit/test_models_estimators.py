"""The estimator registry: every model type trains and predicts for every task it supports."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline
from test_models_store import FEATURES, FRAME, N, objective

from mlspec.contract.api import StepError
from mlspec.lang.model_types import MODEL_TYPES
from mlspec.models import estimators
from mlspec.models.estimators import build, estimator_class, fit, resolve
from mlspec.models.recipes import RECIPES
from mlspec.scoring.predict import predict
from mlspec.scoring.preprocess import matrix, nan_ok, target

# Small settings so that the whole matrix of types x tasks runs in a few seconds.
FAST: dict[str, dict[str, Any]] = {
    "random_forest": {"n_estimators": 10},
    "extra_trees": {"n_estimators": 10},
    "gradient_boosting": {"n_estimators": 10},
    "hist_gradient_boosting": {"max_iter": 10},
    "xgboost": {"n_estimators": 10},
}
CASES = [
    (mtype, task)
    for mtype, entry in MODEL_TYPES.items()
    for task in ("binary", "multiclass", "regression")
    if entry.estimator(task) is not None
]
X = matrix(FRAME, FEATURES)


def _model(mtype: str, **params: Any) -> dict[str, Any]:
    return {"name": "m", "type": mtype, "params": {**FAST.get(mtype, {}), **params}}


@pytest.mark.parametrize(("mtype", "task"), CASES, ids=[f"{m}-{t}" for m, t in CASES])
def test_every_type_fits_and_predicts(mtype: str, task: str) -> None:
    obj = objective(task)
    y, classes = target(FRAME, obj)
    pipeline = fit(build(obj, _model(mtype), seed=0, threads=1), X, y, threads=1, what="fit")
    assert isinstance(pipeline, Pipeline) and [name for name, _ in pipeline.steps] == [
        "features",
        "model",
    ]
    p = predict(pipeline, X, task, classes)
    assert p.score.shape == (N,) and np.isfinite(p.score).all()
    if task == "regression":
        assert p.proba is None and np.array_equal(p.label, p.score)
    else:
        assert classes is not None and p.proba is not None and p.proba.shape == (N, len(classes))
        assert np.allclose(p.proba.sum(axis=1), 1)
        assert set(p.label.tolist()) <= set(classes)
    if task == "binary":
        assert np.array_equal(p.score, p.proba[:, 1])  # P(classes[-1])
        assert np.array_equal(p.label == 1, p.score >= 0.5)
    if task == "multiclass":
        assert np.array_equal(p.score, p.proba.max(axis=1))


def test_the_registry_follows_the_model_table() -> None:
    for entry in MODEL_TYPES.values():
        for task in ("binary", "regression"):
            est = entry.estimator(task)
            if est is not None:
                assert estimator_class(est.path).__name__ == est.path.rsplit(".", 1)[1]
    assert set(RECIPES) <= set(MODEL_TYPES)


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_and_seed_follow_the_context(threads: int) -> None:
    rf = build(objective(), _model("random_forest"), seed=5, threads=threads)[-1]
    assert (rf.n_jobs, rf.random_state) == (threads, 5)
    xgb = build(objective(), _model("xgboost"), seed=5, threads=threads)[-1]
    assert (xgb.n_jobs, xgb.random_state, xgb.tree_method) == (threads, 5, "hist")
    knn = build(objective(), _model("knn"), seed=5, threads=threads)[-1]
    assert knn.n_jobs == threads
    # LogisticRegression's n_jobs does nothing since sklearn 1.8 and warns: never set.
    lr = build(objective(), _model("logistic_regression"), seed=5, threads=threads)[-1]
    assert lr.n_jobs is None and lr.max_iter == 1000 and lr.random_state == 5


def test_user_params_win_over_defaults() -> None:
    r = resolve(
        _model("random_forest", n_jobs=1, random_state=9, max_depth=3), "binary", seed=5, threads=2
    )
    assert r.params == {"max_depth": 3, "n_estimators": 10, "n_jobs": 1, "random_state": 9}
    r = resolve(_model("logistic_regression", max_iter=50), "binary", seed=0, threads=1)
    assert r.params["max_iter"] == 50


@pytest.mark.parametrize("mtype", ["svm", "ridge"])
def test_models_without_probabilities_are_calibrated(mtype: str) -> None:
    est = build(objective(), _model(mtype), seed=4, threads=1)[-1]
    assert isinstance(est, CalibratedClassifierCV)
    assert (est.method, est.cv, est.ensemble) == ("sigmoid", 3, False)
    assert est.estimator.random_state == 4
    assert not isinstance(
        build(objective("regression"), _model(mtype), 0, 1)[-1], CalibratedClassifierCV
    )


def test_svm_probability_param_is_ignored_with_a_note() -> None:
    r = resolve(_model("svm", probability=True, C=2.0), "binary", seed=0, threads=1)
    assert "probability" not in r.params and r.params["C"] == 2.0
    assert r.ignored == ("probability",) and "probability" in r.notes()[0]


def test_nan_capability_comes_from_the_estimator_tags() -> None:
    def ok(mtype: str) -> bool:
        return nan_ok(build(objective(), _model(mtype), 0, 1))

    assert ok("hist_gradient_boosting") and ok("xgboost") and ok("random_forest") and ok("dummy")
    assert not ok("logistic_regression") and not ok("svm") and not ok("knn")


@pytest.mark.parametrize(
    ("model", "task", "words"),
    [
        (
            {"name": "m", "type": "xgbost", "params": {}},
            "binary",
            ["unknown model type 'xgbost'", "xgboost"],
        ),
        (
            {"name": "m", "type": "lasso", "params": {}},
            "binary",
            ["does not support task binary", "regression"],
        ),
        (
            {"name": "m", "type": "logistic_regression", "params": {"CC": 1}},
            "binary",
            ["no parameter(s) 'CC'", "'C'"],
        ),
    ],
)
def test_bad_models_are_step_errors(model: dict[str, Any], task: str, words: list[str]) -> None:
    with pytest.raises(StepError) as info:
        build(objective(task), model, 0, 1)
    for word in words:
        assert word in str(info.value)


def test_a_bad_param_value_is_a_step_error_not_a_traceback() -> None:
    y, _ = target(FRAME, objective())
    with pytest.raises(StepError, match=r"fitting m failed: .*'C' parameter"):
        fit(
            build(objective(), _model("logistic_regression", C=-1.0), 0, 1),
            X,
            y,
            threads=1,
            what="fitting m",
        )


def test_library_warnings_are_passed_on_once() -> None:
    y, _ = target(FRAME, objective())
    seen: list[str] = []
    fit(
        build(objective(), _model("logistic_regression", max_iter=2), 0, 1),
        X,
        y,
        threads=1,
        what="f",
        warn=seen.append,
    )
    assert len(seen) == 1 and seen[0].startswith("ConvergenceWarning: ")


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_predicting_no_rows_gives_empty_predictions(task: str) -> None:
    obj = objective(task)
    y, classes = target(FRAME, obj)
    pipeline = fit(build(obj, _model("dummy"), 0, 1), X, y, threads=1, what="fit")
    p = predict(pipeline, X[:0], task, classes)
    assert p.score.shape == (0,) and p.label.shape == (0,)
    assert (p.proba is None) == (task == "regression")


def test_an_xgboost_fit_on_lent_cores_saves_the_same_bytes(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fit whose thread count changes between rounds (cores lent and taken back) writes
    the same pipeline.joblib and booster as a fit on the step's one thread, and the model
    keeps the step's n_jobs and no callback."""
    monkeypatch.setattr(estimators, "LEND_MIN_CELLS", 0)  # small data, lent all the same
    import hashlib
    import itertools

    from mlspec.models.persist import dump_canonical

    y, _ = target(FRAME, objective("binary"))
    lent = itertools.cycle([1, 2, 2, 1, 2])
    digests = []
    for i, cores in enumerate((None, lambda: 2, lambda: next(lent))):
        pipeline = build(objective("binary"), _model("xgboost", n_estimators=20), 0, 1)
        fit(pipeline, X, y, threads=1, what="t", cores=cores)
        assert pipeline[-1].get_params()["n_jobs"] == 1
        assert pipeline[-1].get_params()["callbacks"] is None
        dump_canonical(pipeline, tmp_path / f"p{i}.joblib")
        pipeline[-1].save_model(str(tmp_path / f"b{i}.ubj"))
        digests.append(
            [
                hashlib.sha256((tmp_path / f"{n}{i}.{e}").read_bytes()).hexdigest()
                for n, e in (("p", "joblib"), ("b", "ubj"))
            ]
        )
    assert digests[0] == digests[1] == digests[2]


def test_lent_cores_reach_the_booster_between_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The booster's thread count follows `cores()` as the fit goes on."""
    monkeypatch.setattr(estimators, "LEND_MIN_CELLS", 0)  # small data, lent all the same
    y, _ = target(FRAME, objective("binary"))
    asked: list[int] = []

    def cores() -> int:
        asked.append(1 if len(asked) % 2 else 2)
        return asked[-1]

    pipeline = build(objective("binary"), _model("xgboost", n_estimators=6), 0, 1)
    fit(pipeline, X, y, threads=1, what="t", cores=cores)
    assert len(asked) >= 6  # once to start, then after every round


def test_a_lent_fit_is_not_capped_at_the_steps_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """XGBoost runs min(nthread, omp_get_max_threads()) threads: while a lent fit runs,
    OpenMP allows every usable core (capped at the step's one thread, the default spec's
    fit stayed on one core of two idle ones whatever `nthread` said)."""
    monkeypatch.setattr(estimators, "LEND_MIN_CELLS", 0)  # small data, lent all the same
    from threadpoolctl import threadpool_info

    y, _ = target(FRAME, objective("binary"))
    allowed: list[int] = []

    def cores() -> int:
        openmp = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"]
        allowed.append(min(openmp))
        return 2

    pipeline = build(objective("binary"), _model("xgboost", n_estimators=4), 0, 1)
    fit(pipeline, X, y, threads=1, what="t", cores=cores)
    assert allowed and min(allowed) >= 2, allowed


def test_lent_cores_give_the_same_bytes_on_rows_that_threads_split(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On enough rows (with missing values and row subsampling) that two threads really
    share the histogram work, a fit on lent cores saves the bytes of a one-thread fit."""
    monkeypatch.setattr(estimators, "LEND_MIN_CELLS", 0)  # small data, lent all the same
    import hashlib

    rng = np.random.default_rng(3)
    Xb = rng.normal(size=(20_000, 8))
    Xb[rng.random(Xb.shape) < 0.05] = np.nan
    yb = (np.nan_to_num(Xb[:, 0]) + rng.normal(size=20_000) > 0).astype(np.int64)
    digests = []
    for i, cores in enumerate((None, lambda: 2)):
        model = _model("xgboost", n_estimators=15, subsample=0.8)
        pipeline = build(objective("binary"), model, 0, 1)
        fit(pipeline, Xb, yb, threads=1, what="t", cores=cores)
        pipeline[-1].save_model(str(tmp_path / f"b{i}.ubj"))
        digests.append(hashlib.sha256((tmp_path / f"b{i}.ubj").read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_an_xgboost_model_predicts_on_the_threads_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Saved with the step's n_jobs, an XGBoost model predicts on the threads the caller
    gives (evaluation's idle cores) and gets its n_jobs back; the values are the same."""
    from mlspec.scoring import predict as predict_module

    y, _ = target(FRAME, objective("binary"))
    pipeline = build(objective("binary"), _model("xgboost", n_estimators=10), 0, 1)
    fit(pipeline, X, y, threads=1, what="t")
    seen: list[int] = []
    real = predict_module.estimate

    def estimate(model: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(model[-1].get_params()["n_jobs"])
        return real(model, *args, **kwargs)

    monkeypatch.setattr(predict_module, "estimate", estimate)
    one = predict(pipeline, X, "binary", [0, 1], threads=1)
    two = predict(pipeline, X, "binary", [0, 1], threads=2)
    assert seen == [1, 2]
    assert pipeline[-1].get_params()["n_jobs"] == 1
    assert one.score.tobytes() == two.score.tobytes()


def test_a_small_fit_stays_on_the_steps_threads() -> None:
    """Below LEND_MIN_CELLS a second sleeping OpenMP thread costs more than it saves: no
    core is lent and `cores` is never asked."""
    y, _ = target(FRAME, objective("binary"))
    asked: list[int] = []

    def cores() -> int:
        asked.append(2)
        return 2

    assert X.shape[0] * X.shape[1] < estimators.LEND_MIN_CELLS
    pipeline = build(objective("binary"), _model("xgboost", n_estimators=4), 0, 1)
    fit(pipeline, X, y, threads=1, what="t", cores=cores)
    assert asked == []
