"""R1, spec fuzzing: mutated and generated specs through validate, plan, graph and diff.

A seeded mutator of our own (`random.Random`), so that the CI test (a few hundred specs) and
the benchmark (`bench/fuzz_specs.py`, 10,000) draw from one generator. Seeds are every spec in
specs/valid and every example. Each fuzzed spec is

- mutated as data: a value replaced by a boundary value (0, -1, the schema's maximum + 1,
  2**63, 1e308, .inf, .nan, "", a NUL, a lone surrogate, 300-byte names, deep expressions),
  by a value *generated from the schema* at that path (right type, odd combination), by a
  value from elsewhere in the spec (names that now dangle), or a key deleted, renamed,
  duplicated;
- or mutated as text: lines duplicated, dropped, re-indented, tabs, YAML punctuation,
  30,000 nested brackets, thousands of unknown keys.

and run in-process through the `mlspec` command line: `validate`, `plan`, `graph`,
`diff BASE SPEC`. It fails on any exception that escapes a command, an exit code other than
0 or 2, a diagnostic without a position inside the text, and a command that takes more than
`limit` seconds of CPU time (CPU, not wall: the machine is shared).
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import random
import re
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlspec.cli import main
from mlspec.lang.loader import load_text, walk
from mlspec.lang.schema import _deref, subschema
from mlspec.lang.validate import validate_text

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted([*ROOT.glob("examples/*/spec.yaml"), *(ROOT / "specs" / "valid").glob("*.yaml")])
COMMANDS = ("validate", "plan", "graph", "diff")
LIMIT_S = 1.0

_CODE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

BOUNDARY: list[Any] = [
    0,
    -1,
    1,
    2,
    1000,
    1001,
    1024,
    1025,
    65536,
    2**31,
    2**32,
    2**63,
    -(2**63) - 1,
    10**30,
    0.5,
    1.5,
    -0.0,
    1e-300,
    1e308,
    -1e308,
    math.inf,
    -math.inf,
    math.nan,
    "",
    " ",
    "x",
    "y",
    "a" * 300,
    "d/" * 600 + "x.csv",
    "s\0.csv",
    "\ud800",
    "é.csv",
    "../x.csv",
    "/abs/x.csv",
    "C:/x.csv",
    "x.db",
    "x.txt",
    ".",
    "./",
    "README.md",
    "spec.yaml",
    ">= 0.5",
    ">= 1e999",
    "<= -1",
    "log1p(x)",
    "+" * 500 + "x",
    " + ".join(["x"] * 300),
    "(" * 120 + "x" + ")" * 120,
    "col('a\\0b')",
    True,
    False,
    None,
    [],
    {},
    [None],
    [1, 1],
    {"": 1},
    {"a": {"b": {"c": [1]}}},
]


def _boundaries(node: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(node.get(key), int | float):
            v = node[key]
            out += [v, v - 1, v + 1]
    for key in ("minLength", "maxLength"):
        if isinstance(node.get(key), int):
            out += ["x" * node[key], "x" * (node[key] + 1)]
    return out


@dataclass
class Generator:
    """Values generated from the JSON Schema at a path, with names taken from the spec."""

    rng: random.Random
    names: list[str]

    def value(self, node: dict[str, Any] | None, depth: int = 0) -> Any:
        rng = self.rng
        if node is None or depth > 6:
            return rng.choice(BOUNDARY)
        node = _deref(node)
        if "const" in node:
            return node["const"]
        if "enum" in node and rng.random() < 0.8:
            return rng.choice(node["enum"])
        for key in ("oneOf", "anyOf"):
            if isinstance(node.get(key), list):
                rest = {k: v for k, v in node.items() if k not in ("oneOf", "anyOf")}
                return self.value({**rest, **rng.choice(node[key])}, depth + 1)
        types = node.get("type", ["string"])
        kind = rng.choice(types if isinstance(types, list) else [types])
        edges = _boundaries(node)
        if kind == "object":
            out: dict[str, Any] = {}
            props = node.get("properties", {})
            for name in props:
                if name in node.get("required", []) or rng.random() < 0.3:
                    out[name] = self.value(props[name], depth + 1)
            extra = node.get("additionalProperties")
            if isinstance(extra, dict):
                for _ in range(rng.randint(0, 2)):
                    out[rng.choice(self.names)] = self.value(extra, depth + 1)
            return out
        if kind == "array":
            return [self.value(node.get("items"), depth + 1) for _ in range(rng.randint(0, 3))]
        if kind == "integer":
            return rng.choice([*edges, 0, 1, 2, 3, 7, 2**32, 10**20])
        if kind == "number":
            return rng.choice([*edges, 0, 0.1, 0.5, 1, 2.5, 1e308, math.inf, math.nan])
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "null":
            return None
        return rng.choice([*edges, *self.names, *(b for b in BOUNDARY if isinstance(b, str))])


def _names(data: Any) -> list[str]:
    """Every string and key of a spec: columns, sources, objectives, features, metrics."""
    out: set[str] = set()
    for path, value in walk(data):
        if path and isinstance(path[-1], str):
            out.add(path[-1])
        if isinstance(value, str) and len(value) < 40:
            out.add(value)
    return sorted(out)


def _typo(word: str, rng: random.Random) -> str:
    if not word:
        return "x"
    i = rng.randrange(len(word))
    return (
        rng.choice(
            [
                word[:i] + word[i + 1 :],
                word[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz_") + word[i:],
                word[:i] + word[i].swapcase() + word[i + 1 :],
            ]
        )
        or "x"
    )


def mutate_data(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One change somewhere in the document's data."""
    names = _names(data)
    gen = Generator(rng, names)
    paths = [p for p, _v in walk(data) if p]
    path = rng.choice(paths)
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    how = rng.choice(
        ["boundary", "schema", "schema", "schema", "elsewhere", "delete", "rename", "duplicate"]
    )
    if how == "delete":
        del parent[last]
    elif how == "rename" and isinstance(last, str):
        parent[rng.choice([_typo(last, rng), *names[:50]])] = parent.pop(last)
    elif how == "duplicate" and isinstance(parent, list):
        parent.insert(last, copy.deepcopy(parent[last]))
    elif how == "elsewhere":
        parent[last] = copy.deepcopy(rng.choice([v for _p, v in walk(data)]))
    elif how == "schema":
        parent[last] = gen.value(subschema(path))
    else:
        parent[last] = rng.choice(BOUNDARY)
    return data


