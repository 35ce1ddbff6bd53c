"""Features table -> matrix, the fitted transform, target checks, unseen categories."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl
import pytest
from test_models_store import FEATURES, FRAME, feature, objective

from mlspec.contract.api import StepError
from mlspec.models.estimators import build, fit, resolve
from mlspec.models.persist import meta
from mlspec.scoring.predict import predict
from mlspec.scoring.preprocess import (
    check_values,
    constant_features,
    matrix,
    signature,
    target,
    unseen,
)
from mlspec.scoring.transform import transformer

SMALL = pl.DataFrame(
    {
        "x": [1.0, None, 3.0, 4.0, 5.0, 6.0],
        "n": [1, 2, 3, 4, 5, 6],
        "c": ["a", "b", None, "a", "b", "a"],
        "k": [7.0] * 6,
        "y": [0, 1, 0, 1, 0, 1],
    }
)


def _fails(fn: Any, *words: str) -> StepError:
    with pytest.raises(StepError) as info:
        fn()
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    return info.value


# ----------------------------------------------------------------------------- matrix


def test_matrix_is_float_when_every_feature_is_numeric() -> None:
    X = matrix(SMALL, [feature("x"), feature("n")])
    assert X.dtype == np.float64 and X.shape == (6, 2)
    assert np.isnan(X[1, 0]) and X[5, 1] == 6.0


def test_numeric_matrix_is_c_ordered_and_follows_the_spec_order() -> None:
    df = pl.DataFrame({"a": [1, None, 3], "b": [True, False, None], "c": [0.5, 1.5, 2.5]})
    X = matrix(df, [feature("c"), feature("a"), feature("b"), feature("a")])
    assert X.flags["C_CONTIGUOUS"] and X.dtype == np.float64
    expected = np.array([[0.5, 1.0, 1.0, 1.0], [1.5, np.nan, 0.0, np.nan], [2.5, 3.0, np.nan, 3.0]])
    assert np.array_equal(X, expected, equal_nan=True)
    assert matrix(df.clear(), [feature("a")]).shape == (0, 1)


def test_matrix_is_object_with_categories_as_text_and_none() -> None:
    X = matrix(SMALL, [feature("x"), feature("c", "categorical")])
    assert X.dtype == object
    assert X[0, 1] == "a" and X[2, 1] is None and isinstance(X[0, 0], float) and np.isnan(X[1, 0])


def test_matrix_refuses_text_as_a_numeric_feature() -> None:
    _fails(
        lambda: matrix(SMALL, [feature("c")]),
        "numeric feature 'c' must hold numbers",
        "String",
        "categorical",
    )


def test_matrix_names_a_missing_column() -> None:
    _fails(lambda: matrix(SMALL, [feature("xx")]), "no column 'xx'")


# ----------------------------------------------------------------------------- transform


def _fit_transform(
    features: list[dict[str, Any]], df: pl.DataFrame = SMALL
) -> tuple[Any, np.ndarray]:
    ct = transformer(features)
    return ct, ct.fit_transform(matrix(df, features))


def test_transformer_groups_features_with_equal_settings() -> None:
    feats = [
        feature("x", impute="median", scale="standard"),
        feature("n", impute="median", scale="standard"),
        feature("k"),
        feature("c", "categorical"),
    ]
    ct, out = _fit_transform(feats)
    assert [name for name, _, _ in ct.transformers] == [
        "numeric-median-standard",
        "numeric",
        "categorical-onehot",
    ]
    # adjacent columns are a slice: the matrix reaches the model as a view, C-ordered
    assert [cols for _, _, cols in ct.transformers] == [slice(0, 2), slice(2, 3), slice(3, 4)]
    apart = transformer(
        [feature("x", scale="standard"), feature("k"), feature("n", scale="standard")]
    )
    assert [cols for _, _, cols in apart.transformers] == [[0, 2], slice(1, 2)]
    assert out.dtype == np.float64 and out.shape == (6, 2 + 1 + 3)  # a, b and the null category
    assert np.allclose(out[:, :2].mean(axis=0), 0) and not np.isnan(out).any()


def test_one_group_of_every_feature_is_its_own_pipeline() -> None:
    """No ColumnTransformer around one group: numeric pass-through features reach the model as
    the same array (no copy), and predictions equal those through a ColumnTransformer."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    plain = transformer([feature("x"), feature("n"), feature("k")])
    assert isinstance(plain, Pipeline)
    X = matrix(SMALL, [feature("x"), feature("n"), feature("k")])
    assert plain.fit_transform(X) is X
    scaled = [
        feature("x", impute="median", scale="standard"),
        feature("n", impute="median", scale="standard"),
    ]
    assert isinstance(transformer(scaled), Pipeline)
    wrapped = ColumnTransformer([("all", transformer(scaled), slice(0, 2))], sparse_threshold=0.0)
    X2 = matrix(SMALL, scaled)
    assert np.array_equal(transformer(scaled).fit_transform(X2), wrapped.fit_transform(X2))
    assert isinstance(transformer([feature("x"), feature("c", "categorical")]), ColumnTransformer)


