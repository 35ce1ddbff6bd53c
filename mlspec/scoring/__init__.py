"""Scoring: what turns a row into a score, shared by training, `predict`, `serve`, `monitor`.

- `expressions`: the feature expression IR (`mlspec.lang.expr`) compiled to polars.
- `preprocess`: polars features -> numpy matrix; the fitted ColumnTransformer; target checks.
- `predict`: score / label / probabilities of a fitted pipeline.

Nothing here imports a step module, so a server loads a bundle without the training code.
"""
