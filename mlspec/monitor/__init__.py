"""Monitoring: compare current data (and its scores) with the reference a run profiled.

`stats` (the drift statistics), `reference` (the bundle's profile), `current` (reading
current data and computing its features), `scoring` (the one place that scores),
`sampling` (the seeded row sampler, shared with the `profile` step), `monitors` (the
monitor types), `alerts` (channels and retrain), `html` (the report).
"""
