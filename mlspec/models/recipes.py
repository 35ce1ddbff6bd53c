"""What mlspec adds to a model type beyond the model table: data, no scikit-learn.

Its own module so that a step decides what it will do with a model type (does it read
features? may its fit borrow cores?) before scikit-learn is imported (see `steps/train.py`).
`models.estimators` builds the estimators from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Recipe:
    """What mlspec adds to a model type beyond the table."""

    defaults: Mapping[str, Any] = field(default_factory=dict)  # unless the user sets them
    threads: bool = True  # set n_jobs where the estimator has it
    calibrate: bool = False  # a classifier without usable predict_proba: wrap it
    ignored: frozenset[str] = frozenset()  # params mlspec replaces (warned, then dropped)
    uses_features: bool = True  # False: fits on the target alone (NaN in X is harmless)
    any_threads: bool = False  # the fitted model is the same whatever its thread count


RECIPES: dict[str, Recipe] = {
    "logistic_regression": Recipe(defaults={"max_iter": 1000}, threads=False),
    "ridge": Recipe(calibrate=True),
    "svm": Recipe(calibrate=True, ignored=frozenset({"probability"})),
    "xgboost": Recipe(defaults={"tree_method": "hist"}, any_threads=True),
    "dummy": Recipe(uses_features=False),
}
_PLAIN = Recipe()


def recipe(model_type: str) -> Recipe:
    return RECIPES.get(model_type, _PLAIN)
