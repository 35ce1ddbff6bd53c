"""Semantic checks: what JSON Schema cannot say about a spec.

Each check is a small function registered with `@check`; `run_checks` runs them all and
collects every diagnostic. Checks read the raw document defensively (a part with the wrong
shape was already reported by the schema and is skipped here), so one pass reports all
problems at once, as a compiler does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from mlspec.diagnostics import Diagnostic
from mlspec.lang import expr as expr_lang
from mlspec.lang import expr_types
from mlspec.lang.joins import column_origins, joined_columns
from mlspec.lang.loader import Document, JsonPath, format_path, walk
from mlspec.lang.metrics_table import COMBINED_METRICS, DEFAULT_METRICS, FAIRNESS_METRICS, METRICS
from mlspec.lang.model_types import MODEL_TYPES
from mlspec.lang.paths import escapes
from mlspec.lang.paths import outside as _outside
from mlspec.lang.suggest import did_you_mean

SOURCE_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _items(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, mapping) for each mapping in a list; other items were reported by the schema."""
    for i, item in enumerate(_list(value)):
        if isinstance(item, dict):
            yield i, item


def source_format(source: dict[str, Any]) -> str | None:
    """The declared format, or the one its extension implies, or None if neither."""
    fmt = source.get("format")
    if isinstance(fmt, str):
        return fmt
    path = source.get("path")
    return SOURCE_FORMATS.get(PurePosixPath(path).suffix.lower()) if isinstance(path, str) else None


@dataclass
class Context:
    """The document under check plus facts derived from it once, shared by every check."""

    doc: Document
    out: list[Diagnostic] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        return self.doc.data

    def error(
        self, path: JsonPath, code: str, message: str, hint: str | None = None, **kw: Any
    ) -> None:
        self.out.append(self.doc.diag(path, code, message, hint, **kw))

    def warn(
        self, path: JsonPath, code: str, message: str, hint: str | None = None, **kw: Any
    ) -> None:
        self.out.append(self.doc.diag(path, code, message, hint, severity="warning", **kw))

    @cached_property
    def sources(self) -> dict[str, dict[str, Any]]:
        return {
            k: v
            for k, v in _dict(_dict(self.data.get("data")).get("sources")).items()
            if isinstance(v, dict)
        }

    @cached_property
    def objectives(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in _dict(self.data.get("objectives")).items() if isinstance(v, dict)}

    @cached_property
    def features(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for _i, f in _items(self.data.get("features")):
            if isinstance(f.get("name"), str):
                out.setdefault(f["name"], f)
        return out

    @cached_property
    def feature_index(self) -> dict[str, int]:
        """Where each feature is first defined in `features` (a scan per lookup was quadratic)."""
        out: dict[str, int] = {}
        for i, f in _items(self.data.get("features")):
            name = f.get("name")
            if isinstance(name, str):
                out.setdefault(name, i)
        return out

    @cached_property
    def feature_columns(self) -> dict[str, frozenset[str]]:
        """Columns each feature reads (expressions that do not parse read nothing here)."""
        out: dict[str, frozenset[str]] = {}
        for name, f in self.features.items():
            text = f.get("expr")
            if text is None:
                out[name] = frozenset({name})
            elif isinstance(text, str):
                try:
                    out[name] = expr_lang.columns(expr_lang.parse(text))
                except expr_lang.ExprError:
                    out[name] = frozenset()
        return out

    @cached_property
    def columns(self) -> set[str] | None:
        """Columns of the joined table when every source declares its columns, else None."""
        declared: dict[str, list[str]] = {}
        for name, src in self.sources.items():
            cols = src.get("columns")
            if not isinstance(cols, dict):
                return None
            declared[name] = list(cols)
        joins = [j for _i, j in _items(_dict(self.data.get("data")).get("joins"))]
        if not joins:
            return set(next(iter(declared.values()))) if len(declared) == 1 else None
        first = joins[0].get("left")
        if not isinstance(first, str) or first not in declared:
            return None
        table = list(declared[first])
        for j in joins:
            right_name = j.get("right")
            table = _join_columns(
                table, declared.get(right_name, []) if isinstance(right_name, str) else [], j
            )
        return set(table)

    @cached_property
    def column_dtypes(self) -> dict[str, str]:
        """Declared dtype of each joined column, when every source declares its columns."""
        if self.columns is None:
            return {}
        declared = {n: list(_dict(s.get("columns"))) for n, s in self.sources.items()}
        joins = [
            (j.get("left"), j.get("right"), _join_keys(j), j.get("how"), _suffix(j))
            for _i, j in _items(_dict(self.data.get("data")).get("joins"))
        ]
        if any(
            not isinstance(left, str) or not isinstance(right, str) for left, right, *_ in joins
        ):
            return {}  # a join without source names: the schema reports it
        out: dict[str, str] = {}
        for column, (source, original) in column_origins(declared, joins).items():
            dtype = _dict(self.sources[source].get("columns")).get(original)
            if isinstance(dtype, str):
                out[column] = dtype
        return out

    def declared_columns(self, source: Any) -> list[str] | None:
        cols = (
            self.sources[source].get("columns")
            if isinstance(source, str) and source in self.sources
            else None
        )
        return list(cols) if isinstance(cols, dict) else None

    def known_columns_hint(self, name: str) -> str | None:
        return did_you_mean(name, self.columns or (), fallback_list=False)

    def check_column(self, path: JsonPath, name: Any, what: str, extra: Iterable[str] = ()) -> None:
        """A column reference must name a column of the joined data (when that is known)."""
        extra = set(extra)
        if (
            not isinstance(name, str)
            or self.columns is None
            or name in self.columns
            or name in extra
        ):
            return
        self.error(
            path,
            "unknown-column",
            f"{what} '{name}' is not a column of the joined data",
            did_you_mean(
                name, self.columns | extra if extra else self.columns, fallback_list=False
            ),
        )


def _join_keys(join: dict[str, Any]) -> list[str]:
    on = join.get("on")
    return [on] if isinstance(on, str) else [k for k in _list(on) if isinstance(k, str)]


def _suffix(join: dict[str, Any]) -> str:
    return join["suffix"] if isinstance(join.get("suffix"), str) else "_right"


def _join_columns(table: list[str], right: list[str], join: dict[str, Any]) -> list[str]:
    """The table's columns after `join` (`joins.joined_columns` on the raw document)."""
    return joined_columns(table, right, _join_keys(join), join.get("how"), _suffix(join))


Check = Callable[[Context], None]
CHECKS: list[Check] = []


def check(fn: Check) -> Check:
    """Register a semantic check; they run in registration order."""
    CHECKS.append(fn)
    return fn


def run_checks(doc: Document) -> list[Diagnostic]:
    ctx = Context(doc)
    for fn in CHECKS:
        fn(ctx)
    return ctx.out


# ---------------------------------------------------------------- values


# Integers are 64-bit wherever they go (SQLite, polars, numpy); JSON Schema cannot say so.
MIN_INT, MAX_INT = -(2**63), 2**63 - 1
# What a spec's text cannot carry: NUL ends a C string (a path, an SQL query, a process
# argument), and a lone surrogate (from a "\\ud800" escape) is no character, so it cannot
# be written as UTF-8 (a log, a manifest, a report).
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


def _bad_char(text: str) -> str | None:
    m = _BAD_CHAR.search(text)
    if m is None:
        return None
    return (
        "a NUL character (\\0)"
        if m.group() == "\x00"
        else f"a lone surrogate (\\u{ord(m.group()):04x})"
    )


def _estimator_value(path: JsonPath) -> bool:
    """Values handed to an estimator as they are (params, search choices): its own rules."""
    return "params" in path or (
        len(path) >= 3 and path[-3] == "space" and isinstance(path[-1], int)
    )


@check
def values_are_sound(ctx: Context) -> None:
    """What the schema's types let through but no step can take.

    `.nan` compares false with every bound, so it passes every range of the schema; `.inf`
    passes every bound but a maximum; an integer may have any number of digits. Only values
    handed to an estimator as they are may hold them: xgboost's `missing: .nan` is a real
    setting. Every string and key, estimator's or not, must be text that UTF-8 can hold,
    without NUL.
    """
    # Only an escape in double quotes makes either (YAML's reader refuses them raw).
    escapes = "\\" in ctx.doc.text
    for path, value in walk(ctx.data):
        if escapes and path and isinstance(path[-1], str) and (bad := _bad_char(path[-1])):
            ctx.error(
                path,
                "bad-character",
                f"the key {format_path(path)!r} holds {bad}",
                _BAD_CHAR_HINT,
                key=True,
            )
        if isinstance(value, str):
            if escapes and (bad := _bad_char(value)) is not None:
                ctx.error(path, "bad-character", f"{format_path(path)} holds {bad}", _BAD_CHAR_HINT)
            elif (
                len(path) >= 2
                and path[-2] == "gate"
                and (m := _GATE_NUMBER.search(value))
                and not math.isfinite(float(m.group()))  # '>= 1e999' is '>= inf'
            ):
                ctx.error(
                    path,
                    "range",
                    f"{format_path(path)} must compare with a finite number. Got {value!r} instead.",
                    "a metric is a finite number; write the bound as one",
                )
        elif isinstance(value, float) and not math.isfinite(value) and not _estimator_value(path):
            got = ".nan (not a number)" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
            ctx.error(
                path, "range", f"{format_path(path)} must be a finite number. Got {got} instead."
            )
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not MIN_INT <= value <= MAX_INT
            and not _estimator_value(path)
        ):
            ctx.error(
                path,
                "range",
                f"{format_path(path)} must fit in 64 bits (at most {MAX_INT:,} in size). "
                f"Got {len(str(abs(value)))} digits instead.",
                "integers are stored and computed as 64-bit numbers",
            )


