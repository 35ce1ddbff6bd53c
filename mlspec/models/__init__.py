"""Models: estimators from the model table and their persistence.

Kept light on import (no submodule is imported here).

- `estimators`: model type -> scikit-learn Pipeline (preprocessing + estimator), seeded.
- `persist`: the native model files and ``model.json``.

Preprocessing and prediction are scoring code (`mlspec.scoring`): serving and monitoring
import them without the training steps.
"""