def mutate_text(text: str, rng: random.Random) -> str:
    """One change of the text: lines, indentation, punctuation, depth, width."""
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    line = lines[i]
    how = rng.choice(
        [
            "dup",
            "delete",
            "indent",
            "dedent",
            "tab",
            "swap",
            "typo",
            "insert",
            "insert",
            "deep",
            "wide",
        ]
    )
    if how == "dup":
        lines.insert(i, line)
    elif how == "delete":
        del lines[i]
    elif how == "indent":
        lines[i] = " " * rng.randint(1, 4) + line
    elif how == "dedent":
        lines[i] = line[rng.randint(1, 4) :] if line.startswith(" ") else line
    elif how == "tab":
        lines[i] = "\t" + line.lstrip(" ")
    elif how == "swap" and i + 1 < len(lines):
        lines[i], lines[i + 1] = lines[i + 1], line
    elif how == "typo":
        words = re.findall(r"[A-Za-z_]+", line)
        if words:
            word = rng.choice(words)
            lines[i] = line.replace(word, _typo(word, rng), 1)
    elif how == "deep":
        n = rng.choice([70, 1000, 30_000])
        opener, closer = rng.choice([("[", "]"), ("{a: ", "}")])
        lines.insert(i, "deep: " + opener * n + "1" + closer * n)
    elif how == "wide":
        lines += [f"k{j}: {j}" for j in range(rng.choice([100, 2000]))]
    else:
        at = rng.randint(0, len(line))
        chars = "".join(
            rng.choice(":-[]{}&*!|>'\"#,? \t%@`\\\x85\u2028é\ufeff0")
            for _ in range(rng.randint(1, 4))
        )
        lines[i] = line[:at] + chars + line[at:]
    return "\n".join(lines)


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10**6)


