"""Encodings of categorical features, and the choice for a feature that names none.

By the spec's names (``encoding:``), each a scikit-learn transformer fitted inside the
model's Pipeline, so on the train split only:

- ``onehot``: one column per category seen in train (unseen: all zeros). Sparse when the
  model takes sparse input (XGBoost, linear models, forests; see `sparse_ok`), so a wide
  column costs memory per row, not per row and category.
- ``ordinal``: one column of category codes (unseen: -1).
- ``target``: scikit-learn's TargetEncoder: per category the (shrunk) mean of the target,
  cross-fitted on the train split (5 shuffled unstratified folds, seed 0), so a row's own target never
  encodes it; one column (one per class for multiclass). Unseen: the target mean.
- ``frequency``: per category the fraction of train rows holding it (unseen: 0).
- ``hashing``: scikit-learn's FeatureHasher into `HASH_BUCKETS` sparse columns: no
  vocabulary at all (unseen categories hash like any other).

Without ``encoding:`` a categorical feature is ``onehot`` while it has at most
`ONEHOT_MAX_LEVELS` distinct values on the train split, else ``target``, with a warning that
names the column and its cardinality (`choose`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import FeatureHasher
from sklearn.model_selection import KFold
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

ONEHOT_MAX_LEVELS = 100  # above this many train categories, no `encoding:` means `target`
WIDE_DEFAULT = "target"
HASH_BUCKETS = 1 << 12
UNKNOWN_CODE = -1  # what an ordinal encoder gives a category unseen in train
MISSING = "\x00missing"  # a null category, for encoders that take strings only (hashing)


class FrequencyEncoder(TransformerMixin, BaseEstimator):
    """Each category -> the fraction of fitting rows that hold it (unseen: 0; None counts)."""

    def fit(self, X: Any, y: Any = None) -> FrequencyEncoder:
        X = np.asarray(X, dtype=object)
        self.frequencies_ = []
        for j in range(X.shape[1]):
            counts = pl.Series("v", _keys(X[:, j]), dtype=pl.String).value_counts(sort=True)
            counts = counts.sort(["count", "v"], descending=[True, False])  # a stable order
            freq = (counts.get_column("count") / max(len(X), 1)).to_list()
            self.frequencies_.append(dict(zip(counts.get_column("v").to_list(), freq, strict=True)))
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=object)
        out = np.empty(X.shape, dtype=np.float64)
        for j, freq in enumerate(self.frequencies_):
            keys = pl.Series(_keys(X[:, j]), dtype=pl.String)
            out[:, j] = keys.replace_strict(
                list(freq), list(freq.values()), default=0.0, return_dtype=pl.Float64
            ).to_numpy()
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = (
            input_features
            if input_features is not None
            else [f"x{j}" for j in range(self.n_features_in_)]
        )
        return np.asarray([f"{n}_frequency" for n in names], dtype=object)


def _keys(column: np.ndarray) -> np.ndarray:
    """Category values as strings, None as `MISSING`."""
    return np.asarray([MISSING if v is None else str(v) for v in column], dtype=object)


def _hasher() -> Any:
    return FeatureHasher(n_features=HASH_BUCKETS, input_type="string", alternate_sign=False)


ENCODERS: dict[str, Callable[[bool], Any]] = {  # name -> (sparse output ok) -> transformer
    "onehot": lambda sparse: OneHotEncoder(
        handle_unknown="ignore", sparse_output=sparse, dtype=np.float64
    ),
    "ordinal": lambda sparse: OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=UNKNOWN_CODE, dtype=np.float64
    ),
    # The folds as a splitter (scikit-learn 1.9 deprecates shuffle/random_state): seeded, so
    # the fit is reproducible; unstratified, so one encoder fits every task.
    "target": lambda sparse: TargetEncoder(cv=KFold(5, shuffle=True, random_state=0)),
    "frequency": lambda sparse: FrequencyEncoder(),
    "hashing": lambda sparse: _hasher(),
}
SPARSE = frozenset({"onehot", "hashing"})  # encodings whose output may be a sparse matrix
NEEDS_STRINGS = frozenset({"hashing"})  # nulls must become a string category first
ONE_PER_FEATURE = frozenset({"hashing"})  # one transformer per feature (no shared buckets)


def sparse_ok(estimator: Any) -> bool:
    """Does the model take a scipy sparse matrix (scikit-learn's input_tags.sparse)?"""
    from sklearn.utils import get_tags

    inner = getattr(estimator, "estimator", None)  # CalibratedClassifierCV: the wrapped model
    try:
        return bool(get_tags(estimator if inner is None else inner).input_tags.sparse)
    except (AttributeError, TypeError):
        return False


def choose(
    frame: pl.DataFrame, features: Sequence[dict[str, Any]], warn: Callable[[str], None]
) -> list[dict[str, Any]]:
    """The features with every categorical encoding settled by the train split's cardinality.

    A categorical feature without ``encoding`` gets ``onehot`` up to `ONEHOT_MAX_LEVELS`
    distinct values, else `WIDE_DEFAULT`; a wide one is warned about, naming the column and
    its cardinality (also when ``onehot`` was asked for: it is then sparse, or dense and big
    for a model that takes no sparse input).
    """
    out = []
    for f in features:
        if (f.get("type") or "numeric") != "categorical":
            out.append(f)
            continue
        levels = frame.get_column(f["name"]).n_unique() if f["name"] in frame.columns else 0
        encoding = f.get("encoding")
        if levels > ONEHOT_MAX_LEVELS and encoding is None:
            warn(
                f"categorical feature '{f['name']}' has {levels} distinct values on the train split "
                f"(more than {ONEHOT_MAX_LEVELS}): encoded with `{WIDE_DEFAULT}`; set `encoding:` "
                "(onehot, ordinal, target, frequency or hashing) to choose"
            )
        elif levels > ONEHOT_MAX_LEVELS and encoding == "onehot":
            warn(
                f"categorical feature '{f['name']}' has {levels} distinct values on the train split: "
                f"onehot makes {levels} columns; consider `encoding: target`, `frequency` or `hashing`"
            )
        if encoding is None:
            encoding = "onehot" if levels <= ONEHOT_MAX_LEVELS else WIDE_DEFAULT
        out.append({**f, "encoding": encoding})
    return out
