"""The Plan: a networkx DiGraph of Steps, with the queries the CLI and the runner need."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import networkx as nx

from mlspec.compile.node import Step


class PlanError(Exception):
    """A plan that cannot be built: a cycle, an input that names no step, a bad selection."""


@dataclass
class Plan:
    graph: nx.DiGraph

    @classmethod
    def from_steps(cls, steps: Iterable[Step]) -> Plan:
        graph = nx.DiGraph()
        steps = list(steps)
        for step in steps:
            if step.id in graph:
                raise PlanError(f"two steps have the id '{step.id}'")
            graph.add_node(step.id, step=step)
        for step in steps:
            for name, upstream in step.inputs.items():
                if upstream not in graph:
                    raise PlanError(f"step '{step.id}' reads input '{name}' from '{upstream}', which is not a step")
                graph.add_edge(upstream, step.id, name=name)
        if not nx.is_directed_acyclic_graph(graph):
            cycle = " -> ".join(u for u, _v in nx.find_cycle(graph))
            raise PlanError(f"the steps form a cycle: {cycle}")
        return cls(graph)

    def __contains__(self, step_id: object) -> bool:
        return step_id in self.graph

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def step(self, step_id: str) -> Step:
        return self.graph.nodes[step_id]["step"]

    def order(self) -> list[str]:
        """Topological order; ties broken by id so the order is stable run after run."""
        return list(nx.lexicographical_topological_sort(self.graph))

    def steps(self) -> Iterator[Step]:
        for step_id in self.order():
            yield self.step(step_id)

    def upstream(self, step_id: str) -> set[str]:
        return set(nx.ancestors(self.graph, step_id))

    def downstream(self, step_id: str) -> set[str]:
        return set(nx.descendants(self.graph, step_id))

    def parents(self, step_id: str) -> list[str]:
        return sorted(self.graph.predecessors(step_id))

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
                matches = [s for s in self.graph if s == name or s.startswith(name + ".")]
                if not matches:
                    from mlspec.spec.suggest import did_you_mean

                    hint = did_you_mean(name, list(self.graph), fallback_list=False)
                    raise PlanError(f"no step matches '{name}'" + (f" ({hint})" if hint else ""))
                for m in matches:
                    chosen.add(m)
                    if up:
                        chosen |= self.upstream(m)
                    if down:
                        chosen |= self.downstream(m)
        return chosen
