"""Models: estimators from the model table, preprocessing, persistence and prediction.

Kept light on import (no submodule is imported here): the train, trial and evaluate steps
import what they need, and `validate`/`plan` never import this package's heavy parts.

- `preprocess`: polars features table -> numpy matrix; the fitted ColumnTransformer; target checks.
- `estimators`: model type -> scikit-learn Pipeline (preprocessing + estimator), seeded.
- `persist`: the native model files and ``model.json``.
- `predict`: score / label / probabilities of a fitted pipeline.
"""
