"""A packaged bundle on disk: its manifest, its input signature, and the one verified loader.

A bundle folder holds ``bundle.json``, each objective's model files, ``reference.parquet``,
``profile.json`` and ``MANIFEST.json`` (``{"format", "files": {path: sha256}}``). Nothing
in it is trusted until `verify` has checked, before anything is unpickled:

1. when the caller knows which registry entry the bundle is (`expected_sha`: the registry's
   ``bundle_sha``, the sha256 of ``MANIFEST.json``), that the manifest is that one;
2. that every file the manifest lists is there, a plain file inside the folder (no ``..``,
   no symlink leaving it), with its digest;
3. that the folder holds no file the manifest does not list (``version.json``, the
   registry's claim written by `models export`, is the one exception: it is checked
   against the registry instead).

The digests come from the manifest, so a manifest alone certifies nothing: the binding to
what the store committed is the registry's ``bundle_sha`` (SQLite in the store, written at
registration). `mlspec.load(spec)` and `mlspec models verify --store` check it.

Standard library only (polars is imported inside `input_signature`), so `models verify`
stays light.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

BUNDLE_FORMAT = 1
BUNDLE_FILE = "bundle.json"
MANIFEST = "MANIFEST.json"
CLAIM = "version.json"  # {name, version, bundle_sha, fingerprint}: written by `models export`
MAX_MANIFEST_BYTES = 1 << 20


class BundleError(Exception):
    """A bundle that cannot be used: missing, damaged, or not the one it claims to be.

    `damaged` says which: True when a bundle was found and failed its integrity checks (a
    file changed, missing or added, a manifest not the registry's: exit 1, like a failed
    step), False when what the user named is no usable bundle at all (no such folder, an
    invalid spec, no production version: exit 2, a usage error).
    """

    def __init__(self, message: str, hint: str | None = None, *, damaged: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.damaged = damaged

    @property
    def exit_code(self) -> int:
        return 1 if self.damaged else 2


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def manifest(folder: Path) -> dict[str, Any]:
    """{"format", "files": {relative posix path: sha256}} of every file under `folder` but the
    manifest (what the package step writes)."""
    files = {
        p.relative_to(folder).as_posix(): sha256_of(p)
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST
    }
    return {"format": BUNDLE_FORMAT, "files": dict(sorted(files.items()))}


def _inside(folder: Path, rel: str) -> Path:
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in rel:
        raise BundleError(f"MANIFEST.json lists an unsafe path {rel!r}", damaged=True)
    path = folder.joinpath(*parts)
    if path.is_symlink() or not path.resolve().is_relative_to(folder.resolve()):
        raise BundleError(
            f"bundle file '{rel}' is a link or leaves the bundle folder", damaged=True
        )
    return path


def verify(folder: str | os.PathLike[str], expected_sha: str | None = None) -> dict[str, Any]:
    """Check the bundle's files against its manifest (and the manifest against
    `expected_sha`); returns the manifest. Reads every byte once; unpickles nothing."""
    root = Path(folder)
    mpath = root / MANIFEST
    if not root.is_dir():
        raise BundleError(f"{root} is not a folder", "give a bundle folder or a spec file")
    if not mpath.is_file() or mpath.is_symlink():
        raise BundleError(
            f"{root} is not a bundle: it has no {MANIFEST}",
            "export one with `mlspec models export NAME VERSION FOLDER`",
        )
    if mpath.stat().st_size > MAX_MANIFEST_BYTES:
        raise BundleError(f"{mpath} is larger than {MAX_MANIFEST_BYTES} bytes", damaged=True)
    raw = mpath.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    if expected_sha is not None and sha != expected_sha:
        raise BundleError(
            f"{mpath} is not the manifest the registry holds for this version "
            f"(sha256 {sha[:12]}..., registered {expected_sha[:12]}...)",
            "the bundle was changed after it was registered; export it again from the store",
            damaged=True,
        )
    try:
        doc = json.loads(raw)
        files: dict[str, str] = doc["files"]
        if not isinstance(files, dict) or doc.get("format") != BUNDLE_FORMAT:
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise BundleError(
            f"{mpath} is not a bundle manifest of format {BUNDLE_FORMAT}", damaged=True
        ) from None
    for rel, digest in files.items():
        path = _inside(root, str(rel))
        if not path.is_file():
            raise BundleError(f"bundle file '{rel}' is missing from {root}", damaged=True)
        if sha256_of(path) != digest:
            raise BundleError(
                f"bundle file '{rel}' does not match its digest in {MANIFEST}",
                "the bundle is damaged or was changed; export it again from the store",
                damaged=True,
            )
    extra = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if (p.is_file() or p.is_symlink())
        and p.relative_to(root).as_posix() not in files
        and p.relative_to(root).as_posix() not in (MANIFEST, CLAIM)
    )
    if extra:
        raise BundleError(
            f"{root} holds file(s) its manifest does not list: {', '.join(extra[:5])}",
            "a bundle folder holds only what was exported; remove them or export again",
            damaged=True,
        )
    if BUNDLE_FILE not in files:
        raise BundleError(f"{root} has no {BUNDLE_FILE} among its manifest's files", damaged=True)
    return {"sha256": sha, **doc}


def claim(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The registry entry an exported bundle says it is (``version.json``), or None."""
    path = Path(folder) / CLAIM
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_bytes()[:MAX_MANIFEST_BYTES])
        return {
            "name": str(doc["name"]),
            "version": int(doc["version"]),
            "bundle_sha": str(doc["bundle_sha"]),
        }
    except (ValueError, KeyError, TypeError):
        raise BundleError(f"{path} is not a registry claim of a bundle", damaged=True) from None


