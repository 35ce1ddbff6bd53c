"""Draw a Plan: Mermaid (renders in GitHub Markdown) and Graphviz DOT."""

from __future__ import annotations

import re
from collections.abc import Mapping

from mlspec.compile.plan import Plan

_CLASSES = {
    "run": "fill:#fff3cd,stroke:#b58900",
    "cached": "fill:#e6f4ea,stroke:#2e7d32",
}


def _mermaid_id(step_id: str) -> str:
    return "s_" + re.sub(r"[^A-Za-z0-9_]", "_", step_id)


def to_mermaid(plan: Plan, actions: Mapping[str, str] | None = None) -> str:
    """A `flowchart LR`; with `actions` (step -> run/cached) nodes are coloured by action."""
    lines = ["flowchart LR"]
    for step in plan.steps():
        label = step.id.replace('"', "'")
        lines.append(f'    {_mermaid_id(step.id)}["{label}"]')
    for up, down in plan.edges():
        lines.append(f"    {_mermaid_id(up)} --> {_mermaid_id(down)}")
    if actions:
        for action, style in _CLASSES.items():
            lines.append(f"    classDef {action} {style}")
        for step_id, action in sorted(actions.items()):
            if action in _CLASSES:
                lines.append(f"    class {_mermaid_id(step_id)} {action}")
    return "\n".join(lines) + "\n"


def to_dot(plan: Plan, actions: Mapping[str, str] | None = None) -> str:
    colours = {"run": "#fff3cd", "cached": "#e6f4ea"}
    lines = [
        "digraph plan {",
        "    rankdir=LR;",
        '    node [shape=box, style="rounded,filled", fillcolor=white];',
    ]
    for step in plan.steps():
        fill = colours.get((actions or {}).get(step.id, ""), "white")
        lines.append(f'    "{step.id}" [fillcolor="{fill}", tooltip="{step.kind}"];')
    for up, down in plan.edges():
        lines.append(f'    "{up}" -> "{down}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


RENDERERS = {"mermaid": to_mermaid, "dot": to_dot}
