"""A linear model scores a row alike whatever rows come with it (`scoring/linear.py`).

With scikit-learn's own predict_proba (BLAS), a row's probability differed in the last bit
between a one-row call, small blocks and the tail of a large call: a served answer could
differ from `mlspec predict` and from the combine step for the same row.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlspec.scoring.linear import output_fn, rowdot
from mlspec.scoring.predict import predict

RNG = np.random.default_rng(7)
X = RNG.normal(size=(3000, 12)) * RNG.uniform(0.1, 50, size=12)
SIZES = (1, 2, 3, 5, 7, 33, 1001)


def _blocks(score, X: np.ndarray) -> int:  # type: ignore[no-untyped-def]
    """Rows whose score differs between the whole matrix and blocks of SIZES."""
    whole = score(X)
    differ = 0
    for n in SIZES:
        for start in range(0, 600, n):
            differ += int((score(X[start : start + n]) != whole[start : start + n]).sum())
    return differ


@pytest.mark.parametrize("classes", [2, 3])
def test_a_logistic_regressions_scores_do_not_depend_on_the_batch(classes: int) -> None:
    y = np.digitize(X[:, 0] + X[:, 1] * 0.1 + RNG.normal(size=len(X)) * 5, [0, 5][: classes - 1])
    pipe = Pipeline([("s", StandardScaler()), ("m", LogisticRegression(max_iter=500))]).fit(X, y)
    task = "binary" if classes == 2 else "multiclass"
    ours = lambda rows: predict(pipe, rows, task, list(range(classes))).proba  # noqa: E731
    assert _blocks(ours, X) == 0
    # ... within a rounding of scikit-learn's own
    np.testing.assert_allclose(ours(X), pipe.predict_proba(X), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("model", [LinearRegression(), Ridge(alpha=2.0), Lasso(alpha=0.01)])
def test_linear_regressors_alike_and_close_to_scikit_learn(model) -> None:  # type: ignore[no-untyped-def]
    y = X @ RNG.normal(size=12) + RNG.normal(size=len(X))
    pipe = Pipeline([("s", StandardScaler()), ("m", model)]).fit(X, y)
    ours = lambda rows: predict(pipe, rows, "regression", None).score  # noqa: E731
    assert _blocks(ours, X) == 0
    np.testing.assert_allclose(ours(X), pipe.predict(X), rtol=1e-12, atol=1e-12)


def test_sparse_rows_and_other_models() -> None:
    A = sparse.random(500, 40, density=0.1, random_state=1, format="csr")
    W = RNG.normal(size=(2, 40))
    whole = rowdot(A, W)
    assert all((rowdot(A[i : i + 3], W) == whole[i : i + 3]).all() for i in range(0, 300, 3))
    np.testing.assert_allclose(whole, A @ W.T, rtol=1e-13, atol=1e-15)
    from sklearn.tree import DecisionTreeClassifier

    assert output_fn(DecisionTreeClassifier()) is None  # trees score each row alike already
