"""The promoted version's bundle and the reference its `profile` step stored in it.

`promoted` finds the production version of a system in the registry and opens its bundle
through the store, which verifies every file's digest before anything is read (and before
`scoring` unpickles a model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from mlspec.monitor.errors import MonitorError

BUNDLE = "bundle/"


@dataclass
class Reference:
    """A bundle folder and its ``profile.json``."""

    bundle: Path
    version: int | None
    profile: dict[str, Any]
    _samples: dict[str, pl.DataFrame] = field(default_factory=dict)

    @classmethod
    def from_bundle(cls, bundle: Path, version: int | None = None) -> Reference:
        path = bundle / "profile.json"
        profile = json.loads(path.read_text("utf-8")) if path.is_file() else {}
        if profile.get("format", 1) < 2:
            raise MonitorError(
                f"version {version}'s bundle holds no monitoring reference (it was packaged before monitoring existed)",
                "run the spec again to package a new version, and promote it",
            )
        return cls(bundle, version, profile)

    @cached_property
    def bundle_info(self) -> dict[str, Any]:
        return json.loads((self.bundle / "bundle.json").read_text("utf-8"))

    def split(self, name: str) -> dict[str, Any] | None:
        """``{"rows", "columns", "sample"}`` of a profiled split, or None."""
        return (self.profile.get("references") or {}).get(name)

    def sample(self, file: str) -> pl.DataFrame:
        if file not in self._samples:
            self._samples[file] = pl.read_parquet(self.bundle / file)
        return self._samples[file]

    def kinds(self) -> dict[str, str]:
        """Every profiled input column -> 'numeric' | 'categorical' (over all splits)."""
        out: dict[str, str] = {}
        for part in (self.profile.get("references") or {}).values():
            for c, d in part["columns"].items():
                out.setdefault(c, d["kind"])
        return out

    @property
    def objectives(self) -> dict[str, Any]:
        return self.bundle_info.get("objectives") or {}


def promoted(store_root: Path, name: str) -> Reference:
    """The reference of `name`'s production version; MonitorError if there is none."""
    from mlspec.registry import ModelRegistry
    from mlspec.store import ArtifactStore
    from mlspec.store.artifacts import ArtifactError

    registry = ModelRegistry(store_root)
    version = registry.production(name)
    if version is None:
        have = [v.version for v in registry.list(name)]
        raise MonitorError(
            f"'{name}' has no promoted (production) version to monitor",
            f"promote one: mlspec models promote {name} {have[-1]} --store {store_root}"
            if have
            else "run the spec first (mlspec run SPEC), then promote its version",
        )
    try:
        artifact = ArtifactStore(store_root).open(version.fingerprint)
        files = [n for n in artifact.manifest.files if n.startswith(BUNDLE)]
        for n in files:
            artifact.path(n)  # verifies the file's digest
        root = artifact.path(f"{BUNDLE}bundle.json").parent
    except (ArtifactError, ValueError) as exc:
        raise MonitorError(f"version {version.version} of '{name}': {exc}") from None
    return Reference.from_bundle(root, version.version)
