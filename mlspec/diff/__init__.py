"""Semantic diffs of two specs, for pull-request review (`mlspec diff`, `mlspec plan --base`).

`compare(base, head)` gives a `SpecDiff`: the spec paths that changed (mappings by key, lists
of named items by name, so formatting and reordering are no change), what each step of the
plan would do (new / rerun with the reasons of `fingerprint.explain` / reuse / removed),
the models that retrain, and, when the store has runs of both sides, the metric deltas.
Data files are never read (a constant stands in for their hashes): light and safe on a
stranger's pull request.

JSON schema, version 1 (`mlspec diff --json`; fields are only ever added within a version)::

    {
      "version": 1,
      "base": "origin/main:spec.yaml", "head": "spec.yaml",
      "summary": "2 objectives touched · 0 models retrain · 5 steps rerun · 25 reused · ...",
      "counts": {"new": 0, "rerun": 5, "reuse": 25, "removed": 0},
      "objectives_touched": ["engagement", "quality"],
      "retrains": ["train.quality.gbt"],               # train steps that are new or rerun
      "weights": {"quality": {"base": 0.7, "head": 0.6}},  # changed weights only
      "changes": [{"path": "combine.weights.quality", "kind": "changed",   # added|removed|changed
                   "base_line": 128, "head_line": 128, "base": 0.7, "head": 0.6}],
      "steps": [{"step": "combine", "kind": "combine", "action": "rerun",  # new|rerun|reuse|removed
                 "reasons": ["spec path combine.weights.quality changed"],
                 "inputs": ["evaluate.quality.lr", ...],
                 "base_fingerprint": "9f…" | null, "head_fingerprint": "a1…" | null}],
      "metrics": [{"scope": "quality" | "combine" | "gate", "step": "evaluate.quality.lr",
                   "metric": "roc_auc", "base": 0.81, "head": 0.83, "delta": 0.02}],
      "store": "/repo/.mlspec" | null,
      "data": "not-hashed"
    }

Steps are in the head plan's order, then the removed ones in the base plan's order.
"""

from mlspec.diff.changes import Change, MetricDelta, SpecDiff, StepAction, compare

__all__ = ["Change", "MetricDelta", "SpecDiff", "StepAction", "compare"]