_GATE_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_BAD_CHAR_HINT = "remove the escape (\\0, \\x00, \\ud800 ...) from the quoted text"


# ---------------------------------------------------------------- data


@check
def sources_are_readable(ctx: Context) -> None:
    for name, src in ctx.sources.items():
        path = src.get("path")
        base = ("data", "sources", name)
        if isinstance(path, str) and not src.get("external", False) and _outside(path):
            ctx.error(
                (*base, "path"),
                "path-outside",
                f"source '{name}' reads '{path}', outside the spec's folder",
                "move the data beside the spec, or set `external: true` on the source to allow it",
            )
        elif (
            isinstance(path, str)
            and not src.get("external", False)
            and (real := _escapes(ctx, path))
        ):
            ctx.error(
                (*base, "path"),
                "path-outside",
                f"source '{name}' reads '{path}', a symlink to {real}, outside the spec's folder",
                "copy the data beside the spec, or set `external: true` on the source to allow it",
            )
        if isinstance(path, str):
            _check_path_parts(ctx, (*base, "path"), path)
        fmt = source_format(src)
        if fmt is None and isinstance(path, str):
            ctx.error(
                (*base, "path"),
                "source-format",
                f"cannot tell the format of '{path}' from its extension",
                "set `format:` to one of csv, parquet, ndjson, sqlite",
            )
        query = src.get("query")
        # With an explicit `format: sqlite` the schema already says the query is missing.
        if fmt == "sqlite" and query is None and src.get("format") != "sqlite":
            ctx.error(
                base,
                "source-query",
                f"source '{name}' is a SQLite database and needs a `query`",
                key=True,
            )
        if fmt not in (None, "sqlite") and query is not None:
            ctx.error(
                (*base, "query"),
                "source-query",
                f"`query` applies only to sqlite sources; '{name}' is {fmt}",
                key=True,
            )
        row_filter = src.get("where")
        if isinstance(row_filter, str):
            try:
                parsed = expr_lang.parse(row_filter)
            except expr_lang.ExprError as exc:
                ctx.error(
                    (*base, "where"),
                    exc.code,
                    f"in the row filter of source '{name}': {exc.message}",
                    exc.hint or None,
                    offset=exc.offset,
                )
            else:
                known = ctx.declared_columns(name)
                for col in sorted(expr_lang.columns(parsed)):
                    if known is not None and col not in known:
                        ctx.error(
                            (*base, "where"),
                            "unknown-column",
                            f"the row filter of source '{name}' reads '{col}', which the source does not declare",
                            did_you_mean(col, known, fallback_list=False),
                        )
        if isinstance(query, str) and not query.strip():
            ctx.error((*base, "query"), "source-query", f"the query of source '{name}' is empty")
        if "separator" in src and fmt not in (None, "csv"):
            ctx.error(
                (*base, "separator"),
                "source-option",
                f"`separator` applies only to csv sources; '{name}' is {fmt}",
                key=True,
            )


# Paths a spec writes or reads besides its sources, relative to its folder.
OTHER_PATHS: tuple[tuple[str, ...], ...] = (
    ("execution", "store"),
    ("deployment", "batch", "input"),
    ("deployment", "batch", "output"),
)


