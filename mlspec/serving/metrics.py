"""Prometheus text exposition (format 0.0.4) of the server's counters, written by hand: a
handful of counters and one histogram do not need a client library.

- ``mlspec_requests_total{route, code}``
- ``mlspec_request_seconds`` (histogram, by route)
- ``mlspec_errors_total{kind}`` (missing_column, wrong_type, malformed, too_large, ...)
- ``mlspec_model_info{name, version}`` 1 for the version being served
- ``mlspec_model_reloads_total``
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.errors: dict[str, int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.sums: dict[str, float] = defaultdict(float)
        self.reloads = 0

    def observe(self, route: str, code: int, seconds: float, kind: str | None = None) -> None:
        with self._lock:
            self.requests[(route, code)] += 1
            self.buckets[route][bisect.bisect_left(BUCKETS, seconds)] += 1
            self.sums[route] += seconds
            if kind is not None:
                self.errors[kind] += 1

    def render(self, name: str, version: str) -> str:
        lines = [
            "# HELP mlspec_requests_total Requests answered, by route and status code.",
            "# TYPE mlspec_requests_total counter",
        ]
        with self._lock:
            for (route, code), n in sorted(self.requests.items()):
                lines.append(f'mlspec_requests_total{{route="{route}",code="{code}"}} {n}')
            lines += [
                "# HELP mlspec_request_seconds Time to answer a request.",
                "# TYPE mlspec_request_seconds histogram",
            ]
            for route, counts in sorted(self.buckets.items()):
                total = 0
                for le, c in zip([*map(str, BUCKETS), "+Inf"], counts, strict=True):
                    total += c
                    lines.append(
                        f'mlspec_request_seconds_bucket{{route="{route}",le="{le}"}} {total}'
                    )
                lines.append(f'mlspec_request_seconds_sum{{route="{route}"}} {self.sums[route]}')
                lines.append(f'mlspec_request_seconds_count{{route="{route}"}} {total}')
            lines += [
                "# HELP mlspec_errors_total Requests refused, by kind of error.",
                "# TYPE mlspec_errors_total counter",
            ]
            for kind, n in sorted(self.errors.items()):
                lines.append(f'mlspec_errors_total{{kind="{kind}"}} {n}')
            lines += [
                "# HELP mlspec_model_reloads_total Versions loaded after start (promote, rollback).",
                "# TYPE mlspec_model_reloads_total counter",
                f"mlspec_model_reloads_total {self.reloads}",
            ]
        lines += [
            "# HELP mlspec_model_info The model version being served.",
            "# TYPE mlspec_model_info gauge",
            f'mlspec_model_info{{name="{name}",version="{version}"}} 1',
        ]
        return "\n".join(lines) + "\n"