def fuzzed_specs(count: int, seed: int = 0) -> Iterator[tuple[Path, str]]:
    """`count` (seed spec, fuzzed text) pairs, the same for the same `seed`."""
    rng = random.Random(seed)
    seeds = [(p, p.read_text("utf-8")) for p in SEEDS]
    loaded = {}
    for p, text in seeds:
        doc, _diags = load_text(text, str(p))
        assert doc is not None, p
        loaded[p] = doc.data
    for _ in range(count):
        path, text = rng.choice(seeds)
        if rng.random() < 0.75:
            data = copy.deepcopy(loaded[path])
            for _m in range(rng.choice([1, 1, 2, 3])):
                if not data:
                    break
                data = mutate_data(data, rng)
            try:
                text = _dump(data)
            except yaml.YAMLError:  # a lone surrogate: PyYAML cannot write it
                text = mutate_text(text, rng)
        else:
            for _m in range(rng.choice([1, 1, 2])):
                text = mutate_text(text, rng)
        yield path, text


@dataclass
class Outcome:
    """What one fuzzed spec did: per command, exit code and CPU and wall seconds."""

    index: int
    seed: str
    valid: bool
    cpu: dict[str, float] = field(default_factory=dict)
    wall: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def _located(text: str, diagnostics: list[Any]) -> list[str]:
    lines = _BREAK.split(text)
    bad = []
    for d in diagnostics:
        if not (_CODE.match(d.code) and d.message.strip()):
            bad.append(f"bad code or message: {d}")
        elif not (1 <= d.line <= len(lines) and 1 <= d.col <= len(lines[d.line - 1]) + 1):
            bad.append(f"diagnostic not located in the text: {d.line}:{d.col} [{d.code}]")
    return bad


def _run(args: list[str]) -> tuple[int | None, str, float, float]:
    out = io.StringIO()
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code: int | None = main(args)
    except BaseException:
        code, text = None, traceback.format_exc()
    else:
        text = out.getvalue()
    return code, text, time.process_time() - cpu, time.perf_counter() - wall


def check_spec(index: int, seed: Path, text: str, folder: Path, limit: float = LIMIT_S) -> Outcome:
    """Run one fuzzed spec through the four commands, in `folder` (beside a copy of its seed)."""
    spec = folder / "spec.yaml"
    spec.write_text(text, "utf-8", errors="surrogatepass")
    base = folder / "base.yaml"
    if not base.exists() or base.read_text("utf-8") != seed.read_text("utf-8"):
        base.write_text(seed.read_text("utf-8"), "utf-8")
    result = validate_text(text, "spec.yaml", spec.resolve())  # with the disk checks, as the CLI
    outcome = Outcome(index, seed.name, result.ok)
    outcome.failures += _located(text, result.diagnostics)
    commands: dict[str, list[str]] = {
        "validate": ["validate", str(spec)],
        "plan": ["plan", str(spec)],
        "graph": ["graph", str(spec)],
        "diff": ["diff", str(base), str(spec)],
    }
    for name, args in commands.items():
        code, output, cpu, wall = _run(args)
        outcome.cpu[name], outcome.wall[name] = cpu, wall
        if code is None or "Traceback" in output:
            outcome.failures.append(f"{name}: exception\n{output[-3000:]}")
        elif code not in (0, 2):
            outcome.failures.append(f"{name}: exit {code}\n{output[-1500:]}")
        elif code != (0 if result.ok else 2):
            outcome.failures.append(f"{name}: exit {code} for a spec validate found ok={result.ok}")
        if cpu > limit:
            outcome.failures.append(f"{name}: {cpu:.2f} s of CPU (limit {limit} s)")
    return outcome


def fuzz(
    count: int,
    folder: Path,
    seed: int = 0,
    limit: float = LIMIT_S,
    progress: Callable[[Outcome], None] | None = None,
    part: tuple[int, int] = (0, 1),
) -> list[Outcome]:
    """Check `count` fuzzed specs; with `part` (i, n), only those whose index is i modulo n."""
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for i, (seed_path, text) in enumerate(fuzzed_specs(count, seed)):
        if i % part[1] != part[0]:
            continue
        outcome = check_spec(i, seed_path, text, folder, limit)
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return outcomes
