"""Fingerprints: a step's identity as a hash whose parts are kept, so every "why" has an answer.

A fingerprint hashes the step's kind and code version, its typed params' identity fields,
its upstream fingerprints, the content of the data files it reads and the versions of the
libraries that shape its output (Hamilton's cache key, plus data). Equal fingerprint means
equal artifact, so the step is skipped. `explain` compares the parts with the last recorded
ones and says, in spec terms, what changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.compile.jsondiff import PathPart, display_path, semantic_diff
from mlspec.compile.node import Step
from mlspec.compile.plan import Plan
from mlspec.contract.params import key_text
from mlspec.lang.paths import data_path
from mlspec.steps.kinds import KINDS, code_version, library_version
from mlspec.store.hashing import file_digest

FINGERPRINT_VERSION = 3  # 3: params are the kind's typed params; inputs may be column slices


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces; floats that are whole stay floats."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True
    )


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


# Parts kept for messages, not hashed: where params came from, and what readers of single
# columns depend on.
_UNHASHED = ("sources", "columns", "read")


@dataclass(frozen=True)
class Fingerprint:
    digest: str
    parts: dict[str, Any]

    @property
    def short(self) -> str:
        return self.digest[:12]

    def of_columns(self, columns: tuple[str, ...]) -> str:
        """The identity of some of this step's output columns: what a reader of only those
        columns depends on. Steps without per-column identity give their whole digest."""
        per_column = self.parts.get("columns")
        if per_column is None:
            return self.digest
        return digest(
            {
                "rows": per_column["rows"],
                "columns": {c: per_column["each"].get(c, "missing") for c in columns},
            }
        )


def fingerprint_step(
    step: Step,
    upstream: dict[str, str],
    file_hash: Callable[[str], str],
    read: dict[str, dict[str, str]] | None = None,
) -> Fingerprint:
    kind = KINDS[step.kind]
    parts: dict[str, Any] = {
        "v": FINGERPRINT_VERSION,
        "kind": step.kind,
        "code": code_version(step.kind),
        "params": step.params.identity(),
        "upstream": upstream,
        "files": {rel: file_hash(rel) for rel in step.files},
        "libraries": {lib: library_version(lib) for lib in kind.libraries},
    }
    hashed = dict(parts)
    parts["sources"] = dict(step.sources)
    if read:  # per input read by column: each column's identity, to say which one changed
        parts["read"] = read
    column_parts = getattr(step.params, "column_parts", None)
    if column_parts is not None:
        # What fixes the rows (everything but the column definitions), then each column.
        rows = digest({k: v for k, v in hashed.items() if k != "params"})
        parts["columns"] = {
            "rows": rows,
            "each": {
                c: digest({"rows": rows, "column": c, "def": d}) for c, d in column_parts().items()
            },
        }
    return Fingerprint(digest(hashed), parts)


def fingerprint_plan(plan: Plan, file_hash: Callable[[str], str]) -> dict[str, Fingerprint]:
    """Fingerprints of every step, upstream first."""
    out: dict[str, Fingerprint] = {}
    for step in plan.steps():
        out[step.id] = fingerprint_step(
            step, upstream_digests(step, out), file_hash, columns_read(step, out)
        )
    return out


def columns_read(step: Step, done: dict[str, Fingerprint]) -> dict[str, dict[str, str]]:
    """Input key -> {column: identity} for the inputs the step reads by column."""
    out: dict[str, dict[str, str]] = {}
    for key, cols in step.columns.items():
        per = done[step.inputs[key]].parts.get("columns")
        if per is not None:
            out[key_text(key)] = {
                "(rows)": per["rows"],
                **{c: per["each"].get(c, "missing") for c in cols},
            }
    return out


def step_labels(step: Step) -> dict[str, str]:
    """Input key text -> the upstream step id, to name an upstream in a reason."""
    return {key_text(k): sid for k, sid in step.inputs.items()}


def upstream_digests(step: Step, done: dict[str, Fingerprint]) -> dict[str, str]:
    """Input key -> the identity of what the step reads from it (whole artifact or columns)."""
    out: dict[str, str] = {}
    for key, sid in sorted(step.inputs.items()):
        cols = step.columns.get(key)
        fp = done[sid]
        out[key_text(key)] = fp.digest if cols is None else fp.of_columns(cols)
    return out


def file_hasher(
    root: Path, cache: Callable[[Path], str] | None = None, external: Collection[str] = ()
) -> Callable[[str], str]:
    """Content hash of a spec-relative data file (the store's digest, so the run records' cache
    and a direct hash agree); a missing file hashes to a marker. `external`: the paths of
    sources marked ``external: true``; any other path that leads out of the project through a
    symlink is refused (`PathRefused`) before it is read."""

    def hash_file(rel: str) -> str:
        path = data_path(root, rel, external)  # checked before anything reads it
        if not path.is_file():
            return "missing"
        return cache(path) if cache is not None else file_digest(path)[0]

    return hash_file


# ----------------------------------------------------------------------------- why


def diff_paths(old: Any, new: Any) -> list[str]:
    """Paths at which two JSON values differ (``features[hour].expr changed``)."""
    return [f"{display_path(p)} {kind}" for p, kind in semantic_diff(old, new)]


def _spec_path(path: tuple[PathPart, ...], sources: dict[str, str]) -> str:
    """A params path as the spec path it came from: the longest field prefix with a recorded
    source, then the rest of the path (``objective.features[x].scale`` -> ``features[x].scale``)."""
    for n in range(len(path), 0, -1):
        head = display_path(path[:n])
        if head in sources:
            rest = display_path(path[n:]) if n < len(path) else ""
            if rest and not rest.startswith("["):
                rest = "." + rest
            return sources[head] + (rest if rest != "(spec)" else "")
    return "step parameter " + display_path(path)


def param_reasons(old: Any, new: Any, sources: dict[str, str]) -> list[str]:
    reasons: list[str] = []
    for path, kind in semantic_diff(old, new):
        where = _spec_path(path, sources)
        text = (
            f"{where} {kind}" if where.startswith("step parameter") else f"spec path {where} {kind}"
        )
        if text not in reasons:
            reasons.append(text)
    return reasons


def explain(
    current: dict[str, Any],
    previous: dict[str, Any] | None,
    step_names: dict[str, str] | None = None,
) -> list[str]:
    """Why a step's fingerprint differs from its last recorded one, most specific first."""
    if previous is None:
        return ["never run"]
    if previous.get("v") != current.get("v"):
        return ["fingerprint format changed"]
    reasons = param_reasons(
        previous.get("params", {}), current.get("params", {}), current.get("sources", {})
    )
    old_files, new_files = previous.get("files", {}), current.get("files", {})
    for rel in sorted(set(old_files) | set(new_files)):
        if rel not in old_files:
            reasons.append(f"reads new file {rel}")
        elif rel not in new_files:
            reasons.append(f"no longer reads {rel}")
        elif new_files[rel] == "missing":
            reasons.append(f"{rel} is missing")
        elif old_files[rel] != new_files[rel]:
            reasons.append(f"{rel} content changed")
    if previous.get("code") != current.get("code"):
        reasons.append(f"code of '{current.get('kind')}' steps changed")
    old_libs, new_libs = previous.get("libraries", {}), current.get("libraries", {})
    for lib in sorted(set(old_libs) | set(new_libs)):
        if old_libs.get(lib) != new_libs.get(lib):
            reasons.append(f"{lib} {old_libs.get(lib, 'none')} -> {new_libs.get(lib, 'none')}")
    old_up, new_up = previous.get("upstream", {}), current.get("upstream", {})
    old_read, new_read = previous.get("read", {}), current.get("read", {})
    for name in sorted(set(old_up) | set(new_up)):
        if old_up.get(name) != new_up.get(name):
            label = (step_names or {}).get(name, name)
            a, b = old_read.get(name), new_read.get(name)
            if a and b and a.get("(rows)") != b.get("(rows)"):
                reasons.append(f"upstream {label} changed (its rows)")
            elif a and b:
                cols = [c for c in sorted(set(a) | set(b)) if a.get(c) != b.get(c)]
                reasons.append(f"upstream {label} changed: columns {', '.join(cols)}")
            else:
                reasons.append(f"upstream {label} changed")
    return reasons or ["artifact missing from the store"]
