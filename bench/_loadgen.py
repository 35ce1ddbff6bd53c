"""A loopback load generator, run as its own process: keep-alive connections from threads,
a bounded number of requests and a time limit, a share of malformed requests.

  python bench/_loadgen.py PORT BODIES.json --requests N --seconds S --connections C

BODIES.json: {"path": "/invocations", "valid": [body, ...], "malformed": [[ctype, body], ...],
"malformed_share": 0.1}. Prints JSON: requests, seconds, throughput, p50/p99 of valid
requests (ms), non-200 valid answers, 5xx answers to malformed ones, and 4xx answers to them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("bodies")
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    with open(a.bodies) as fh:
        spec = json.load(fh)
    path, valid = spec["path"], [json.dumps(b).encode() for b in spec["valid"]]
    malformed = [(c, b.encode()) for c, b in spec["malformed"]]
    share = float(spec.get("malformed_share", 0.1))
    lock = threading.Lock()
    state = {"left": a.requests}
    lat: list[float] = []
    stats = {"valid_errors": 0, "malformed_5xx": 0, "malformed_4xx": 0, "malformed": 0}
    deadline = time.monotonic() + a.seconds

    def worker(k: int) -> None:
        rng = random.Random(a.seed * 1000 + k)
        con = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                if state["left"] <= 0:
                    break
                state["left"] -= 1
            bad = rng.random() < share
            ctype, body = rng.choice(malformed) if bad else ("application/json", rng.choice(valid))
            t0 = time.perf_counter()
            try:
                con.request("POST", path, body=body, headers={"Content-Type": ctype})
                r = con.getresponse()
                r.read()
                code = r.status
            except (OSError, http.client.HTTPException):
                con.close()
                con = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
                code = 599
            dt = time.perf_counter() - t0
            with lock:
                if bad:
                    stats["malformed"] += 1
                    stats["malformed_5xx"] += code >= 500
                    stats["malformed_4xx"] += 400 <= code < 500
                else:
                    lat.append(dt)
                    stats["valid_errors"] += code != 200
        con.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    lat.sort()
    n = len(lat) + stats["malformed"]
    print(
        json.dumps(
            {
                "requests": n,
                "seconds": round(seconds, 3),
                "throughput": round(n / seconds, 1),
                "p50_ms": round(lat[len(lat) // 2] * 1e3, 3) if lat else None,
                "p99_ms": round(lat[int(len(lat) * 0.99)] * 1e3, 3) if lat else None,
                **stats,
            }
        )
    )


if __name__ == "__main__":
    main()
