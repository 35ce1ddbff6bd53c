"""A loopback load generator, run as its own process: keep-alive HTTP/1.1 connections from
threads, a bounded number of requests and a time limit, a share of malformed requests.

  python bench/_loadgen.py PORT BODIES.json --requests N --seconds S --connections C

BODIES.json: {"path": "/invocations", "valid": [body, ...], "malformed": [[ctype, body], ...],
"malformed_share": 0.1, "expect": "predictions"}. Prints JSON: requests, seconds,
throughput, p50/p99 of valid requests (ms), valid answers that are not a 200 with a JSON
object holding `expect`, 5xx and 4xx answers to malformed requests, and the generator's own
CPU time per request (it shares the machine with the server).

A real HTTP client kept cheap: each request is a prebuilt byte string sent on a socket; the
answer's status line and headers are parsed, its body read to Content-Length and, for a
valid request, decoded as JSON and checked. (http.client cost ~0.2 ms of CPU a request,
a large share of a 2-core machine whose other core serves.)
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import threading
import time


class Connection:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = b""

    def _open(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buf = sock, b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, b""

    def _more(self, sock: socket.socket) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk

    def request(self, data: bytes) -> tuple[int, bytes]:
        sock = self.sock or self._open()
        sock.sendall(data)
        while b"\r\n\r\n" not in self.buf:
            self._more(sock)
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = None, False
        for line in lines[1:]:
            key, _, value = line.partition(b":")
            key = key.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"connection":
                close = value.strip().lower() == b"close"
            elif key == b"transfer-encoding":
                raise ValueError("chunked answers are not expected here")
        if length is None:
            raise ValueError("an answer without Content-Length")
        while len(self.buf) < length:
            self._more(sock)
        body, self.buf = self.buf[:length], self.buf[length:]
        if close:
            self.close()
        return status, body


def raw_request(port: int, path: str, ctype: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


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
    path, expect = spec["path"], spec.get("expect", "predictions")
    valid = [
        raw_request(a.port, path, "application/json", json.dumps(b).encode()) for b in spec["valid"]
    ]
    malformed = [raw_request(a.port, path, c, b.encode()) for c, b in spec["malformed"]]
    share = float(spec.get("malformed_share", 0.1))
    lock = threading.Lock()
    state = {"left": a.requests}
    lat: list[float] = []
    stats = {"valid_errors": 0, "malformed_5xx": 0, "malformed_4xx": 0, "malformed": 0}
    deadline = time.monotonic() + a.seconds

    def worker(k: int) -> None:
        rng = random.Random(a.seed * 1000 + k)
        con = Connection(a.port)
        while time.monotonic() < deadline:
            with lock:
                if state["left"] <= 0:
                    break
                state["left"] -= 1
            bad = rng.random() < share
            data = rng.choice(malformed) if bad else rng.choice(valid)
            t0 = time.perf_counter()
            try:
                code, body = con.request(data)
            except (OSError, ValueError):
                con.close()
                code, body = 599, b""
            dt = time.perf_counter() - t0
            ok = code == 200
            if ok and not bad:
                try:
                    answer = json.loads(body)
                    ok = isinstance(answer, dict) and expect in answer
                except ValueError:
                    ok = False
            with lock:
                if bad:
                    stats["malformed"] += 1
                    stats["malformed_5xx"] += code >= 500
                    stats["malformed_4xx"] += 400 <= code < 500
                else:
                    lat.append(dt)
                    stats["valid_errors"] += not ok
        con.close()

    cpu0, start = time.process_time(), time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
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
                "client_cpu_ms_per_request": round(cpu / max(n, 1) * 1e3, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
