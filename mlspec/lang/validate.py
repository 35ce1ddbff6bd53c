"""The front end in one call: load, check the schema, run the semantic checks, build a Spec."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from mlspec.diagnostics import Diagnostic, has_errors, sort_diagnostics
from mlspec.lang.checks import paths_on_disk, run_checks
from mlspec.lang.loader import Document, load_text, read_text
from mlspec.lang.schema import check_schema
from mlspec.lang.suggest import budget

if TYPE_CHECKING:
    from mlspec.lang.spec import Spec


@dataclass
class Result:
    """What validating one spec found. `spec` is None when there are errors."""

    file: str
    document: Document | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    path: Path | None = None
    text: str | None = None  # the source, kept even when it does not load (to show the line)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    @cached_property
    def spec(self) -> Spec | None:
        """The typed Spec, built on first use (`validate` alone never needs it)."""
        if not self.ok or self.document is None:
            return None
        from mlspec.lang.spec import build_spec

        return build_spec(self.document.data, self.path, self.document)


def check_document(doc: Document, path: Path | None = None) -> Result:
    with budget():  # hints cost difflib time: bounded per spec, however many mistakes
        shape = check_schema(doc)
        # A value out of the schema's range may also fail a check's range (.inf, 10**30):
        # one diagnostic per spot and code.
        said = {(d.line, d.col, d.code) for d in shape}
        found = [*shape, *(d for d in run_checks(doc) if (d.line, d.col, d.code) not in said)]
    if path is not None:  # the spec's folder is known: stat what mlspec will write there
        found += paths_on_disk(doc, path.parent)
    diagnostics = sort_diagnostics(found)
    return Result(doc.file, doc, diagnostics, path, doc.text)


def validate_text(text: str, file: str = "<string>", path: Path | None = None) -> Result:
    doc, diagnostics = load_text(text, file)
    if doc is None:
        return Result(file, None, diagnostics, path, text)
    return check_document(doc, path)


def validate_file(path: str | Path) -> Result:
    text, diagnostics = read_text(path)
    if text is None:
        return Result(str(path), None, diagnostics)
    return validate_text(text, str(path), Path(path).resolve())


class SpecError(Exception):
    """Raised by commands that need a valid spec; carries the diagnostics to print."""

    def __init__(self, result: Result) -> None:
        super().__init__(f"{result.file}: invalid spec")
        self.result = result


def load_spec(path: str | Path) -> Spec:
    result = validate_file(path)
    if result.spec is None:
        raise SpecError(result)
    return result.spec
