"""Safe YAML loading that keeps a position for every node.

PyYAML's ``safe_load`` loses positions, silently keeps the last of two duplicate keys, and
reads ``on``/``no``/``yes`` as booleans (YAML 1.1). A spec deserves better: we compose the
node graph with PyYAML and build plain Python values ourselves, so that

- every value and every mapping key has a (line, col) for diagnostics;
- duplicate keys, tags (``!!python/object``…), recursive aliases and alias bombs are
  located errors, never silent or a hang;
- booleans are YAML 1.2's ``true``/``false`` only, and mapping keys are always their text.

Nothing here raises for bad input: problems come back as `Diagnostic` objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mlspec.diagnostics import Diagnostic

JsonPath = tuple[str | int, ...]

MAX_NODES = 100_000  # after alias expansion; a real spec has a few hundred
MAX_DEPTH = 64  # a real spec nests ~8 levels; PyYAML's composers recurse once per level
MAX_BYTES = 5_000_000

_STD = "tag:yaml.org,2002:"
_TIMESTAMP = _STD + "timestamp"
_MERGE = _STD + "merge"


class _SpecLoader(yaml.SafeLoader):
    """SafeLoader resolving booleans and numbers as YAML 1.2's core schema does.

    YAML 1.1 reads ``no`` as false, ``012`` as octal 10, ``1:30`` as 90 and ``1e-3`` as a
    string; YAML 1.2 (and every editor's schema validation) does not.
    """


_REPLACED = {_STD + "bool", _STD + "int", _STD + "float"}
_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    _STD + "bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_SpecLoader.add_implicit_resolver(
    _STD + "int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_SpecLoader.add_implicit_resolver(
    _STD + "float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


# libyaml composes the node graph ~15x faster than PyYAML's pure-Python parser (18 ms -> ~1 ms
# for the feed-ranking spec, on every validate, plan and run). It is used for ASCII text that
# composes and builds without a problem; anything else is loaded again by `_SpecLoader`, so
# every diagnostic comes from one parser. Marks of the two agree on ASCII text (tested on the
# corpus and on fuzzed specs); a C mark has no buffer, so `_mark` reads the line instead.
_CSpecLoader: type | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _CSpecLoader(yaml.CSafeLoader):  # type: ignore[no-redef]
        """`_SpecLoader`'s resolvers on libyaml's parser."""

    _CSpecLoader.yaml_implicit_resolvers = _SpecLoader.yaml_implicit_resolvers


def _to_int(text: str) -> int:
    text = text.replace("_", "")
    try:
        return int(text, 10)
    except ValueError:
        return int(text, 0)


def _to_float(text: str) -> float:
    low = text.replace("_", "").lower()
    if low.lstrip("+-") == ".inf":
        return float("-inf") if low.startswith("-") else float("inf")
    if low == ".nan":
        return float("nan")
    return float(low)


def _to_bool(text: str) -> bool:
    low = text.lower()
    if low not in ("true", "false"):
        raise ValueError(text)
    return low == "true"


_CONSTRUCT = {
    _STD + "str": str,
    _STD + "int": _to_int,
    _STD + "float": _to_float,
    _STD + "bool": _to_bool,
    _STD + "null": lambda _text: None,
}


@dataclass(frozen=True)
class Mark:
    """1-based position of a node, the width of its first line, and its scalar style.

    `verbatim` is true for a one-line scalar whose value is its source text as is (no
    escapes, no folding), so that an offset into the value is also an offset in the line.
    """

    line: int
    col: int
    span: int = 1
    style: str | None = None
    verbatim: bool = False


@dataclass
class Document:
    """A loaded spec: plain data plus where every part of it came from."""

    file: str
    text: str
    data: Any
    marks: dict[JsonPath, Mark] = field(default_factory=dict)
    key_marks: dict[JsonPath, Mark] = field(default_factory=dict)

    def mark(self, path: JsonPath, *, key: bool = False) -> Mark:
        """Position of `path` (its key when `key`), else of its nearest located ancestor."""
        path = tuple(path)
        if key and path in self.key_marks:
            return self.key_marks[path]
        while path:
            if path in self.marks:
                return self.marks[path]
            path = path[:-1]
        return self.marks.get((), Mark(1, 1))

    def diag(
        self,
        path: JsonPath,
        code: str,
        message: str,
        hint: str | None = None,
        *,
        key: bool = False,
        severity: str = "error",
        offset: int | None = None,
    ) -> Diagnostic:
        """A diagnostic at `path`; `offset` moves the caret inside a one-line scalar."""
        m = self.mark(path, key=key)
        col, span = m.col, m.span
        if (
            offset is not None and m.verbatim
        ):  # otherwise (escapes, folded or block text) keep the start
            col += offset + (1 if m.style in ("'", '"') else 0)
            span = 1
        return Diagnostic(self.file, m.line, col, code, message, hint, severity, span)  # type: ignore[arg-type]


def format_path(path: JsonPath) -> str:
    """``('objectives', 'quality', 'models', 0)`` -> ``objectives.quality.models[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


class _LoadError(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _mark(node: Node, lines: list[str] | None = None) -> Mark:
    start, end = node.start_mark, node.end_mark
    span = end.column - start.column if end.line == start.line else 1
    style = (node.style or None) if isinstance(node, ScalarNode) else None  # libyaml: '' for plain
    verbatim = False
    if isinstance(node, ScalarNode) and style in (None, "'", '"') and end.line == start.line:
        quote = 1 if style else 0
        if isinstance(start.buffer, str):
            source = start.buffer[start.index + quote : end.index - quote]
        else:  # libyaml's marks carry no buffer: the same characters, read from the line
            line = lines[start.line] if lines is not None and start.line < len(lines) else ""
            source = line[start.column + quote : end.column - quote]
        verbatim = source == node.value
    return Mark(start.line + 1, start.column + 1, max(1, span), style, verbatim)


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_STD) :] if tag.startswith(_STD) else tag


class _Builder:
    """Turns a composed node graph into plain data, recording marks as it goes."""

    def __init__(self, loader: Any, file: str, lines: list[str] | None = None) -> None:
        self.loader = loader
        self.file = file
        self.lines = lines
        self.marks: dict[JsonPath, Mark] = {}
        self.key_marks: dict[JsonPath, Mark] = {}
        self.visited = 0
        self.active: set[int] = set()
        self.diagnostics: list[Diagnostic] = []

    def fail(self, node: Node, code: str, message: str, hint: str | None = None) -> _LoadError:
        m = _mark(node, self.lines)
        return _LoadError(
            Diagnostic(self.file, m.line, m.col, code, message, hint, "error", m.span)
        )

    def build(self, node: Node, path: JsonPath) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise self.fail(
                node,
                "yaml-alias-bomb",
                f"the document expands to more than {MAX_NODES:,} nodes through aliases",
                "a spec is plain data; write the values out instead of nesting aliases",
            )
        if len(path) > MAX_DEPTH:  # through aliases: the text itself passed `nesting_error`
            raise self.fail(node, "yaml-too-deep", _TOO_DEEP, _TOO_DEEP_HINT)
        if id(node) in self.active:
            raise self.fail(
                node, "yaml-recursive-alias", "the node anchored here contains an alias to itself"
            )
        self.marks[path] = _mark(node, self.lines)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                self.check_tag(node, _STD + "seq")
                return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            assert isinstance(node, MappingNode)
            self.check_tag(node, _STD + "map")
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def check_tag(self, node: Node, expected: str) -> None:
        if node.tag != expected:
            raise self.fail(
                node,
                "yaml-tag",
                f"tag '{_tag_name(node.tag)}' is not allowed",
                "a spec holds plain data (mappings, lists, strings, numbers, booleans, null); remove the tag",
            )

    def scalar(self, node: ScalarNode) -> Any:
        if node.tag == _TIMESTAMP:
            return node.value  # dates stay text; JSON has no date type
        if node.tag not in _CONSTRUCT:
            self.check_tag(node, _STD + "str")
        try:
            return _CONSTRUCT[node.tag](node.value)
        except ValueError:
            raise self.fail(
                node, "yaml-value", f"'{node.value}' is not a valid {_tag_name(node.tag)[2:]}"
            ) from None

    def key_text(self, node: Node) -> str:
        if not isinstance(node, ScalarNode):
            raise self.fail(node, "yaml-complex-key", "a mapping key must be a plain scalar")
        if node.tag not in _CONSTRUCT and node.tag not in (_TIMESTAMP, _MERGE):
            self.check_tag(node, _STD + "str")
        return node.value

    def mapping(self, node: MappingNode, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Node] = {}
        merged: dict[str, Any] = {}
        # Merges first, wherever '<<' stands: the explicit keys built after them then own
        # the positions of the paths they share with the merged mapping.
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
                merged.update(self.merge(value_node, path))
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
                continue
            key = self.key_text(key_node)
            if key in first_seen:
                line = first_seen[key].start_mark.line + 1
                raise self.fail(
                    key_node,
                    "yaml-duplicate-key",
                    f"duplicate key '{key}' in {format_path(path)}",
                    f"first defined at line {line}; YAML would silently keep only the last one",
                )
            first_seen[key] = key_node
            self.key_marks[(*path, key)] = _mark(key_node, self.lines)
            result[key] = self.build(value_node, (*path, key))
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def merge(self, node: Node, path: JsonPath) -> dict[str, Any]:
        """``<<: *base`` merges: explicit keys win, earlier merges win over later ones."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        out: dict[str, Any] = {}
        for source in sources:
            if not isinstance(source, MappingNode):
                raise self.fail(
                    source, "yaml-merge", "a '<<' merge takes a mapping or a list of mappings"
                )
            if id(source) in self.active:
                raise self.fail(
                    source,
                    "yaml-recursive-alias",
                    "the mapping anchored here merges itself with '<<'",
                )
            self.check_tag(source, _STD + "map")
            self.active.add(id(source))
            try:
                for key, value in self.mapping(source, path).items():
                    out.setdefault(key, value)
            finally:
                self.active.discard(id(source))
        return out


# Line breaks as YAML counts them (PyYAML's marks do too): not only "\n".
LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _position(text: str, index: int) -> tuple[int, int]:
    line, start = 1, 0
    for m in LINE_BREAK.finditer(text, 0, index):
        line, start = line + 1, m.end()
    return line, index - start + 1


_EMPTY_HINT = "start from examples/quickstart/spec.yaml"
_TOO_DEEP = f"nesting deeper than {MAX_DEPTH} levels"
_TOO_DEEP_HINT = f"a spec nests at most {MAX_DEPTH} levels; flatten the document"


def _depth_bound(text: str) -> int:
    """A cheap upper bound on the nesting depth of `text`, from the text alone.

    Every flow collection opens with '[' or '{', so their count bounds the flow depth. A block
    collection nested in another starts further right, except a sequence under a mapping key
    (same column), so a line whose content starts at column c is at most 2c + 2 levels deep;
    block indicators ('- ', '? ', ': ') count as indentation. `splitlines` breaks at more
    characters than YAML does: a line's first piece is still measured, so the bound holds.
    """
    flow = text.count("[") + text.count("{")
    if flow > MAX_DEPTH:
        return flow
    lead = max((len(line) - len(line.lstrip(" \t-?:")) for line in text.splitlines()), default=0)
    return flow + 2 * lead + 3


def nesting_error(text: str, file: str) -> Diagnostic | None:
    """The first node nested deeper than MAX_DEPTH, found before any node graph is composed.

    PyYAML composes recursively: its C composer overflows the C stack (a segfault, exit 139)
    on some 30,000 nested brackets, and the pure-Python one hits the recursion limit. The
    parsers below the composers keep explicit stacks, so counting levels over the event
    stream is safe at any depth; it runs only when the cheap text bound allows a deep spec.
    """
    if _depth_bound(text) <= MAX_DEPTH:
        return None
    cls = _CSpecLoader if _CSpecLoader is not None and text.isascii() else _SpecLoader
    loader = cls(text)
    # One entry per open collection: None for a sequence; for a mapping, whether its next
    # node is a key (keys are not nodes of the data, as in `_Builder`).
    stack: list[bool | None] = []
    try:
        while True:
            event = loader.get_event()
            if isinstance(event, ScalarEvent | AliasEvent | SequenceStartEvent | MappingStartEvent):
                is_key = bool(stack) and stack[-1] is True
                if stack and stack[-1] is not None:
                    stack[-1] = not stack[-1]
                if not is_key and len(stack) > MAX_DEPTH:
                    m = event.start_mark
                    return Diagnostic(
                        file, m.line + 1, m.column + 1, "yaml-too-deep", _TOO_DEEP, _TOO_DEEP_HINT
                    )
                if isinstance(event, SequenceStartEvent):
                    stack.append(None)
                elif isinstance(event, MappingStartEvent):
                    stack.append(True)
            elif isinstance(event, CollectionEndEvent):
                stack.pop()
            elif isinstance(event, StreamEndEvent):
                return None
    except (yaml.YAMLError, ValueError):
        return None  # composing stops at the same place, no deeper: its error is the one shown
    finally:
        loader.dispose()


_COMPARISON = re.compile(r"([>|]=?\s*[-+.\d][^#]*?)\s*(#.*)?$")


def _unquoted_comparison(text: str, exc: yaml.MarkedYAMLError) -> tuple[int, int, str, str] | None:
    """A gate threshold written unquoted (``roc_auc: >= 0.6``): YAML reads its ``>`` as the
    start of a block scalar and fails on what follows; say so, and how to quote it."""
    start = exc.context_mark
    if start is None or exc.context != "while scanning a block scalar":
        return None
    lines = text.splitlines()
    if start.line >= len(lines):
        return None
    m = _COMPARISON.match(lines[start.line][start.column :])
    if m is None:
        return None
    value = m.group(1)
    return (
        start.line + 1,
        start.column + 1,
        f"the threshold {value} must be quoted: unquoted, a value starting with '{value[0]}' begins a YAML block scalar",
        f'quote the threshold: "{value}"',
    )


def load_text(text: str, file: str = "<string>") -> tuple[Document | None, list[Diagnostic]]:
    """Load spec text. Returns the document, or None and the located reasons why not."""
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        return None, [Diagnostic(file, 1, 1, "spec-empty", "the spec is empty", _EMPTY_HINT)]
    too_deep = nesting_error(text, file)
    if too_deep is not None:
        return None, [too_deep]
    # libyaml ends the last collection one column short when the text does not end with a
    # line break ('a: 1'): such text takes the pure-Python path, whose marks are the reference.
    if _CSpecLoader is not None and text.isascii() and text.endswith(("\n", "\r")):
        fast = _load_with_libyaml(text, file)
        if fast is not None:
            return fast, []
    loader: _SpecLoader | None = None
    try:
        try:
            loader = _SpecLoader(text)
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            hint = None
            comparison = _unquoted_comparison(text, exc)
            if exc.context == "expected a single document in the stream":
                message = "a spec is one YAML document; found a second one ('---')"
            elif comparison is not None:
                line, col, message, hint = comparison
            else:
                context = f" ({exc.context})" if exc.context else ""
                message = f"{exc.problem or 'invalid YAML'}{context}"
                start = exc.context_mark
                if (
                    start is not None
                    and exc.context
                    and (start.line, start.column) != (line - 1, col - 1)
                ):
                    what = re.sub(r"^while (parsing|scanning) ", "", exc.context)
                    hint = f"{what} started at line {start.line + 1}, column {start.column + 1}"
            return None, [Diagnostic(file, line, col, "yaml-syntax", message, hint)]
        except yaml.reader.ReaderError as exc:
            line, col = _position(text, exc.position)
            char = chr(exc.character) if isinstance(exc.character, int) else exc.character
            return None, [
                Diagnostic(
                    file, line, col, "yaml-syntax", f"character {char!r} is not allowed in YAML"
                )
            ]
        except yaml.YAMLError as exc:
            return None, [Diagnostic(file, 1, 1, "yaml-syntax", str(exc).splitlines()[0])]
        except RecursionError:
            return None, [Diagnostic(file, 1, 1, "yaml-too-deep", _TOO_DEEP, _TOO_DEEP_HINT)]
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        return None, [Diagnostic(file, 1, 1, "spec-empty", "the spec is empty", _EMPTY_HINT)]
    builder = _Builder(loader, file)
    try:
        data = builder.build(node, ())
    except _LoadError as exc:
        return None, [exc.diagnostic]
    except RecursionError:
        return None, [Diagnostic(file, 1, 1, "yaml-too-deep", _TOO_DEEP, _TOO_DEEP_HINT)]
    if data is None:  # an empty document ('---' alone, or only 'null')
        return None, [Diagnostic(file, 1, 1, "spec-empty", "the spec is empty", _EMPTY_HINT)]
    if not isinstance(data, dict):
        m = builder.marks[()]
        return None, [
            Diagnostic(
                file,
                m.line,
                m.col,
                "spec-not-mapping",
                f"the spec must be a mapping of sections (mlspec, name, data, ...). Got {_kind(data)} instead.",
            )
        ]
    return Document(file, text, data, builder.marks, builder.key_marks), []


def _load_with_libyaml(text: str, file: str) -> Document | None:
    """The document, composed by libyaml; None when anything is amiss (then `load_text`
    loads it again with the pure-Python parser, which words the diagnostics)."""
    assert _CSpecLoader is not None
    loader = _CSpecLoader(text)
    try:
        node = loader.get_single_node()
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
    finally:
        loader.dispose()
    if node is None:
        return None
    builder = _Builder(loader, file, re.split("\r\n|[\r\n]", text))
    try:
        data = builder.build(node, ())
    except (_LoadError, RecursionError):
        return None
    if not isinstance(data, dict) or builder.diagnostics:
        return None
    return Document(file, text, data, builder.marks, builder.key_marks)


def _kind(value: Any) -> str:
    """How a top-level value that is not a mapping is named in a message."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value if len(value) <= 40 else value[:37] + '...'}' (a string)"
    return f"{value!r} (a number)"


def decode(raw: bytes, file: str) -> tuple[str | None, list[Diagnostic]]:
    """UTF-8 (with or without BOM) only; a bad byte gets its line and column."""
    body = raw.removeprefix(b"\xef\xbb\xbf")  # the BOM is no column, and no offset
    try:
        return body.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        good = body[: exc.start].decode("utf-8", errors="replace")
        line, col = _position(good, len(good))
        return None, [
            Diagnostic(
                file,
                line,
                col,
                "spec-encoding",
                f"the spec must be UTF-8. Got byte 0x{body[exc.start]:02x} instead.",
                "save the file as UTF-8",
            )
        ]


def load_file(path: str | Path) -> tuple[Document | None, list[Diagnostic]]:
    """Read and load a spec file; a missing or unreadable file is a diagnostic too."""
    text, diags = read_text(path)
    if text is None:
        return None, diags
    return load_text(text, str(path))


def read_text(path: str | Path) -> tuple[str | None, list[Diagnostic]]:
    """The spec's text, or the located reason it cannot be read (missing, too large, not UTF-8)."""
    file = str(path)
    try:
        p = Path(path)
        if p.is_dir():
            return None, [
                Diagnostic(file, 0, 0, "spec-not-found", "is a directory, not a spec file")
            ]
        size = p.stat().st_size
        if size > MAX_BYTES:
            return None, [
                Diagnostic(
                    file,
                    0,
                    0,
                    "spec-too-large",
                    f"the spec is {size:,} bytes; the limit is {MAX_BYTES:,}",
                )
            ]
        raw = p.read_bytes()
    except FileNotFoundError:
        return None, [Diagnostic(file, 0, 0, "spec-not-found", "no such file", "check the path")]
    except OSError as exc:
        return None, [
            Diagnostic(
                file, 0, 0, "spec-unreadable", f"cannot read the file: {exc.strerror or exc}"
            )
        ]
    return decode(raw, file)


def walk(data: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any]]:
    """Every (path, value) in a loaded document, parents before children."""
    yield path, data
    if isinstance(data, dict):
        for k, v in data.items():
            yield from walk(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from walk(v, (*path, i))