@check
def paths_stay_inside(ctx: Context) -> None:
    """The store and deployment files stay in the project, like sources without `external`."""
    for path in OTHER_PATHS:
        value: Any = ctx.data
        for part in path:
            value = _dict(value).get(part)
        if isinstance(value, str):
            _check_path_parts(ctx, path, value)
        if isinstance(value, str) and _outside(value):
            ctx.error(
                path,
                "path-outside",
                f"{'.'.join(path)} '{value}' is outside the spec's folder",
                "use a path inside the project (relative, without '..'); `--store` on the command line may point anywhere",
            )
        elif isinstance(value, str) and (real := _escapes(ctx, value)):
            ctx.error(
                path,
                "path-outside",
                f"{'.'.join(path)} '{value}' is a symlink to {real}, outside the spec's folder",
                "use a real folder inside the project; `--store` on the command line may point anywhere",
            )


def _escapes(ctx: Context, path: str) -> Path | None:
    """Where a path written inside the project really leads, when a symlink takes it out
    (only for a spec on disk: a spec from git or a string has no folder to resolve in)."""
    spec_file = Path(ctx.doc.file)
    return escapes(spec_file.parent, path) if spec_file.is_file() else None


MAX_NAME_BYTES = 255  # NAME_MAX of Linux, macOS and Windows file systems


def _check_path_parts(ctx: Context, where: JsonPath, path: str) -> None:
    """Each part of a path between '/' must be a name a file system can hold."""
    at = 0
    for part in re.split(r"[/\\]", path):
        size = len(part.encode("utf-8", "surrogatepass"))
        if size > MAX_NAME_BYTES:
            ctx.error(
                where,
                "path-length",
                f"'{part[:20]}...' in {format_path(where)} is {size} bytes long; a file or "
                f"folder name is at most {MAX_NAME_BYTES}",
                "shorten the name (file systems refuse longer ones)",
                offset=at,
            )
        at += len(part) + 1


@check
def source_checks(ctx: Context) -> None:
    for name, src in ctx.sources.items():
        declared = src.get("columns")
        for i, chk in _items(src.get("checks")):
            if not chk:
                continue  # {}: the schema reports it
            path = ("data", "sources", name, "checks", i)
            column = chk.get("column")
            rules = {k for k in chk if k not in ("column", "severity")}
            if column is None:
                if rules - {"rows"}:
                    ctx.error(
                        path,
                        "check-column",
                        f"these rules need a `column`: {', '.join(sorted(rules - {'rows'}))}",
                    )
                elif "rows" not in rules:
                    ctx.error(
                        path,
                        "check-empty",
                        "a check needs a rule (not_null, unique, min, max, allowed, ...) or `rows`",
                    )
            else:
                if "rows" in rules:
                    ctx.error(
                        (*path, "rows"),
                        "check-column",
                        "`rows` applies to the table; put it in a check without `column`",
                        key=True,
                    )
                if not rules:
                    ctx.error(
                        path,
                        "check-empty",
                        f"the check on '{column}' has no rule",
                        "add not_null, unique, min, max, allowed, dtype or max_null_fraction",
                    )
                if (
                    isinstance(declared, dict)
                    and isinstance(column, str)
                    and column not in declared
                ):
                    ctx.error(
                        (*path, "column"),
                        "unknown-column",
                        f"source '{name}' declares no column '{column}'",
                        did_you_mean(column, declared, fallback_list=False),
                    )
            lo, hi = chk.get("min"), chk.get("max")
            if _num(lo) and _num(hi) and lo > hi:
                ctx.error(
                    (*path, "min"), "range", f"min must be <= max. Got min {lo} > max {hi} instead."
                )
            rows = _dict(chk.get("rows"))
            rlo, rhi = rows.get("min"), rows.get("max")
            if _num(rlo) and _num(rhi) and rlo > rhi:
                ctx.error(
                    (*path, "rows"),
                    "range",
                    f"rows.min must be <= rows.max. Got {rlo} > {rhi} instead.",
                )


def _num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


@check
def joins_resolve(ctx: Context) -> None:
    data = _dict(ctx.data.get("data"))
    joined: set[str] = set()
    names = list(ctx.sources)
    # The table so far: its sources, and its columns while every one of them declares them.
    in_table: list[str] = []
    table: list[str] | None = None
    for i, j in _items(data.get("joins")):
        path = ("data", "joins", i)
        left, right = j.get("left"), j.get("right")
        in_order = isinstance(left, str) and left in ctx.sources and (not joined or left in joined)
        if in_order and not joined:
            in_table, table = [left], ctx.declared_columns(left)
        for side, value in (("left", left), ("right", right)):
            if isinstance(value, str) and value not in ctx.sources:
                ctx.error(
                    (*path, side),
                    "unknown-source",
                    f"join {side} '{value}' is not a source",
                    did_you_mean(value, names),
                )
        if isinstance(left, str) and left in ctx.sources:
            if not joined:
                joined.add(left)
            elif left not in joined:
                ctx.error(
                    (*path, "left"),
                    "join-order",
                    f"join left '{left}' is not in the table yet",
                    "a later join's left must be a source joined before it; reorder the joins",
                )
                joined.add(left)  # named by a join: not also "not joined"
        if left == right and isinstance(left, str):
            ctx.error((*path, "right"), "join-self", f"source '{left}' is joined with itself")
        elif isinstance(right, str) and right in joined:
            ctx.error((*path, "right"), "join-twice", f"source '{right}' is already in the table")
        if isinstance(right, str):
            joined.add(right)
        keys = _join_keys(j)
        right_cols = ctx.declared_columns(right)
        # The left keys are looked up in the table so far, as the join step does.
        sides = (
            [
                (
                    table,
                    f"source '{left}'"
                    if len(in_table) == 1
                    else f"the table so far ({' + '.join(in_table)})",
                )
            ]
            if in_order
            else []
        )
        sides.append((right_cols, f"source '{right}'"))
        for cols, side in sides:
            for key in keys:
                if cols is not None and key not in cols:
                    ctx.error(
                        (*path, "on"),
                        "unknown-column",
                        f"join key '{key}' is not a column of {side}",
                        did_you_mean(key, cols, fallback_list=False),
                    )
        if in_order:
            table = (
                _join_columns(table, right_cols, j)
                if table is not None and right_cols is not None
                else None
            )
            in_table.append(str(right))
    if len(ctx.sources) > 1:
        for name in names:
            if name not in joined:
                ctx.error(
                    ("data", "sources", name),
                    "unjoined-source",
                    f"source '{name}' is not joined into the table",
                    "add a join that names it, or remove the source",
                    key=True,
                )


