"""The Step: one node of a Plan. Imports nothing from mlspec, so every layer can use it.

A step is a pure function of its inputs. Its id is stable and dotted (`load.posts`,
`train.quality.gbt`) so that plans, run records and diffs of two specs line up by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Step:
    """What to run (kind + params), on what (inputs), and which spec paths it reads.

    - `inputs`: local name -> upstream step id; the step reads those steps' artifacts.
    - `params`: JSON-able values passed to the step function; part of the fingerprint.
    - `reads`: spec path (e.g. ``features[2].expr``'s parent ``features``) -> the value it
      had; part of the fingerprint and the answer to "why will this step run?".
    - `files`: data files the step reads, relative to the spec's folder; their content
      hashes are part of the fingerprint.
    - `resources`: what the step needs where it runs (num_cpus, memory_gb).
    """

    id: str
    kind: str
    inputs: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    reads: dict[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    resources: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def group(self) -> str:
        """The first part of the id (`train` for `train.quality.gbt`), for grouping in graphs."""
        return self.id.split(".", 1)[0]
