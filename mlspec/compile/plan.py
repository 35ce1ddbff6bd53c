"""The Plan: a DAG of Steps, with the queries the CLI and the runner need.

The hot paths (`plan`, `diff`, `graph`, every `run`) need only a topological order and
ancestors/descendants, which plain adjacency maps give at no import cost; importing networkx
takes 0.2-0.3 s, half of `diff`'s budget. `Plan.graph` builds the networkx DiGraph on first
use, for analysis and for anyone extending the planner with graph algorithms.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mlspec.compile.node import Step

if TYPE_CHECKING:
    import networkx as nx


class PlanError(Exception):
    """A plan that cannot be built: a cycle, an input that names no step, a bad selection."""


class Plan:
    def __init__(
        self, steps: dict[str, Step], children: dict[str, set[str]], order: list[str]
    ) -> None:
        self._steps = steps
        self._children = children
        self._order = order

    @classmethod
    def from_steps(cls, steps: Iterable[Step]) -> Plan:
        by_id: dict[str, Step] = {}
        for step in steps:
            if step.id in by_id:
                raise PlanError(f"two steps have the id '{step.id}'")
            by_id[step.id] = step
        children: dict[str, set[str]] = {sid: set() for sid in by_id}
        for step in by_id.values():
            for name, upstream in step.inputs.items():
                if upstream not in by_id:
                    raise PlanError(
                        f"step '{step.id}' reads input '{'/'.join(name)}' from '{upstream}', which is not a step"
                    )
                children[upstream].add(step.id)
        return cls(by_id, children, _lexicographic_order(by_id, children))

    def __contains__(self, step_id: object) -> bool:
        return step_id in self._steps

    def __len__(self) -> int:
        return len(self._steps)

    def step(self, step_id: str) -> Step:
        return self._steps[step_id]

    def order(self) -> list[str]:
        """Topological order; ties broken by id so the order is stable run after run."""
        return list(self._order)

    def steps(self) -> Iterator[Step]:
        for step_id in self._order:
            yield self._steps[step_id]

    def edges(self) -> list[tuple[str, str]]:
        """(upstream, downstream) pairs, sorted."""
        return sorted((up, down) for up, downs in self._children.items() for down in downs)

    def upstream(self, step_id: str) -> set[str]:
        return _reach(step_id, lambda s: self._steps[s].inputs.values())

    def downstream(self, step_id: str) -> set[str]:
        return _reach(step_id, lambda s: self._children[s])

    def parents(self, step_id: str) -> list[str]:
        return sorted(set(self._steps[step_id].inputs.values()))

    @cached_property
    def graph(self) -> nx.DiGraph:
        """The plan as a networkx DiGraph (nodes carry `step`, edges the input key as `name`)."""
        import networkx as nx

        graph = nx.DiGraph()
        for sid in self._order:
            graph.add_node(sid, step=self._steps[sid])
        for step in self._steps.values():
            for name, upstream in step.inputs.items():
                graph.add_edge(upstream, step.id, name="/".join(name))
        return graph

    def select(self, patterns: Iterable[str]) -> set[str]:
        """dbt-style selection: `id`, `id+` (and descendants), `+id` (and ancestors).

        An id may also be a prefix group: `train` selects every `train.*` step.
        """
        chosen: set[str] = set()
        for raw in patterns:
            for pattern in raw.split(","):
                pattern = pattern.strip()
                if not pattern:
                    continue
                up, down = pattern.startswith("+"), pattern.endswith("+")
                name = pattern.strip("+")
                matches = [s for s in self._order if s == name or s.startswith(name + ".")]
                if not matches:
                    from mlspec.lang.suggest import did_you_mean

                    hint = did_you_mean(name, self._order, fallback_list=False)
                    raise PlanError(f"no step matches '{name}'" + (f" ({hint})" if hint else ""))
                for m in matches:
                    chosen.add(m)
                    if up:
                        chosen |= self.upstream(m)
                    if down:
                        chosen |= self.downstream(m)
        return chosen


def _reach(start: str, neighbours: Any) -> set[str]:
    """Every node reachable from `start` (not itself) through `neighbours`."""
    seen: set[str] = set()
    todo = list(neighbours(start))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(neighbours(node))
    return seen


def _lexicographic_order(steps: dict[str, Step], children: dict[str, set[str]]) -> list[str]:
    """Kahn's algorithm with a heap: among ready steps the smallest id goes first. A cycle
    leaves steps that never become ready; name one cycle among them."""
    indegree = {sid: len(set(step.inputs.values())) for sid, step in steps.items()}
    ready = [sid for sid, n in indegree.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        sid = heapq.heappop(ready)
        order.append(sid)
        for child in children[sid]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, child)
    if len(order) < len(steps):
        raise PlanError(
            f"the steps form a cycle: {' -> '.join(_a_cycle(steps, set(steps) - set(order)))}"
        )
    return order


def _a_cycle(steps: dict[str, Step], stuck: set[str]) -> list[str]:
    """Walk upstream inside the stuck steps until a step repeats: that loop is a cycle."""
    path: list[str] = []
    node = min(stuck)
    while node not in path:
        path.append(node)
        node = min(u for u in steps[node].inputs.values() if u in stuck)
    loop = path[path.index(node) :]
    return [*reversed(loop), loop[-1]]