@check
def split_is_sound(ctx: Context) -> None:
    split = _dict(_dict(ctx.data.get("data")).get("split"))
    test, valid = split.get("test", 0.2), split.get("valid")
    if _num(test) and _num(valid) and 0 < test < 1 and 0 < valid < 1 and test + valid >= 1:
        ctx.error(
            ("data", "split", "valid"),
            "split-fractions",
            f"test + valid must be below 1, leaving rows to train on. Got {test} + {valid} = {test + valid:g} instead.",
        )
    by = split.get("by")
    if isinstance(by, str):
        ctx.check_column(("data", "split", "by"), by, "split.by", extra=ctx.features)
        if split.get("method", "random") == "random":
            ctx.warn(
                ("data", "split", "by"),
                "split-by-unused",
                "a random split ignores `by`",
                "use method: stratified, time or group, or remove `by`",
            )


# ---------------------------------------------------------------- features


def _check_kinds(ctx: Context, path: JsonPath, f: dict[str, Any], parsed: Any) -> None:
    """With declared columns: an expression polars refuses on their dtypes, or a numeric
    feature whose expression gives text or dates, fails the features step; say it here."""
    if not ctx.column_dtypes:
        return
    name = f.get("name")
    try:
        kind = expr_types.kind_of(parsed, ctx.column_dtypes)
    except expr_types.KindError as exc:
        ctx.error(
            (*path, "expr"),
            "expr-type",
            f"in feature '{name}': {exc}",
            "convert with float(), int() or str(); see the function table for what each takes",
        )
        return
    if f.get("type", "numeric") == "numeric" and kind in expr_types.NOT_NUMBERS:
        ctx.error(
            (*path, "expr"),
            "expr-type",
            f"feature '{name}' is numeric, and its expression gives {kind}",
            "set `type: categorical`, or compute a number (float(), year(), hour(), ...)",
        )


# Declared dtypes a numeric feature cannot read as they are, with what to do instead.
_NOT_NUMBERS = {
    "str": 'set `type: categorical`, or read it as a number: `expr: "float({name})"`',
    "categorical": "set `type: categorical`",
    "date": 'compute a number from it, e.g. `expr: "year({name})"`, or set `type: categorical`',
    "datetime": 'compute a number from it, e.g. `expr: "hour({name})"`, or set `type: categorical`',
}


@check
def features_are_sound(ctx: Context) -> None:
    seen: dict[str, int] = {}
    for i, f in _items(ctx.data.get("features")):
        path = ("features", i)
        name = f.get("name")
        if isinstance(name, str):
            if name in seen:
                ctx.error(
                    (*path, "name"),
                    "duplicate-name",
                    f"feature '{name}' is defined twice",
                    f"first defined as features[{seen[name]}]",
                )
            seen.setdefault(name, i)
        text = f.get("expr")
        if isinstance(text, str):
            try:
                parsed = expr_lang.parse(text)
            except expr_lang.ExprError as exc:
                ctx.error(
                    (*path, "expr"),
                    exc.code,
                    f"in feature '{name}': {exc.message}",
                    exc.hint or None,
                    offset=exc.offset,
                )
            else:
                for col in sorted(expr_lang.columns(parsed)):
                    ctx.check_column((*path, "expr"), col, f"in feature '{name}', the name")
                _check_kinds(ctx, path, f, parsed)
        elif text is None and isinstance(name, str):
            ctx.check_column((*path, "name"), name, "feature", ())
        kind = f.get("type", "numeric")
        dtype = ctx.column_dtypes.get(name) if text is None and isinstance(name, str) else None
        if kind == "numeric" and dtype in _NOT_NUMBERS:
            ctx.error(
                (*path, "name"),
                "feature-option",
                f"feature '{name}' is numeric, and column '{name}' is declared {dtype}",
                _NOT_NUMBERS[dtype].format(name=name),
            )
        impute = f.get("impute", "none")
        if kind == "numeric" and f.get("encoding") is not None:
            ctx.error(
                (*path, "encoding"),
                "feature-option",
                f"feature '{name}' is numeric; `encoding` applies to categorical features",
                "set `type: categorical` or remove `encoding`",
                key=True,
            )
        if kind == "categorical" and f.get("scale", "none") != "none":
            ctx.error(
                (*path, "scale"),
                "feature-option",
                f"feature '{name}' is categorical; `scale` applies to numeric features",
                key=True,
            )
        if kind == "categorical" and impute in ("mean", "median"):
            ctx.error(
                (*path, "impute"),
                "feature-option",
                f"impute '{impute}' needs numbers; feature '{name}' is categorical",
                "use most_frequent or constant",
            )
        if impute == "constant" and f.get("fill_value") is None:
            ctx.error(
                (*path, "impute"),
                "feature-option",
                f"impute 'constant' needs a `fill_value` (feature '{name}')",
            )
        fill = f.get("fill_value")
        if impute == "constant" and kind == "numeric" and isinstance(fill, str | bool):
            ctx.error(
                (*path, "fill_value"),
                "feature-option",
                f"feature '{name}' is numeric; its fill_value must be a number. Got {json.dumps(fill)} instead.",
                "write a number, or set `type: categorical` to fill with a category",
            )
        if impute != "constant" and f.get("fill_value") is not None:
            ctx.error(
                (*path, "fill_value"),
                "feature-option",
                f"`fill_value` applies only with impute: constant (feature '{name}')",
                key=True,
            )


# ---------------------------------------------------------------- objectives


_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _task(obj: dict[str, Any]) -> str | None:
    task = obj.get("task")
    return task if isinstance(task, str) and task in DEFAULT_METRICS else None


def _metrics(obj: dict[str, Any]) -> list[str]:
    task = _task(obj)
    given = obj.get("metrics")
    if isinstance(given, list):
        return [m for m in given if isinstance(m, str)]
    return list(DEFAULT_METRICS.get(task or "", ()))


