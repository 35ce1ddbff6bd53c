"""What a fired monitor does: its `alert.channels`, and `alert.retrain`.

Channels (a registry keyed by the part before the first ':'):

- ``log``: one line on standard error, ``ALERT [severity] monitor (type): summary``.
- ``jsonl:PATH``: the alert as one JSON line appended to PATH (relative to the spec's
  folder); the file is opened, appended and closed per alert.
- ``webhook:URL``: the alert as a JSON body POSTed to URL (one attempt, `TIMEOUT` seconds);
  a failure is recorded in the result, it never stops the other channels.

The alert document is ``{"system", "version", "monitor", "type", "severity", "status",
"summary", "verdicts": [...], "at"}``.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMEOUT = 5.0


def _log(target: str, alert: dict[str, Any], root: Path) -> None:
    print(
        f"ALERT [{alert['severity']}] {alert['monitor']} ({alert['type']}): {alert['summary']}",
        file=sys.stderr,
    )


def _jsonl(target: str, alert: dict[str, Any], root: Path) -> None:
    path = root / target
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(alert, sort_keys=True, allow_nan=False) + "\n")


def _webhook(target: str, alert: dict[str, Any], root: Path) -> None:
    body = json.dumps(alert, sort_keys=True, allow_nan=False).encode("utf-8")
    request = urllib.request.Request(
        target, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"HTTP {response.status}")


CHANNELS: dict[str, Callable[[str, dict[str, Any], Path], None]] = {
    "log": _log,
    "jsonl": _jsonl,
    "webhook": _webhook,
}


def send(channels: list[str], alert: dict[str, Any], root: Path) -> list[dict[str, Any]]:
    """Deliver `alert` to every channel; one record per channel: {channel, ok, error}."""
    out = []
    for channel in channels:
        kind, _, target = channel.partition(":")
        try:
            CHANNELS[kind](target, alert, root)
            out.append({"channel": channel, "ok": True, "error": None})
        except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
            out.append({"channel": channel, "ok": False, "error": str(exc) or type(exc).__name__})
    return out