def test_importance_of_one_hot_features_without_a_column_transformer() -> None:
    """The model's importances of encoded columns still sum back to their features."""
    from mlspec.steps.evaluate import _model_importance

    feats = [feature("c", "categorical"), feature("size", "categorical")]
    frame = FRAME.with_columns(c=pl.Series(np.where(FRAME["f0"].to_numpy() > 0, "p", "q")))
    pipe = build(
        objective(features=feats), {"name": "lr", "type": "logistic_regression", "params": {}}, 0, 1
    )
    fit(
        pipe, matrix(frame, feats), target(frame, objective(features=feats))[0], threads=1, what="t"
    )
    found, source = _model_importance(pipe, feats)
    assert source == "coef_" and found is not None and set(found) == {"c", "size"}
    assert all(v > 0 for v in found.values())


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"impute": "mean"}, 19 / 5),
        ({"impute": "median"}, 4.0),
        ({"impute": "most_frequent"}, 1.0),
        ({"impute": "constant", "fill_value": -1}, -1.0),
    ],
)
def test_numeric_imputation(spec: dict[str, Any], expected: float) -> None:
    _, out = _fit_transform([feature("x", **spec)])
    assert out[1, 0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("scale", "check"),
    [
        ("minmax", lambda c: np.allclose([c.min(), c.max()], [0, 1])),
        ("robust", lambda c: np.median(c) == 0),
    ],
)
def test_numeric_scaling(scale: str, check: Any) -> None:
    _, out = _fit_transform([feature("n", scale=scale)])
    assert check(out[:, 0])


def test_categorical_imputation_and_ordinal_encoding() -> None:
    _, out = _fit_transform([feature("c", "categorical", impute="most_frequent")])
    assert out.shape == (6, 2) and out[2].tolist() == [1.0, 0.0]  # null -> 'a'
    _, out = _fit_transform([feature("c", "categorical", impute="constant", fill_value="zz")])
    assert out.shape == (6, 3) and out[2].tolist() == [0.0, 0.0, 1.0]
    _, out = _fit_transform([feature("c", "categorical", encoding="ordinal")])
    assert out[:, 0].tolist() == [0.0, 1.0, 2.0, 0.0, 1.0, 0.0]  # null is a category, last


def test_numeric_constant_needs_a_number() -> None:
    _fails(
        lambda: transformer([feature("x", impute="constant", fill_value="a")]),
        "fill_value must be a number",
    )


