"""Run one step from a task file, as a batch job does (internal: the batch backend writes the
task files). Same as `python -m mlspec.engine.step TASKFILE`. Exit status: 0 the step succeeded,
1 it failed, 2 the task file cannot be read."""

from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("taskfile", metavar="TASKFILE", help="a task file written by the batch backend")


def run(args: argparse.Namespace) -> int:
    from mlspec.engine.step import run_task_file

    return run_task_file(args.taskfile)
