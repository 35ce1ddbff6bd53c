"""From what a user names (a spec file or a bundle folder) to a verified bundle.

- A spec: its store (``execution.store``, or `store`) and the registry's production version
  of the spec's ``name``; the bundle is read in place in the store and its manifest must be
  the registry's ``bundle_sha``.
- A bundle folder (``mlspec models export``): verified against its own manifest; when it
  carries a registry claim (``version.json``) and a store is given, the claim is checked
  against that store's registry, and a mismatch is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlspec.scoring.bundle import BundleError, check_claim, claim


@dataclass(frozen=True)
class Located:
    folder: Path
    name: str | None
    version: int | None  # the registry version, when known
    expected_sha: str | None  # the registry's bundle_sha, when known
    store: Path | None  # the registry to watch (a spec, or a bundle given with a store)

    @property
    def label(self) -> str | None:
        return None if self.version is None else str(self.version)


def spec_store(
    spec_path: str | os.PathLike[str], store: str | os.PathLike[str] | None
) -> tuple[str, Path]:
    """The spec's system name and store folder; BundleError with the diagnostics when the
    spec is invalid."""
    from mlspec.diagnostics import render_text
    from mlspec.lang.validate import validate_file

    result = validate_file(str(spec_path))
    if result.spec is None:
        sources = {result.file: result.text} if result.text is not None else {}
        raise BundleError(
            f"{spec_path} is not a valid spec:\n" + render_text(result.diagnostics, sources),
            "fix the spec (see `mlspec validate`)",
        )
    spec = result.spec
    root = Path(store) if store is not None else spec.root / spec.execution.get("store", ".mlspec")
    return spec.name, root.resolve()


def production(name: str, store: Path) -> Located:
    """The production version of `name` in `store`'s registry."""
    from mlspec.registry import BUNDLE, ModelRegistry
    from mlspec.store import ArtifactStore

    v = ModelRegistry(store).production(name)
    if v is None:
        versions = ModelRegistry(store).list(name)
        raise BundleError(
            f"'{name}' has no production version in {store}",
            f"promote one with `mlspec models promote {name} {versions[-1].version}`"
            if versions
            else "run the spec first (`mlspec run SPEC`), then promote a version",
        )
    folder = ArtifactStore(store).folder(v.fingerprint) / BUNDLE
    return Located(folder, name, v.version, v.bundle_sha, store)


def locate(target: str | os.PathLike[str], store: str | os.PathLike[str] | None = None) -> Located:
    path = Path(target)
    if path.is_dir():
        claimed = claim(path)
        if claimed is None or store is None:
            return Located(
                path,
                None if claimed is None else claimed["name"],
                None if claimed is None else claimed["version"],
                None,
                None,
            )
        from mlspec.registry import ModelRegistry, RegistryError

        try:
            v = ModelRegistry(store).get(claimed["name"], claimed["version"])
        except RegistryError as exc:
            raise BundleError(
                f"{path} claims to be {claimed['name']} version {claimed['version']}: {exc.message}",
                exc.hint,
                damaged=True,
            ) from None
        check_claim(path, v.bundle_sha, v.name, v.version)
        return Located(path, v.name, v.version, v.bundle_sha, Path(store))
    if path.is_file():
        name, root = spec_store(path, store)
        return production(name, root)
    raise BundleError(f"{target} does not exist", "give a spec file or a bundle folder")


def load(target: str | os.PathLike[str], store: str | os.PathLike[str] | None = None):  # type: ignore[no-untyped-def]
    """A `Scorer` of `target` (a spec: its production version; or a bundle folder)."""
    from mlspec.scoring.scorer import load_bundle

    found = locate(target, store)
    return load_bundle(found.folder, expected_sha=found.expected_sha, version=found.label)
