"""The artifact store (content-addressed step outputs) and the run records (SQLite).

Light to import: no polars or numpy until a frame is read or written, so `mlspec plan` can
look at the store cheaply.
"""

from mlspec.store.artifacts import (
    ArtifactCorrupt,
    ArtifactError,
    ArtifactMissing,
    ArtifactStore,
    Manifest,
    Reader,
    Writer,
)
from mlspec.store.hashing import file_digest, sha256_file
from mlspec.store.runs import AmbiguousRunId, RunRow, RunStore, RunStoreError, StepRow
from mlspec.store.versions import versions

__all__ = [
    "AmbiguousRunId",
    "ArtifactCorrupt",
    "ArtifactError",
    "ArtifactMissing",
    "ArtifactStore",
    "Manifest",
    "Reader",
    "RunRow",
    "RunStore",
    "RunStoreError",
    "StepRow",
    "Writer",
    "file_digest",
    "sha256_file",
    "versions",
]