@check
def objectives_are_sound(ctx: Context) -> None:
    targets = {
        name: o.get("target")
        for name, o in ctx.objectives.items()
        if isinstance(o.get("target"), str)
    }
    for name, obj in ctx.objectives.items():
        base = ("objectives", name)
        task = _task(obj)
        target = obj.get("target")
        ctx.check_column((*base, "target"), target, f"objective '{name}': target")
        used = obj.get("features")
        if used == [] or (
            used is None and not ctx.features and isinstance(ctx.data.get("features", []), list)
        ):
            where = (*base, "features") if used == [] else base
            ctx.error(
                where,
                "no-features",
                f"objective '{name}' has no features to learn from",
                "add `features:` to the spec, or list the objective's own",
                key=True,
            )
        if isinstance(used, list):
            for i, fname in enumerate(used):
                if isinstance(fname, str) and fname not in ctx.features:
                    ctx.error(
                        (*base, "features", i),
                        "unknown-feature",
                        f"objective '{name}' uses unknown feature '{fname}'",
                        did_you_mean(fname, ctx.features),
                    )
        if task is None:
            continue
        for i, metric in enumerate(_list(obj.get("metrics"))):
            if isinstance(metric, str) and metric in METRICS and task not in METRICS[metric].tasks:
                ctx.error(
                    (*base, "metrics", i),
                    "metric-task",
                    _metric_task_message(metric, task),
                    _fitting(task),
                )
        metrics = _metrics(obj)
        select_by = obj.get("select_by")
        if isinstance(select_by, str) and select_by in METRICS:
            if task not in METRICS[select_by].tasks:
                ctx.error(
                    (*base, "select_by"),
                    "metric-task",
                    _metric_task_message(select_by, task),
                    _fitting(task),
                )
            elif select_by not in metrics:
                ctx.error(
                    (*base, "select_by"),
                    "select-by",
                    f"select_by '{select_by}' is not one of the objective's metrics",
                    f"add it to `metrics` ({', '.join(metrics)})",
                )
        for metric, threshold in _dict(obj.get("gate")).items():
            _check_gate_metric(
                ctx, (*base, "gate", metric), metric, task, metrics, fairness="fairness" in obj
            )
            _check_gate_direction(ctx, (*base, "gate", metric), metric, threshold)
        if obj.get("threshold", 0.5) != 0.5 and task != "binary":
            ctx.error(
                (*base, "threshold"),
                "objective-option",
                f"`threshold` applies to binary objectives; '{name}' is {task}",
                key=True,
            )
        if obj.get("positive") is not None and task != "binary":
            ctx.error(
                (*base, "positive"),
                "objective-option",
                f"`positive` names a class of a binary objective; '{name}' is {task}",
                key=True,
            )
        fairness = obj.get("fairness")
        if isinstance(fairness, dict):
            if task != "binary":
                ctx.error(
                    (*base, "fairness"),
                    "fairness-task",
                    f"fairness differences are defined for binary objectives; '{name}' is {task}",
                    key=True,
                )
            for i, col in enumerate(_list(fairness.get("protected"))):
                ctx.check_column(
                    (*base, "fairness", "protected", i), col, "protected column", extra=ctx.features
                )
        for i, col in enumerate(_list(obj.get("slices"))):
            # A feature is a column of the table evaluation reads, declared columns or not.
            ctx.check_column((*base, "slices", i), col, "slice column", extra=ctx.features)
        _check_models(ctx, base, obj, task)
        _check_leakage(ctx, name, obj, targets)


def _metric_task_message(metric: str, task: str) -> str:
    fits = " and ".join(sorted(METRICS[metric].tasks))
    return f"metric '{metric}' does not fit a {task} task (it is for {fits})"


def _fitting(task: str) -> str:
    return (
        "metrics for " + task + ": " + ", ".join(m for m, v in METRICS.items() if task in v.tasks)
    )


def _check_gate_metric(
    ctx: Context, path: JsonPath, metric: str, task: str, metrics: list[str], *, fairness: bool
) -> None:
    if not _METRIC_NAME.match(metric):
        return  # not a metric name at all: the schema reports it
    if metric in FAIRNESS_METRICS:
        if task != "binary":
            ctx.error(path, "gate-metric", f"gate on '{metric}' needs a binary objective", key=True)
        elif not fairness:
            ctx.error(
                path,
                "gate-metric",
                f"gate on '{metric}' needs `fairness.protected` columns",
                key=True,
            )
        return
    if metric not in METRICS:
        ctx.error(
            path,
            "gate-metric",
            f"gate on unknown metric '{metric}'",
            did_you_mean(metric, [*metrics, *FAIRNESS_METRICS]),
            key=True,
        )
    elif task not in METRICS[metric].tasks:
        ctx.error(path, "metric-task", _metric_task_message(metric, task), _fitting(task), key=True)
    elif metric not in metrics:
        ctx.error(
            path,
            "gate-metric",
            f"gate on '{metric}', which the objective does not report",
            f"add it to `metrics` ({', '.join(metrics)})",
            key=True,
        )


def _check_gate_direction(ctx: Context, path: JsonPath, metric: str, threshold: Any) -> None:
    """`log_loss: '>= 0.9'` is almost surely a slip: it passes the worse models."""
    m = METRICS.get(metric) or FAIRNESS_METRICS.get(metric)
    if m is None or not isinstance(threshold, str):
        return
    op = threshold.strip()[:2].strip()
    if (m.higher_is_better and op in ("<", "<=")) or (not m.higher_is_better and op in (">", ">=")):
        better = "higher" if m.higher_is_better else "lower"
        want = ">=" if m.higher_is_better else "<="
        ctx.warn(
            path,
            "gate-direction",
            f"gate '{metric}: {threshold.strip()}' passes worse models: {better} {metric} is better",
            f"did you mean '{want} ...'?",
        )


def _check_models(ctx: Context, base: JsonPath, obj: dict[str, Any], task: str) -> None:
    seen: set[str] = set()
    for i, model in _items(obj.get("models")):
        path = (*base, "models", i)
        name, mtype = model.get("name"), model.get("type")
        if isinstance(name, str):
            if name in seen:
                ctx.error(
                    (*path, "name"),
                    "duplicate-name",
                    f"model '{name}' is defined twice in objective '{base[-1]}'",
                )
            seen.add(name)
            if name == "baseline" and obj.get("baseline", True):
                ctx.error(
                    (*path, "name"),
                    "duplicate-name",
                    "the name 'baseline' is taken by the objective's baseline model",
                    "rename the model, or set `baseline: false`",
                )
        if not isinstance(mtype, str) or mtype not in MODEL_TYPES:
            continue
        estimator = MODEL_TYPES[mtype].estimator(task)
        if estimator is None:
            fits = [n for n, t in MODEL_TYPES.items() if t.estimator(task) is not None]
            ctx.error(
                (*path, "type"),
                "model-task",
                f"model type '{mtype}' has no {task} estimator",
                did_you_mean(mtype, fits, fallback_list=False)
                or "types for this task: " + ", ".join(fits),
            )
            continue
        allowed = estimator.params
        params = _dict(model.get("params"))
        for pname in params:
            if pname not in allowed:
                ctx.error(
                    (*path, "params", pname),
                    "unknown-param",
                    f"'{pname}' is not a parameter of {mtype} ({estimator.path.rsplit('.', 1)[-1]})",
                    did_you_mean(pname, allowed, fallback_list=False),
                    key=True,
                )
        search = model.get("search")
        if isinstance(search, dict):
            _check_search(ctx, (*path, "search"), search, allowed, mtype, params)
        _check_early_stopping(ctx, path, model, params)


# Params by which a model type stops early on a watched set: the valid split.
EARLY_STOPPING = {"xgboost": "early_stopping_rounds"}


