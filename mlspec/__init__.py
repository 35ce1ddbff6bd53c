"""mlspec: a compiler for machine-learning systems.

One YAML spec states the whole system; mlspec validates it, compiles it into a DAG of
steps and runs that DAG on a backend (local, Ray or Slurm batch).
"""

__version__ = "0.1.0"
