"""Fingerprints: a step's identity as a hash whose parts are kept, so every "why" has an answer.

A fingerprint hashes the step's kind and code version, its params, the spec slices it reads,
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

from mlspec.compile.jsondiff import display_path, semantic_diff
from mlspec.compile.node import Step
from mlspec.compile.plan import Plan
from mlspec.lang.paths import data_path
from mlspec.steps.kinds import KINDS, code_version, library_version
from mlspec.store.hashing import file_digest

FINGERPRINT_VERSION = 2  # 2: data files hashed with BLAKE3


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces; floats that are whole stay floats."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True
    )


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def identity(params: Any) -> Any:
    """Params without their `where` entries: a spec location (``spec.yaml:12:7``) is for
    messages, not identity, so reformatting a spec or moving the project reruns nothing."""
    if isinstance(params, dict):
        return {k: identity(v) for k, v in params.items() if k != "where"}
    if isinstance(params, list):
        return [identity(v) for v in params]
    return params


@dataclass(frozen=True)
class Fingerprint:
    digest: str
    parts: dict[str, Any]

    @property
    def short(self) -> str:
        return self.digest[:12]


def fingerprint_step(
    step: Step, upstream: dict[str, str], file_hash: Callable[[str], str]
) -> Fingerprint:
    kind = KINDS[step.kind]
    parts = {
        "v": FINGERPRINT_VERSION,
        "kind": step.kind,
        "code": code_version(step.kind),
        "params": digest(identity(step.params)),
        "reads": step.reads,
        "upstream": upstream,
        "files": {rel: file_hash(rel) for rel in step.files},
        "libraries": {lib: library_version(lib) for lib in kind.libraries},
    }
    return Fingerprint(digest(parts), parts)


def fingerprint_plan(plan: Plan, file_hash: Callable[[str], str]) -> dict[str, Fingerprint]:
    """Fingerprints of every step, upstream first."""
    out: dict[str, Fingerprint] = {}
    for step in plan.steps():
        upstream = {name: out[sid].digest for name, sid in sorted(step.inputs.items())}
        out[step.id] = fingerprint_step(step, upstream, file_hash)
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
    """Spec paths at which two JSON values differ (``features[2].expr changed``), by index:
    a step's reads are compared slice by slice, as the fingerprint hashed them."""
    return [f"{display_path(p)} {kind}" for p, kind in semantic_diff(old, new, by_name=False)]


def explain(
    current: dict[str, Any],
    previous: dict[str, Any] | None,
    step_names: dict[str, str] | None = None,
) -> list[str]:
    """Why a step's fingerprint differs from its last recorded one, most specific first."""
    if previous is None:
        return ["never run"]
    reasons: list[str] = []
    reasons += [
        "spec path " + p for p in diff_paths(previous.get("reads", {}), current.get("reads", {}))
    ]
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
    for name in sorted(set(old_up) | set(new_up)):
        if old_up.get(name) != new_up.get(name):
            label = (step_names or {}).get(name, name)
            reasons.append(f"upstream {label} changed")
    if not reasons and previous.get("params") != current.get("params"):
        reasons.append("step parameters changed")
    if not reasons and previous.get("v") != current.get("v"):
        reasons.append("fingerprint format changed")
    return reasons or ["artifact missing from the store"]