def _check_early_stopping(
    ctx: Context, path: JsonPath, model: dict[str, Any], params: dict[str, Any]
) -> None:
    pname = EARLY_STOPPING.get(model.get("type"))  # type: ignore[arg-type]
    space = _dict(_dict(model.get("search")).get("space"))
    where = (*path, "params", pname) if pname in params else (*path, "search", "space", pname)
    if pname is None or (params.get(pname) in (None, 0) and pname not in space):
        return
    split = _dict(_dict(ctx.data.get("data")).get("split"))
    if not _has_valid(split):
        ctx.error(
            where,
            "early-stopping",
            f"{pname} watches the valid split, but data.split has no `valid` fraction",
            "add e.g. `valid: 0.1` to data.split (its rows are then the early-stopping set)",
            key=True,
        )


def _check_search(
    ctx: Context,
    path: JsonPath,
    search: dict[str, Any],
    allowed: frozenset[str],
    mtype: str,
    params: dict[str, Any],
) -> None:
    method = search.get("method", "random")
    for pname, space in _dict(search.get("space")).items():
        p = (*path, "space", pname)
        if pname not in allowed:
            ctx.error(
                p,
                "unknown-param",
                f"'{pname}' is not a parameter of {mtype}",
                did_you_mean(pname, allowed, fallback_list=False),
                key=True,
            )
        if pname in params:
            ctx.error(
                p,
                "search-space",
                f"'{pname}' is both fixed in `params` and searched",
                "remove it from one of them",
                key=True,
            )
        if isinstance(space, dict):
            lo, hi = space.get("low"), space.get("high")
            if method == "grid":
                ctx.error(
                    p,
                    "search-space",
                    f"a grid search needs a list of values for '{pname}'. Got a range instead.",
                    "list the values, or use method: random",
                )
            if _num(lo) and _num(hi) and lo > hi:
                ctx.error(
                    p, "search-space", f"low must be <= high. Got low {lo} > high {hi} instead."
                )
            if space.get("log") and _num(lo) and lo <= 0:
                ctx.error(
                    (*p, "low"), "search-space", f"a log range needs low > 0. Got {lo} instead."
                )
    space = _dict(search.get("space"))
    if method == "grid":
        if "trials" in search:
            ctx.warn(
                (*path, "trials"),
                "search-space",
                "a grid search tries every combination; `trials` is ignored",
                "remove `trials`, or use method: random",
                key=True,
            )
        size = 1
        for values in space.values():
            size *= len(values) if isinstance(values, list) else 1
        if size > MAX_GRID:
            ctx.error(
                (*path, "space"),
                "search-space",
                f"the grid has {size:,} combinations; the limit is {MAX_GRID:,}",
                "use method: random with `trials`",
                key=True,
            )
    cv = search.get("cv", 3)
    if cv == "valid":
        split = _dict(_dict(ctx.data.get("data")).get("split"))
        if not _has_valid(split):
            ctx.error(
                (*path, "cv"),
                "search-space",
                "cv: valid scores on the valid split, but data.split has no `valid` fraction",
                "add e.g. `valid: 0.1` to data.split, or use k-fold (cv: 3)",
            )


def _has_valid(split: dict[str, Any]) -> bool:
    """Whether the split may have valid rows: a `valid` fraction, or a column split (whose
    column names them; a run without any fails when it needs them)."""
    return split.get("valid") is not None or split.get("method") == "column"


MAX_GRID = 1000  # as mlspec.compile.search.MAX_TRIALS: every trial is a step


def _check_leakage(ctx: Context, name: str, obj: dict[str, Any], targets: dict[str, str]) -> None:
    """A target is never a feature, directly or read by an expression."""
    used = obj.get("features")
    names = (
        [f for f in used if isinstance(f, str)] if isinstance(used, list) else list(ctx.features)
    )
    target = obj.get("target")
    if not isinstance(target, str):
        return
    for fname in names:
        reads = ctx.feature_columns.get(fname, frozenset())
        if fname == target or target in reads:
            idx = ctx.feature_index.get(fname)
            how = "is" if fname == target else "reads"
            path = (
                ("features", idx, "name" if fname == target else "expr")
                if idx is not None
                else ("objectives", name, "target")
            )
            ctx.error(
                path,
                "target-leak",
                f"feature '{fname}' {how} the target '{target}' of objective '{name}'",
                "a target is never a feature: remove it from the features, or list the objective's own `features`",
            )


@check
def problem_fits_objectives(ctx: Context) -> None:
    task = _dict(ctx.data.get("problem")).get("task")
    if task in ("binary", "multiclass", "regression") and len(ctx.objectives) == 1:
        ((name, obj),) = ctx.objectives.items()
        if _task(obj) is not None and obj.get("task") != task:
            ctx.error(
                ("problem", "task"),
                "problem-task",
                f"problem.task is {task}, but its only objective '{name}' is {obj.get('task')}",
            )


# ---------------------------------------------------------------- combine


