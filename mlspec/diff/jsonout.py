"""The JSON form of a SpecDiff (schema version 1, documented in `mlspec.diff` and docs/diff.md)."""

from __future__ import annotations

import json
from typing import Any

from mlspec.diff.changes import DATA_NOT_HASHED, SpecDiff

SCHEMA_VERSION = 1


def to_dict(d: SpecDiff) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "base": d.base_file,
        "head": d.head_file,
        "summary": d.summary(),
        "counts": {a: d.count(a) for a in ("new", "rerun", "reuse", "removed")},
        "objectives_touched": d.objectives_touched,
        "retrains": d.retrains,
        "weights": {n: {"base": a, "head": b} for n, (a, b) in d.weights.items()},
        "changes": [
            {
                "path": c.path,
                "kind": c.kind,
                "base_line": c.base_line,
                "head_line": c.head_line,
                "base": c.base,
                "head": c.head,
            }
            for c in d.changes
        ],
        "steps": [
            {
                "step": s.step,
                "kind": s.kind,
                "action": s.action,
                "reasons": list(s.reasons),
                "inputs": list(s.inputs),
                "base_fingerprint": s.base_fingerprint,
                "head_fingerprint": s.head_fingerprint,
            }
            for s in d.steps
        ],
        "metrics": [
            {
                "scope": m.scope,
                "step": m.step,
                "metric": m.metric,
                "base": m.base,
                "head": m.head,
                "delta": m.delta,
            }
            for m in d.metrics
        ],
        "store": d.store,
        "data": DATA_NOT_HASHED,
    }


def render_json(d: SpecDiff) -> str:
    return json.dumps(to_dict(d), indent=2, sort_keys=False, ensure_ascii=False, default=str)