def test_unseen_categories_are_handled_and_counted() -> None:
    feats = [
        feature("x", impute="median"),
        feature("c", "categorical"),
        feature("c2", "categorical", encoding="ordinal"),
    ]
    train_df = SMALL.with_columns(c2=pl.col("c"))
    obj = {**objective(), "target": "y", "features": feats}
    X = matrix(train_df, feats)
    y, classes = target(train_df, obj)
    pipeline = fit(
        build(obj, {"name": "m", "type": "logistic_regression", "params": {}}, 0, 1),
        X,
        y,
        threads=1,
        what="fit",
    )
    info = meta(
        resolve({"type": "logistic_regression", "params": {}}, "binary", 0, 1),
        obj,
        classes,
        signature(X, feats),
    )
    new = pl.DataFrame({"x": [2.0, 3.0, None], "c": ["zzz", "a", None], "c2": ["q", "r", "a"]})
    Xn = matrix(new, feats)
    assert unseen(Xn, info["signature"]) == {"c": 1, "c2": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "unknown categories" warning leaks
        p = predict(pipeline, Xn, "binary", classes, meta=info)
    assert p.unseen == {"c": 1, "c2": 2} and np.isfinite(p.score).all()
    encoded = pipeline[0].transform(Xn)
    assert (
        encoded[0, 1:4].tolist() == [0.0, 0.0, 0.0] and encoded[0, 4] == -1.0
    )  # onehot zeros, ordinal -1


def test_signature_lists_sorted_train_categories() -> None:
    feats = [feature("x"), feature("c", "categorical")]
    sig = signature(matrix(SMALL, feats), feats)
    assert sig == {
        "columns": [
            {"name": "x", "type": "numeric", "dtype": "float64"},
            {"name": "c", "type": "categorical", "dtype": "string", "categories": ["a", "b"]},
        ]
    }


def test_constant_features() -> None:
    feats = [feature("x"), feature("k"), feature("c", "categorical")]
    assert constant_features(matrix(SMALL, feats), feats) == ["k"]
    one = pl.DataFrame({"c": ["a", None, "a"]})
    assert constant_features(
        matrix(one, [feature("c", "categorical")]), [feature("c", "categorical")]
    ) == ["c"]


# ----------------------------------------------------------------------------- values


def test_missing_values_need_impute_unless_the_model_takes_them() -> None:
    feats = [feature("x"), feature("n")]
    X = matrix(SMALL, feats)
    err = _fails(
        lambda: check_values(X, feats, nan_ok=False, model="svm", what="the train split"),
        "'x' (1 of 6)",
        "missing values in the train split",
        "'svm' cannot take missing values",
    )
    assert err.hint is not None and "impute:" in err.hint
    # in an object matrix too, numeric columns are counted in feature order
    mixed = [feature("c", "categorical"), feature("x"), feature("n")]
    _fails(
        lambda: check_values(matrix(SMALL, mixed), mixed, nan_ok=False, model="svm", what="t"),
        "feature(s) 'x' (1 of 6) have missing values in t",
    )
    check_values(X, feats, nan_ok=True, model="xgboost", what="the train split")
    check_values(
        X, [feature("x", impute="median"), feature("n")], nan_ok=False, model="svm", what="t"
    )


def test_infinite_values_are_counted_per_feature_before_missing_ones() -> None:
    inf = float("inf")
    df = pl.DataFrame({"a": [inf, -inf, 1.0], "b": [1.0, None, 2.0], "c": [None, inf, 0.0]})
    feats = [feature("a"), feature("b"), feature("c")]
    _fails(
        lambda: check_values(matrix(df, feats), feats, nan_ok=False, model="m", what="t"),
        "feature(s) 'a' (2), 'c' (1) hold infinite values in t.",
    )


def test_constant_features_ignore_missing_values() -> None:
    nan = float("nan")
    df = pl.DataFrame(
        {"a": [nan, 2.0, 2.0], "b": [nan, nan, nan], "c": [1.0, nan, 3.0], "d": [4.0, 4.0, 4.0]}
    )
    feats = [feature(n) for n in "abcd"]
    assert constant_features(matrix(df, feats), feats) == ["a", "b", "d"]
    assert constant_features(matrix(df.clear(), feats), feats) == ["a", "b", "c", "d"]


def test_infinite_values_are_refused() -> None:
    df = SMALL.with_columns(x=pl.Series([1.0, float("inf"), 2.0, 3.0, 4.0, 5.0]))
    _fails(
        lambda: check_values(
            matrix(df, [feature("x")]),
            [feature("x")],
            nan_ok=True,
            model="m",
            what="the train split",
        ),
        "'x' (1)",
        "infinite",
    )


# ----------------------------------------------------------------------------- target


def test_binary_target_classes_are_sorted_and_encoded() -> None:
    df = pl.DataFrame({"t": ["yes", "no", "yes"]})
    y, classes = target(df, {"task": "binary", "target": "t", "name": "o"})
    assert classes == ["no", "yes"] and y.tolist() == [1, 0, 1]
    y, classes = target(
        pl.DataFrame({"t": [True, False]}), {"task": "binary", "target": "t", "name": "o"}
    )
    assert classes == [False, True] and y.tolist() == [1, 0]


def test_target_encoding_with_train_classes() -> None:
    obj = {"task": "multiclass", "target": "t", "name": "o"}
    y, _ = target(pl.DataFrame({"t": ["c", "a"]}), obj, ["a", "b", "c"])
    assert y.tolist() == [2, 0]
    _fails(
        lambda: target(pl.DataFrame({"t": ["d"]}), obj, ["a", "b", "c"], what="the valid split"),
        "'d'",
        "the valid split",
        "never saw in train",
    )


def test_regression_target_is_float() -> None:
    y, classes = target(FRAME, objective("regression"))
    assert y.dtype == np.float64 and classes is None


@pytest.mark.parametrize(
    ("df", "task", "words"),
    [
        (pl.DataFrame({"z": [1]}), "binary", ["no target column 't'"]),
        (pl.DataFrame({"t": [1, None, 0, None]}), "binary", ["2 missing value(s)", "of 4 rows"]),
        (pl.DataFrame({"t": [1.0, float("nan"), 0.0]}), "regression", ["1 missing value(s)"]),
        (
            pl.DataFrame({"t": ["a", "b"]}),
            "regression",
            ["must be numeric", "dtype String", "binary or multiclass"],
        ),
        (pl.DataFrame({"t": [True, False]}), "regression", ["must be numeric", "Boolean"]),
        (pl.DataFrame({"t": [1, 1, 1]}), "binary", ["single class (1)", "at least two"]),
        (
            pl.DataFrame({"t": ["a", "b", "c"]}),
            "binary",
            ["must have 2 classes. Got 3", "multiclass"],
        ),
        (
            pl.DataFrame({"t": ["a", "b", "a"]}),
            "multiclass",
            ["at least 3 classes. Got 2", "task: binary"],
        ),
        (pl.DataFrame({"t": ["a", "a"]}), "multiclass", ["single class ('a')"]),
    ],
)
def test_bad_targets_are_step_errors(df: pl.DataFrame, task: str, words: list[str]) -> None:
    _fails(lambda: target(df, {"task": task, "target": "t", "name": "o"}), *words)


def test_breast_cancer_features_round_trip() -> None:
    X = matrix(FRAME, FEATURES)
    assert X.dtype == object and X.shape == (FRAME.height, len(FEATURES))


def test_read_rows_filters_one_part_and_checks_the_lengths() -> None:
    from steps_fakes import FakeReader

    from mlspec.scoring.preprocess import read_rows

    table = FakeReader(
        pl.DataFrame({"x": [10, 11, 12, 13, 14], "y": [0, 1, 0, 1, 0], "z": [1] * 5})
    )
    parts = np.array([0, 2, 0, 1, 2], dtype=np.uint8)
    assert read_rows(table, ["x", "y"], parts, 2).to_dict(as_series=False) == {
        "x": [11, 14],
        "y": [1, 0],
    }
    assert read_rows(table, ["x"], parts, None)["x"].to_list() == [10, 11, 12, 13, 14]
    with pytest.raises(StepError, match="the split has 4 rows but the features table has 5"):
        read_rows(table, ["x"], parts[:4], 0)
