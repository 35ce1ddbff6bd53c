"""Draw the plan's DAG as Mermaid (renders in GitHub Markdown) or Graphviz DOT.
Nodes are coloured by what a run would do (run / cached) unless --no-status."""

from __future__ import annotations

import argparse

from mlspec.commands._common import add_spec_argument, load_spec_or_exit


def configure(p: argparse.ArgumentParser) -> None:
    add_spec_argument(p)
    p.add_argument(
        "--format",
        choices=["mermaid", "dot"],
        default="mermaid",
        help="output format (default: mermaid)",
    )
    p.add_argument(
        "--no-status", action="store_true", help="do not look at the store; draw the bare graph"
    )


def run(args: argparse.Namespace) -> int:
    from mlspec.compile.render import RENDERERS

    spec = load_spec_or_exit(args.spec)
    if args.no_status:
        from mlspec.compile.planner import compile_plan

        plan, actions = compile_plan(spec), None
    else:
        from mlspec.engine.assess import assess, store_root

        a = assess(spec, store_root(spec, args.store))
        plan, actions = a.plan, {s: st.action for s, st in a.statuses.items()}
    print(RENDERERS[args.format](plan, actions), end="")
    return 0
