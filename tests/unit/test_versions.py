"""Library versions come from the installed metadata, as `importlib.metadata` reads it."""

from __future__ import annotations

import sys
from importlib import import_module, metadata
from pathlib import Path

import pytest

versions = import_module("mlspec.store.versions")  # the package re-exports a function of that name


def test_every_installed_distribution_has_importlib_metadata_version() -> None:
    versions._installed.cache_clear()  # the index is of sys.path at first use; ray adds a folder
    names = {d.metadata["Name"] for d in metadata.distributions()}
    assert {"polars", "numpy", "scikit-learn", "PyYAML"} <= names
    for name in names:
        assert versions.dist_version(name) == metadata.version(name), name


def test_names_are_matched_as_pip_matches_them() -> None:
    assert (
        versions.dist_version("PyYaml")
        == versions.dist_version("pyyaml")
        == metadata.version("pyyaml")
    )
    assert versions.dist_version("scikit_learn") == metadata.version("scikit-learn")


def test_missing_distributions_and_the_first_match() -> None:
    assert versions.dist_version("no-such-distribution-here") is None
    assert versions.dist_version("no-such-distribution-here", "numpy") == metadata.version("numpy")


def test_dist_info_and_egg_info_on_sys_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "My_Lib-2.3.4.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: My-Lib\nVersion: 2.3.4\n\nVersion: 9 (body)\n"
    )
    (tmp_path / "old_lib-0.9-py3.11.egg-info").write_text(
        "Metadata-Version: 1.0\nName: old-lib\nVersion: 0.9\n"
    )
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    versions._installed.cache_clear()
    try:
        assert versions.dist_version("my-lib") == "2.3.4"
        assert versions.dist_version("old.lib") == "0.9"
        assert metadata.version("my-lib") == "2.3.4" and metadata.version("old-lib") == "0.9"
    finally:
        versions._installed.cache_clear()


def test_recording_versions_does_not_import_importlib_metadata() -> None:
    import subprocess

    code = "import sys; from mlspec.store import versions; versions(); print('importlib.metadata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