@check
def combine_is_sound(ctx: Context) -> None:
    combine = ctx.data.get("combine")
    names = list(ctx.objectives)
    if not isinstance(combine, dict):
        if len(names) > 1 and "combine" not in ctx.data:
            ctx.error(
                ("objectives",),
                "combine-missing",
                f"{len(names)} objectives need `combine.weights` to make one score",
                "add `combine: {weights: {" + ", ".join(f"{n}: 0.5" for n in names[:2]) + "}}`",
                key=True,
            )
        return
    weights = _dict(combine.get("weights"))
    for obj_name in weights:
        path = ("combine", "weights", obj_name)
        if obj_name not in ctx.objectives:
            ctx.error(
                path,
                "unknown-objective",
                f"combine weight for unknown objective '{obj_name}'",
                did_you_mean(obj_name, names),
                key=True,
            )
    numeric = [w for w in weights.values() if _num(w)]
    if weights and len(numeric) == len(weights) and all(w == 0 for w in numeric):
        ctx.error(
            ("combine", "weights"),
            "weight",
            "the weights must not all be 0",
            "give at least one objective a weight other than 0",
            key=True,
        )
    if weights:
        for obj_name in names:
            if obj_name not in weights:
                ctx.error(
                    ("combine", "weights"),
                    "missing-weight",
                    f"objective '{obj_name}' has no weight in combine.weights",
                    "give it one (0 leaves it out of the final score)",
                    key=True,
                )
    for obj_name, how in _dict(combine.get("scale")).items():
        path = ("combine", "scale", obj_name)
        if obj_name not in ctx.objectives:
            ctx.error(
                path,
                "unknown-objective",
                f"combine scale for unknown objective '{obj_name}'",
                did_you_mean(obj_name, names),
                key=True,
            )
        elif how == "probability" and ctx.objectives[obj_name].get("task") in (
            "regression",
            "multiclass",
        ):
            task = ctx.objectives[obj_name].get("task")
            ctx.error(
                path,
                "combine-scale",
                f"objective '{obj_name}' is {task}; only a binary score is a probability",
                "use rank or minmax (or identity for the score as is)",
            )
    target = combine.get("target")
    ctx.check_column(("combine", "target"), target, "combine target")
    targets = sorted(
        {o.get("target") for o in ctx.objectives.values() if isinstance(o.get("target"), str)}
    )
    # else unknown-column says it better (a target that is no string: the schema says so)
    known = ctx.columns is None or (isinstance(target, str) and target in ctx.columns)
    if isinstance(target, str) and targets and target not in targets and known:
        ctx.error(
            ("combine", "target"),
            "combine-target",
            f"combine.target '{target}' is not the target of any objective",
            "the combined score is evaluated against an objective's target: " + ", ".join(targets),
        )
    owners = {
        n: _task(o)
        for n, o in ctx.objectives.items()
        if isinstance(target, str) and o.get("target") == target
    }
    for i, m in enumerate(_list(combine.get("metrics"))):
        if isinstance(m, str) and m not in COMBINED_METRICS:
            ctx.error(
                ("combine", "metrics", i),
                "metric-task",
                f"metric '{m}' does not apply to a combined score",
                "combined-score metrics: " + ", ".join(sorted(COMBINED_METRICS)),
            )
        elif isinstance(m, str) and owners:
            _check_combined_metric(ctx, i, m, target, owners)
    if _list(combine.get("metrics")) and target is None:
        ctx.error(
            ("combine", "metrics"),
            "combine-target",
            "combined-score metrics need a `combine.target` column",
            key=True,
        )
    for metric in _dict(combine.get("gate")):
        given = [m for m in _list(combine.get("metrics")) if isinstance(m, str)]
        if metric not in given:
            hint = (
                "add it to combine.metrics"
                if metric in COMBINED_METRICS
                else did_you_mean(metric, given)
            )
            ctx.error(
                ("combine", "gate", metric),
                "gate-metric",
                f"gate on '{metric}', which combine.metrics does not list",
                hint,
                key=True,
            )


def _check_combined_metric(
    ctx: Context, i: int, metric: str, target: str, owners: dict[str, str | None]
) -> None:
    """roc_auc and pr_auc need two classes (a binary objective's target); rmse, mae and r2 a
    number (the combine step refuses a text target)."""
    tasks = set(owners.values())
    owner = ", ".join(f"{t} objective '{n}'" for n, t in sorted(owners.items()))
    if metric in ("roc_auc", "pr_auc") and "binary" not in tasks and None not in tasks:
        ctx.error(
            ("combine", "metrics", i),
            "metric-task",
            f"metric '{metric}' of the combined score needs two classes; combine.target "
            f"'{target}' is the target of {owner}",
            "use rmse, mae or r2, or evaluate against a binary objective's target",
        )
    dtype = ctx.column_dtypes.get(target)
    if metric not in ("roc_auc", "pr_auc") and dtype in ("str", "categorical", "date", "datetime"):
        ctx.error(
            ("combine", "metrics", i),
            "metric-task",
            f"metric '{metric}' of the combined score needs a numeric target; combine.target "
            f"'{target}' is declared {dtype}",
            "use roc_auc or pr_auc for a binary target",
        )


# ---------------------------------------------------------------- deployment, monitors


@check
def deployment_is_sound(ctx: Context) -> None:
    dep = ctx.data.get("deployment")
    if not isinstance(dep, dict):
        return
    target = dep.get("target")
    for other in ("batch", "rest", "ray_serve"):
        if other in dep and other != target and isinstance(target, str):
            ctx.error(
                ("deployment", other),
                "deployment-option",
                f"options for '{other}' given, but the target is '{target}'",
                f"set target: {other}, or remove the `{other}` options",
                key=True,
            )
    batch = _dict(dep.get("batch"))
    output, fmt = batch.get("output", "scores.parquet"), batch.get("format", "parquet")
    if isinstance(output, str) and fmt in ("parquet", "csv"):
        suffix = PurePosixPath(output).suffix.lower()
        if suffix in (".parquet", ".csv") and suffix != f".{fmt}":
            ctx.warn(
                ("deployment", "batch", "output" if "output" in batch else "format"),
                "deployment-option",
                f"the batch output '{output}' is written as {fmt}, not as its suffix says",
                f"name it *.{fmt}, or set format: {suffix[1:]}",
            )


@check
def monitors_are_sound(ctx: Context) -> None:
    seen: set[str] = set()
    names = list(ctx.objectives)
    for i, mon in _items(ctx.data.get("monitors")):
        path = ("monitors", i)
        name, kind = mon.get("name"), mon.get("type")
        if isinstance(name, str):
            if name in seen:
                ctx.error((*path, "name"), "duplicate-name", f"monitor '{name}' is defined twice")
            seen.add(name)
        columns = _list(mon.get("columns"))
        objective = mon.get("objective")
        metric = mon.get("metric")
        if kind in ("data_drift", "data_quality"):
            if not columns and kind == "data_drift":
                ctx.error(
                    path, "monitor-option", f"data_drift monitor '{name}' needs `columns` to watch"
                )
            for j, col in enumerate(columns):
                if isinstance(col, str) and col not in ctx.features:
                    if ctx.columns is None:
                        continue
                    ctx.check_column(
                        (*path, "columns", j), col, "monitored column", extra=ctx.features
                    )
        elif columns:
            ctx.error(
                (*path, "columns"),
                "monitor-option",
                f"`columns` applies to data_drift and data_quality monitors; '{name}' is {kind}",
                key=True,
            )
        _monitor_options(ctx, path, mon, name, kind, columns)
        if isinstance(objective, str) and objective not in ctx.objectives:
            ctx.error(
                (*path, "objective"),
                "unknown-objective",
                f"monitor '{name}' watches unknown objective '{objective}'",
                did_you_mean(objective, names),
            )
        if kind == "performance":
            if objective is None:
                ctx.error(
                    path, "monitor-option", f"performance monitor '{name}' needs an `objective`"
                )
            if metric is None:
                ctx.error(path, "monitor-option", f"performance monitor '{name}' needs a `metric`")
            obj = ctx.objectives.get(objective) if isinstance(objective, str) else None
            if obj is not None and isinstance(metric, str) and metric in METRICS:
                task = _task(obj)
                if task and task not in METRICS[metric].tasks:
                    ctx.error(
                        (*path, "metric"),
                        "metric-task",
                        _metric_task_message(metric, task),
                        _fitting(task),
                    )
                elif mon.get("floor") is None and metric not in _metrics(obj):
                    ctx.error(
                        (*path, "metric"),
                        "monitor-option",
                        f"performance monitor '{name}' compares {metric} with the selected model's test value, "
                        f"and objective '{objective}' does not report {metric}",
                        f"add {metric} to objectives.{objective}.metrics, or give the monitor a `floor`",
                    )
        elif metric is not None:
            ctx.error(
                (*path, "metric"),
                "monitor-option",
                f"`metric` applies to performance monitors; '{name}' is {kind}",
                key=True,
            )
        if kind in ("data_drift", "data_quality") and objective is not None:
            ctx.error(
                (*path, "objective"),
                "monitor-option",
                f"`objective` applies to prediction_drift and performance monitors; '{name}' is {kind}",
                key=True,
            )
        if kind in ("performance", "data_quality") and "test" in mon:
            ctx.error(
                (*path, "test"),
                "monitor-option",
                f"`test` is a drift statistic; {kind} monitor '{name}' compares with `threshold`",
                key=True,
            )


