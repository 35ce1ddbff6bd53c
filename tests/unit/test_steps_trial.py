"""The trial step: one search trial, scored by seeded cross-validation or on the valid split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from test_models_store import FRAME, SPLIT, StoreContext, data_inputs, objective, sha

from mlspec.compile.search import trials
from mlspec.contract.api import StepError
from mlspec.evaluation import metrics as M
from mlspec.lang.metrics_table import METRICS as SPEC_METRICS
from mlspec.models.estimators import build, fit
from mlspec.scoring.predict import predict
from mlspec.scoring.preprocess import matrix, target
from mlspec.steps import trial
from mlspec.store import ArtifactStore
from mlspec.store.artifacts import Reader


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "store")


def _run(
    store: ArtifactStore,
    inputs: dict[str, str],
    params: dict[str, Any],
    *,
    task: str = "binary",
    mtype: str = "xgboost",
    base: dict[str, Any] | None = None,
    cv: int | str = 3,
    index: int = 0,
    seed: int = 7,
) -> tuple[StoreContext, Reader]:
    ctx = StoreContext(
        store,
        {
            "objective": objective(task),
            "model": {
                "name": "gbt",
                "type": mtype,
                "params": base if base is not None else {"n_estimators": 10},
            },
            "trial": {"index": index, "params": params},
            "search": {"method": "grid", "cv": cv, "seed": seed},
        },
        inputs,
    )
    trial.run(ctx)
    return ctx, ctx.commit()


def test_score_json_follows_the_contract(store: ArtifactStore) -> None:
    ctx, reader = _run(store, data_inputs(store), {"max_depth": 2}, index=4)
    score = reader.json("score.json")
    assert set(score) == {"index", "params", "score", "folds", "metric", "higher_is_better"}
    assert score["index"] == 4 and score["params"] == {"max_depth": 2}
    assert score["metric"] == "roc_auc" and score["higher_is_better"] is True
    assert len(score["folds"]) == 3 and score["score"] == pytest.approx(np.mean(score["folds"]))
    assert 0.8 < score["score"] <= 1
    assert ctx.output.metrics == {
        "score": score["score"],
        "rows.train": float((SPLIT["split"] == 0).sum()),
    }


def test_grid_trials_are_deterministic_and_differ_by_params(store: ArtifactStore) -> None:
    inputs = data_inputs(store)
    space = {"max_depth": [1, 4], "learning_rate": [0.1, 0.5]}
    grid = trials({"method": "grid", "space": space})
    first = [_run(store, inputs, t, index=k)[1] for k, t in enumerate(grid)]
    again = [_run(store, inputs, t, index=k)[1] for k, t in enumerate(grid)]
    assert [sha(a, "score.json") for a in first] == [sha(b, "score.json") for b in again]
    assert len({r.json("score.json")["score"] for r in first}) == len(grid)


def test_random_trials_are_deterministic(store: ArtifactStore) -> None:
    inputs = data_inputs(store)
    drawn = trials(
        {
            "method": "random",
            "trials": 2,
            "seed": 3,
            "space": {"C": {"low": 0.01, "high": 10, "log": True}},
        }
    )
    assert drawn == trials(
        {
            "method": "random",
            "trials": 2,
            "seed": 3,
            "space": {"C": {"low": 0.01, "high": 10, "log": True}},
        }
    )
    runs = [
        [
            _run(store, inputs, t, mtype="logistic_regression", base={}, index=k)[1].json(
                "score.json"
            )
            for k, t in enumerate(drawn)
        ]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_the_folds_are_seeded_stratified_k_fold_on_train(store: ArtifactStore) -> None:
    _, reader = _run(
        store, data_inputs(store), {"C": 0.3}, mtype="logistic_regression", base={}, seed=11
    )
    obj = objective()
    train = FRAME.filter(SPLIT["split"] == 0)
    X, (y, classes) = matrix(train, obj["features"]), target(train, obj)
    expected = []
    for a, b in StratifiedKFold(3, shuffle=True, random_state=11).split(X, y):
        pipe = fit(
            build(obj, {"name": "m", "type": "logistic_regression", "params": {"C": 0.3}}, 0, 1),
            X[a],
            y[a],
            threads=1,
            what="f",
        )
        expected.append(roc_auc_score(y[b], predict(pipe, X[b], "binary", classes).score))
    assert reader.json("score.json")["folds"] == pytest.approx(expected, abs=0)


def test_cv_valid_scores_on_the_valid_split(store: ArtifactStore) -> None:
    _, reader = _run(store, data_inputs(store), {"max_depth": 3}, cv="valid")
    assert len(reader.json("score.json")["folds"]) == 1


def test_cv_valid_without_a_valid_split_is_a_step_error(store: ArtifactStore) -> None:
    no_valid = pl.DataFrame({"split": SPLIT["split"].replace(1, 0)})
    with pytest.raises(StepError, match="needs a valid split"):
        _run(store, data_inputs(store, split=no_valid), {}, cv="valid")


def test_too_many_folds_for_a_rare_class(store: ArtifactStore) -> None:
    rare = FRAME.with_columns(
        malignant=pl.Series(np.r_[np.ones(2, int), np.zeros(FRAME.height - 2, int)])
    )
    split = pl.DataFrame({"split": pl.Series(np.zeros(FRAME.height), dtype=pl.UInt8)})
    with pytest.raises(StepError, match=r"cv: 3 needs at least 3 train rows of every class. Got 2"):
        _run(store, data_inputs(store, rare, split), {})


@pytest.mark.parametrize(("task", "metric"), [("multiclass", "log_loss"), ("regression", "rmse")])
def test_other_tasks_are_scored_with_their_select_by(
    store: ArtifactStore, task: str, metric: str
) -> None:
    _, reader = _run(store, data_inputs(store), {"max_depth": 2}, task=task)
    score = reader.json("score.json")
    assert score["metric"] == metric and score["higher_is_better"] is False and score["score"] > 0


def test_every_metric_of_the_spec_can_select() -> None:
    assert set(M.METRICS) == set(SPEC_METRICS)


def test_a_trial_scores_with_the_evaluate_steps_definition(store: ArtifactStore) -> None:
    """Issue 13.4: one macro_f1 everywhere. The valid split holds no row of class c: the
    evaluate step's macro_f1 averages over the classes present (in truth or predictions);
    the trial's own table averaged a 0 for c in too (0.2299 against 0.2874 in the issue)."""
    obj = objective("multiclass", select_by="macro_f1", higher_is_better=True)
    # The valid rows of class c go to test: train keeps its classes, valid has none of c.
    moved = (FRAME["grade"] == "c") & (SPLIT["split"] == 1)
    no_c = SPLIT["split"].zip_with(~moved, pl.Series(np.full(FRAME.height, 2, np.uint8)))
    split = pl.DataFrame({"split": no_c})
    ctx = StoreContext(
        store,
        {
            "objective": obj,
            "model": {"name": "m", "type": "dummy", "params": {"strategy": "prior"}},
            "trial": {"index": 0, "params": {}},
            "search": {"method": "grid", "cv": "valid", "seed": 0},
        },
        data_inputs(store, split=split),
    )
    trial.run(ctx)
    score = ctx.commit().json("score.json")["score"]
    train, valid = FRAME.filter(no_c == 0), FRAME.filter(no_c == 1)
    X, (y, classes) = matrix(train, obj["features"]), target(train, obj)
    model = {"name": "m", "type": "dummy", "params": {"strategy": "prior"}}
    pipe = fit(build(obj, model, 7, 1), X, y, threads=1, what="f")
    pred = predict(pipe, matrix(valid, obj["features"]), "multiclass", classes)
    yv, _ = target(valid, obj, classes)
    expected = M.compute("macro_f1", yv, pred.score, pred.index, pred.proba, classes)
    assert score == expected.value
    assert 2 not in set(yv) | set(pred.index), "the case under test: class c absent"


def test_search_folds_follow_a_group_split() -> None:
    """Issue 13.3: no group of `by` is in both sides of a fold."""
    by = np.repeat(np.arange(12), 5)
    y = np.arange(60) % 2
    for fit_rows, score_rows in trial.folds(y, "binary", 3, 0, "group", by):
        assert not set(by[fit_rows]) & set(by[score_rows])


def test_search_folds_follow_a_time_split() -> None:
    """Issue 13.3: each fold scores rows later than every row it fits."""
    t = np.random.default_rng(0).permutation(60)
    y = np.arange(60) % 2
    drawn = trial.folds(y, "binary", 3, 0, "time", t)
    assert len(drawn) == 3
    for fit_rows, score_rows in drawn:
        assert t[fit_rows].max() < t[score_rows].min()


def test_too_few_groups_for_the_folds() -> None:
    with pytest.raises(StepError, match="needs at least 3 groups"):
        trial.folds(np.arange(10) % 2, "binary", 3, 0, "group", np.arange(10) % 2)
