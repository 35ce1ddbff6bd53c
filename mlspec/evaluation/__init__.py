"""Evaluation: metrics with one definition everywhere (search, evaluate, combine, gate)."""
