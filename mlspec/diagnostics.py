"""Diagnostics: structured first, rendered second.

Every user-facing problem with a spec is a `Diagnostic` with a position, a stable code and an
optional hint. Rendering (text with a caret, or JSON) is separate, so tools and humans read
the same facts. The text form follows mypy: ``file:line:col: error: message [code]``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "note"]

_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

# Text output shows at most this many diagnostics per file, then one line that counts the
# rest by code (as clang's -ferror-limit and gcc's -fmax-errors do): 50,000 unknown keys are
# one mistake, and a terminal of them hides it. JSON output always holds every diagnostic.
MAX_SHOWN = 50


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place. Lines and columns are 1-based; 0 means "whole file"."""

    file: str
    line: int
    col: int
    code: str
    message: str
    hint: str | None = None
    severity: Severity = "error"
    # Length of the span under the caret (at least 1); not part of the JSON contract.
    span: int = field(default=1, compare=False)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        del data["span"]
        return data


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Order by file and position; drop exact repeats (two checks may meet the same spot)."""
    seen: set[tuple[object, ...]] = set()
    unique: list[Diagnostic] = []
    for d in sorted(diagnostics, key=lambda d: (d.file, d.line, d.col, d.code, d.message)):
        key = (d.file, d.line, d.col, d.code, d.message)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def render_text(
    diagnostics: Sequence[Diagnostic],
    sources: dict[str, str] | None = None,
    max_shown: int | None = MAX_SHOWN,
) -> str:
    """Render as ``file:line:col: error: message [code]``, the source line, a caret, a hint.

    At most `max_shown` diagnostics per file (None or 0: all), then a note counting the rest
    by code. Linear in the diagnostics and the sources: each source is split into lines once.
    Characters a terminal cannot take (a lone surrogate from a ``"\\ud800"`` escape or an
    undecodable file name) are shown as backslash escapes.
    """
    sources = sources or {}
    lines_of: dict[str, list[str]] = {}
    shown: Counter[str] = Counter()
    hidden: dict[str, Counter[str]] = {}
    out: list[str] = []
    for d in diagnostics:
        if max_shown and shown[d.file] >= max_shown:
            hidden.setdefault(d.file, Counter())[d.code] += 1
            continue
        shown[d.file] += 1
        where = f"{d.file}:{d.line}:{d.col}" if d.line else d.file
        out.append(f"{where}: {d.severity}: {d.message} [{d.code}]")
        text = sources.get(d.file)
        if text is not None and d.line:
            if d.file not in lines_of:  # as YAML counts lines, not str.splitlines
                lines_of[d.file] = _LINE_BREAK.split(text)
            lines = lines_of[d.file]
            if 0 < d.line <= len(lines):
                src, col = _window(lines[d.line - 1].expandtabs(1), d.col)
                out.append(f"  {d.line:>4} | {src}")
                width = max(1, min(d.span, max(1, len(src) - col + 1), 80))
                out.append("       | " + " " * max(0, col - 1) + "^" + "~" * (width - 1))
        if d.hint:
            out.append(f"       = hint: {d.hint}")
    for file, codes in hidden.items():
        n = sum(codes.values())
        kinds = ", ".join(f"{code} {k:,}" for code, k in codes.most_common(5))
        more = f", {len(codes) - 5} more codes" if len(codes) > 5 else ""
        out.append(
            f"{file}: note: {n:,} more diagnostic{'s' * (n != 1)} not shown ({kinds}{more}); "
            "`mlspec validate --max-errors 0` shows them all [more-diagnostics]"
        )
    return printable("\n".join(out))


def printable(text: str) -> str:
    """`text` with what UTF-8 cannot encode (lone surrogates) as backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _window(src: str, col: int, width: int = 100) -> tuple[str, int]:
    """Cut a long source line to `width` characters around `col` (1-based)."""
    if len(src) <= width:
        return src, col
    start = max(0, min(col - 1 - width // 2, len(src) - width))
    cut = src[start : start + width]
    prefix = "…" if start else ""
    return prefix + cut + ("…" if start + width < len(src) else ""), col - start + len(prefix)


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diagnostics], indent=2)


def summary(diagnostics: Sequence[Diagnostic], files: int) -> str:
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = sum(d.severity == "warning" for d in diagnostics)
    noun = "file" if files == 1 else "files"
    if not errors:
        tail = f" ({warnings} warning{'s' * (warnings != 1)})" if warnings else ""
        return f"Success: no issues found in {files} spec {noun}{tail}"
    in_files = len({d.file for d in diagnostics if d.severity == "error"})
    return (
        f"Found {errors} error{'s' * (errors != 1)} in {in_files} "
        f"{'file' if in_files == 1 else 'files'} (checked {files} spec {noun})"
    )
