"""Where the two sides come from: a spec file, or the same file at a git ref.

A git side is read with ``git show REF:./file`` (no checkout, nothing in the worktree
changes); its relative paths resolve against the head file's folder, as they would after a
checkout. Validation reports problems on either side with the side's name in the file field.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlspec.lang.validate import Result, validate_file, validate_text


class GitError(Exception):
    """The base cannot be read from git (no repository, unknown ref, file not at that ref)."""


def _check_ref(ref: str) -> None:
    # A ref starting with '-' would be read by git as an option.
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n\r:"):
        raise GitError(
            f"--base must be a git ref such as origin/main or HEAD~1. Got {ref!r} instead."
        )


def git_show(ref: str, spec: str | Path) -> str:
    """The text of `spec` at `ref`, from the repository that holds it."""
    _check_ref(ref)
    path = Path(spec).resolve()
    try:
        proc = subprocess.run(
            ["git", "show", f"{ref}:./{path.name}"],
            cwd=path.parent,
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"cannot run git: {exc}") from exc
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git show {ref}:{path.name} failed: {msg[-1] if msg else 'unknown error'}")
    return proc.stdout.decode("utf-8", "replace")


@dataclass(frozen=True)
class Side:
    label: str
    result: Result


def from_file(path: str) -> Side:
    return Side(path, validate_file(path))


def from_git(ref: str, head: str) -> Side:
    label = f"{ref}:{Path(head).name}"
    return Side(label, validate_text(git_show(ref, head), label, Path(head).resolve()))