def check_claim(
    folder: str | os.PathLike[str], registered_sha: str | None, name: str, version: int
) -> None:
    """Refuse a bundle whose manifest is not the registry's ``bundle_sha`` for (name, version)."""
    sha = hashlib.sha256((Path(folder) / MANIFEST).read_bytes()).hexdigest()
    if registered_sha != sha:
        raise BundleError(
            f"{folder} claims to be {name} version {version}, but its manifest "
            f"(sha256 {sha[:12]}...) is not the one registered ({(registered_sha or 'none')[:12]}...)",
            "the bundle was changed after export, or comes from another store",
            damaged=True,
        )


# --------------------------------------------------------------------------- signature

# polars base dtype name -> the logical type a request's column is checked against.
LOGICAL: dict[str, str] = {
    **dict.fromkeys(
        ("Int8", "Int16", "Int32", "Int64", "Int128", "UInt8", "UInt16", "UInt32", "UInt64"),
        "int",
    ),
    **dict.fromkeys(("Float16", "Float32", "Float64", "Decimal"), "float"),
    **dict.fromkeys(("String", "Categorical", "Enum"), "str"),
    "Boolean": "bool",
    "Date": "date",
    "Datetime": "datetime",
}


def input_signature(features: list[dict[str, Any]], schema: Any) -> dict[str, Any]:
    """The raw columns the feature expressions read, in first-read order, each with its
    logical type (int, float, str, bool, date, datetime) and, for a datetime, its unit and time zone."""
    from mlspec.lang.expr import Col, columns, parse

    seen: list[str] = []
    for f in features:
        ir = parse(f["expr"]) if f.get("expr") else Col(f["name"])
        for c in sorted(columns(ir)):
            if c not in seen:
                seen.append(c)
    out = []
    for c in seen:
        dtype = schema[c]
        kind = LOGICAL.get(dtype.base_type().__name__)
        if kind is None:
            raise ValueError(f"column '{c}' has dtype {dtype}, which a request cannot carry")
        col: dict[str, Any] = {"name": c, "type": kind}
        if kind == "datetime":
            col["time_unit"] = getattr(dtype, "time_unit", None) or "us"
            col["time_zone"] = getattr(dtype, "time_zone", None)
        out.append(col)
    return {"columns": out}
