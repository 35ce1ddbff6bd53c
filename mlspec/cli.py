"""The `mlspec` command line: a registry of subcommands, each in its own module.

Command modules are imported only when their command runs, so `mlspec validate` never pays
for the engine's imports. Exit codes: 0 ok, 1 run/gate/monitor failure, 2 invalid spec or usage.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from mlspec._version import __version__

# name -> (module under mlspec.commands, one-line help). Order is the order in --help.
COMMANDS: dict[str, tuple[str, str | None]] = {
    "validate": ("validate", "check specs and print every problem with its position"),
    "plan": ("plan", "show which steps a run would execute or reuse, and why"),
    "run": ("run", "run the plan on a backend; cached steps are reused"),
    "diff": ("diff", "compare two specs (or a spec with a git ref): changes, reruns, retrains"),
    "graph": ("graph", "draw the plan's DAG as Mermaid or DOT"),
    "runs": ("runs", "list recorded runs, show one, or compare two"),
    "report": ("report", "write or open the HTML evaluation report of a run"),
    "monitor": ("monitor", "run the spec's monitors on current data against the promoted version"),
    "models": ("models", "list, promote, roll back, export and verify packaged model versions"),
    "predict": ("predict", "score a CSV, Parquet or NDJSON file with the production version"),
    "serve": ("serve", "serve the production version over HTTP (KServe V2, MLflow, /metrics)"),
    "schema": ("schema", "print the JSON Schema of the spec language (for editors)"),
    "step": ("step", None),  # internal, not listed: one step from a task file (batch jobs)
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `command`, only that command's module is imported and configured
    (importing all nine cost 15-40 ms on every call; `--help` still lists them all)."""
    parser = argparse.ArgumentParser(
        prog="mlspec",
        description="A compiler for machine-learning systems: validate, plan and run one YAML spec.",
        epilog="Run 'mlspec COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"mlspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        listed = {} if help_text is None else {"help": help_text}  # no help: not in --help
        if command is not None and name != command:
            sub.add_parser(name, **listed)
            continue
        mod = importlib.import_module(f"mlspec.commands.{module}")
        p = sub.add_parser(name, **listed, description=(mod.__doc__ or help_text or "").strip())
        mod.configure(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The command is the first word that is not an option (the top level has no valued options).
    word = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(word if word in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args._run(args))
    except SystemExit as exc:  # commands exit with a code after printing their diagnostics
        return int(exc.code or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        from mlspec.commands._common import report_known

        if (code := report_known(exc)) is None:
            raise
        return code


def entry() -> None:
    """The `mlspec` executable: `main`, then leave without tearing the interpreter down.

    Python's finalization clears every loaded module one by one; after XGBoost and
    scikit-learn (which load scipy.stats: ~1250 modules) that takes 0.25-0.4 s, measured
    between a script's last statement and its process's end, against 0.01 s for `os._exit`.
    Nothing of ours needs it: every artifact is committed (fsynced) inside its step, the run
    records are autocommitted SQLite writes, step logs are closed after each step, backends
    are closed by their command, and the kernel releases file locks. So the output streams
    and logging are flushed and the process exits. `main` itself returns, for callers
    in-process (tests, embedding).
    """
    code = main()
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say there
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
