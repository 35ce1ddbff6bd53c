"""The Step: one node of a Plan. Imports nothing from mlspec, so every layer can use it.

A step is a pure function of its inputs. Its id is stable and dotted (`load.posts`,
`train.quality.gbt`) so that plans, run records and diffs of two specs line up by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

InputKey = tuple[str, ...]


@dataclass(frozen=True)
class Step:
    """What to run (kind + params), on what (inputs), and where its params came from.

    - `params`: the kind's params object (`mlspec/steps/params.py`): everything the step
      function receives; its identity fields are the fingerprint's params.
    - `inputs`: structured key (``("eval", "quality", "gbt")``) -> upstream step id.
    - `columns`: for an input whose upstream has per-column identity (the features table),
      the columns this step reads; its fingerprint depends on those columns only.
    - `sources`: params field path (``seed``, ``objective.features``) -> the spec path it came
      from (``execution.seed``): how `plan` says why a step reruns in the spec's own terms.
    - `files`: data files the step reads, relative to the spec's folder; their content
      hashes are part of the fingerprint.
    - `resources`: what the step needs where it runs (num_cpus, memory_gb): a scheduling
      hint for Ray or a batch queue, not part of the step's identity.
    - `priority`: which of several ready steps the runner starts first (higher first, then
      plan order): the baseline's steps are cheap and yield to the models'. A hint, not
      part of the step's identity.
    """

    id: str
    kind: str
    params: Any
    inputs: dict[InputKey, str] = field(default_factory=dict)
    columns: dict[InputKey, tuple[str, ...]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    resources: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    priority: int = 0

    @property
    def group(self) -> str:
        """The first part of the id (`train` for `train.quality.gbt`), for grouping in graphs."""
        return self.id.split(".", 1)[0]

    def upstream(self) -> list[str]:
        """The ids of the steps this one reads, sorted, each once."""
        return sorted(set(self.inputs.values()))