# Monitor keys that only some types take: key -> the types.
_MONITOR_ONLY = {
    "column_tests": ("data_drift",),
    "drift_share": ("data_drift",),
    "floor": ("performance",),
    "reference": ("data_drift", "data_quality"),
}
# Drift tests that take numbers only (Evidently's KS and Wasserstein).
_NUMERIC_TESTS = ("ks", "wasserstein")
# Declared dtypes a monitor cannot profile (neither numbers nor categories), and those it
# profiles as categories (`steps/profile.kind`).
_UNMONITORED_DTYPES = ("date", "datetime")
_CATEGORICAL_DTYPES = ("str", "bool", "categorical")


def _monitor_options(
    ctx: Context,
    path: tuple[Any, ...],
    mon: dict[str, Any],
    name: Any,
    kind: Any,
    columns: list[Any],
) -> None:
    split = _dict(_dict(ctx.data.get("data")).get("split"))
    if (
        mon.get("reference") == "valid"
        and not split.get("valid")
        and split.get("method") != "column"
    ):
        ctx.error(
            (*path, "reference"),
            "monitor-option",
            f"monitor '{name}' compares with the valid split, and the spec has none",
            "set `data.split.valid`, or compare with `reference: train`",
        )
    for key, kinds in _MONITOR_ONLY.items():
        if key in mon and kind not in kinds:
            ctx.error(
                (*path, key),
                "monitor-option",
                f"`{key}` applies to {' and '.join(kinds)} monitors; '{name}' is {kind}",
                key=True,
            )
    overrides = mon.get("column_tests")
    if kind == "data_drift" and isinstance(overrides, dict):
        for col in overrides:
            if col not in columns:
                ctx.error(
                    (*path, "column_tests", col),
                    "monitor-option",
                    f"column_tests names '{col}', which monitor '{name}' does not watch",
                    "add it to `columns`, or remove its entry",
                    key=True,
                )
    if kind in ("data_drift", "data_quality"):
        for j, col in enumerate(columns):
            if not isinstance(col, str):  # the schema reports it
                continue
            dtype = ctx.column_dtypes.get(col) if col not in ctx.features else None
            if dtype in _UNMONITORED_DTYPES:
                ctx.error(
                    (*path, "columns", j),
                    "monitor-option",
                    f"column '{col}' of monitor '{name}' is a {dtype} column; monitors compare numbers and categories",
                    f'monitor a feature computed from it (e.g. `expr: "month({col})"`) instead',
                )
    if kind != "data_drift":
        return
    categorical = {f for f, d in ctx.features.items() if d.get("type") == "categorical"}
    categorical |= {
        c
        for c, dtype in ctx.column_dtypes.items()
        if dtype in _CATEGORICAL_DTYPES and c not in ctx.features
    }
    for col in (c for c in columns if isinstance(c, str)):
        given = overrides.get(col) if isinstance(overrides, dict) else None
        test = (given or {}).get("test") if isinstance(given, dict) else None
        where = (*path, "column_tests", col, "test") if test else (*path, "test")
        test = test or mon.get("test")
        if isinstance(col, str) and col in categorical and test in _NUMERIC_TESTS:
            ctx.error(
                where,
                "monitor-option",
                f"test '{test}' takes numbers; column '{col}' of monitor '{name}' is categorical",
                "use chi_square, psi, jensen_shannon or auto for it (column_tests can set it per column)",
            )


# ---------------------------------------------------------------- the file system


def paths_on_disk(doc: Document, folder: Path) -> list[Diagnostic]:
    """Folders and files mlspec will write that the file system already holds as the other kind.

    The one look outside the spec that `validate` takes (when it knows the spec's folder): a
    stat of the store and the batch output, never a read. A store that names a file failed
    every command that opens it with a traceback.
    """
    out: list[Diagnostic] = []
    wanted: list[tuple[JsonPath, Any, bool]] = [
        (("execution", "store"), _dict(doc.data.get("execution")).get("store", ".mlspec"), True),
    ]
    dep = _dict(doc.data.get("deployment"))
    if dep.get("target") == "batch":
        output = _dict(dep.get("batch")).get("output", "scores.parquet")
        wanted.append((("deployment", "batch", "output"), output, False))
    for where, rel, is_folder in wanted:
        if not isinstance(rel, str) or not rel or _outside(rel) or _bad_char(rel):
            continue  # reported by the schema and the checks above
        clash = _clash(folder, rel, is_folder)
        if clash is not None:
            name, kind = clash
            message = (
                f"{format_path(where)} '{rel}'"
                + ("" if name == rel.strip("/") else f": '{name}'")
                + " is a file, not a folder"
                if kind == "file"
                else f"{format_path(where)} '{rel}' is a folder; the scores are written to a file"
            )
            out.append(
                doc.diag(
                    where,
                    "path-kind",
                    message,
                    "choose another path, or move what is there",
                    key=where not in doc.marks,
                )
            )
    return out


def _clash(folder: Path, rel: str, is_folder: bool) -> tuple[str, str] | None:
    """The first part of `rel` under `folder` that exists as the wrong kind, and its kind."""
    parts = [p for p in re.split(r"[/\\]", rel) if p not in ("", ".")]
    here = folder
    try:
        for i, part in enumerate(parts):
            here = here / part
            last = i == len(parts) - 1
            if here.is_dir():
                if last and not is_folder:
                    return "/".join(parts[: i + 1]), "folder"
            elif here.exists():
                if not last or is_folder:
                    return "/".join(parts[: i + 1]), "file"
                return None
            else:
                return None
    except (OSError, ValueError):  # a name too long, a loop of links: the run will say
        return None
    return None
