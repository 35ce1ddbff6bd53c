"""Model files are a function of the fitted values alone, whatever process wrote them."""

from __future__ import annotations

import hashlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder
from test_models_store import data_inputs, objective

from mlspec.backends.local import _init_worker
from mlspec.engine.task import StepTask, run_task
from mlspec.models.persist import PIPELINE, dump_canonical
from mlspec.steps.params import TrainParams
from mlspec.store import ArtifactStore
from tests.unit.steps_fakes import key


def _fitted(key: str) -> ColumnTransformer:
    """Equal values; `key` may be the interned 'dtype' or an equal string of its own."""
    ct = ColumnTransformer(
        [
            ("n", FunctionTransformer(np.asarray, kw_args={key: "float64"}), [0]),
            ("c", OneHotEncoder(sparse_output=False), [1]),
        ]
    )
    return ct.fit(np.array([[1.0, "a"], [2.0, "b"]], dtype=object))


def test_equal_strings_of_different_identity_give_one_pickle(tmp_path: Path) -> None:
    """The root cause: a pickle memo is keyed by identity. A worker that got its strings
    through an unpickler shares them differently from the process that interned them."""
    same, other = _fitted("dtype"), _fitted("".join(["dt", "ype"]))
    joblib.dump(same, tmp_path / "a", compress=0)
    joblib.dump(other, tmp_path / "b", compress=0)
    assert (tmp_path / "a").read_bytes() != (tmp_path / "b").read_bytes()  # plain joblib
    dump_canonical(same, tmp_path / "c")
    dump_canonical(other, tmp_path / "d")
    assert (tmp_path / "c").read_bytes() == (tmp_path / "d").read_bytes()
    loaded = joblib.load(tmp_path / "d")
    assert loaded.transformers_[0][1].kw_args == {"dtype": "float64"}


def _task(root: Path, inputs: dict[str, str], fp: str, mtype: str) -> StepTask:
    params = {"n_estimators": 5} if mtype == "xgboost" else {}
    return StepTask(
        f"train.o.{mtype}",
        "train",
        fp,
        TrainParams(
            objective=objective("binary"),
            model={"name": "m", "type": mtype, "params": params},
            search=None,
            seed=0,
            threads=1,
        ),
        {key(k): v for k, v in inputs.items()},
        str(root),
        ".",
        str(root / "logs" / f"{fp}.log"),
    )


@pytest.mark.slow
@pytest.mark.parametrize("mtype", ["xgboost", "logistic_regression"])
def test_a_train_step_gives_one_file_inline_in_a_worker_and_in_a_used_worker(
    tmp_path: Path, mtype: str
) -> None:
    digests = {}
    for mode in ("inline", "worker", "used worker"):
        root = tmp_path / mode.replace(" ", "_")
        store = ArtifactStore(root)
        inputs = data_inputs(store)
        task = _task(root, inputs, "a" * 64, mtype)
        if mode == "inline":
            result = run_task(task)
        else:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(1, ctx, _init_worker, (1,)) as pool:
                if mode == "used worker":  # another model first: its strings are in memory
                    other = "hist_gradient_boosting" if mtype == "xgboost" else "xgboost"
                    assert pool.submit(run_task, _task(root, inputs, "b" * 64, other)).result().ok
                result = pool.submit(run_task, task).result()
        assert result.ok, result.error
        data = store.open("a" * 64).path(PIPELINE).read_bytes()
        digests[mode] = hashlib.sha256(data).hexdigest()
    assert len(set(digests.values())) == 1, digests
