"""The joined table's column names, as the join step makes them, and where each comes from.

One definition serves the semantic checks (is a feature's column in the joined data?) and
the run-time messages that name the source a bad column was read from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def joined_columns(
    table: Sequence[str], right: Sequence[str], keys: Iterable[str], how: str | None, suffix: str
) -> list[str]:
    """The table's columns after a join: keys appear once, other right-hand columns whose
    names clash get the suffix; semi and anti joins add none."""
    if how in ("semi", "anti"):
        return list(table)
    keyset = set(keys)
    have = set(table)  # not `in table`: two sources of 50,000 columns each
    return [*table, *(c + suffix if c in have else c for c in right if c not in keyset)]


def column_origins(
    declared: Mapping[str, Sequence[str] | None],
    joins: Sequence[tuple[str, str, Sequence[str], str, str]],
) -> dict[str, tuple[str, str]]:
    """Joined column -> (source, the source's column), as far as the sources declare their
    columns. `joins` are (left, right, keys, how, suffix) in order; without joins the one
    source is the table. Tracking stops at the first source that declares no columns."""
    if not joins:
        if len(declared) != 1:
            return {}
        (name, cols), *_ = declared.items()
        return {c: (name, c) for c in cols or ()}
    first = joins[0][0]
    table = list(declared.get(first) or ())
    if not table:
        return {}
    origins = {c: (first, c) for c in table}
    for _left, right, keys, how, suffix in joins:
        cols = declared.get(right)
        if not cols:
            break
        after = joined_columns(table, cols, keys, how, suffix)
        if len(after) > len(table):
            added = [c for c in cols if c not in set(keys)]
            origins.update(
                {new: (right, old) for new, old in zip(after[len(table) :], added, strict=True)}
            )
        table = after
    return origins
