"""The user's mistake that stops a monitoring run (bad file, nothing promoted): exit 2."""

from __future__ import annotations


class MonitorError(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
