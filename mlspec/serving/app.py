"""The scoring service as a plain ASGI application (served by uvicorn; Ray Serve can mount it).

Routes: ``GET /v2/health/live``, ``GET /v2/health/ready``, ``GET /v2/models/{name}`` (the
input signature), ``GET /v2/models/{name}/ready``, ``POST /v2/models/{name}/infer`` (KServe V2), ``POST /invocations``
(MLflow), ``GET /metrics`` (Prometheus). A client's mistake is a 4xx whose JSON body
``{"error": message, "field": name, "kind": kind}`` names the field; only a bug is a 500.

The served scorer lives in a `Served` holder; a `RegistryWatcher` thread swaps it when the
registry's production version changes (promote, rollback), so requests never wait on a
reload and never see half a model. Scoring runs on the event loop's thread: one row takes
well under a millisecond on the fast path, less than a thread hand-off would cost.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mlspec.scoring.scorer import InputError, Scorer
from mlspec.serving import protocols as P
from mlspec.serving.metrics import Metrics

MAX_BODY = 1 << 20  # bytes
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


class Served:
    """The scorer being served, swapped whole (one attribute write) on a reload."""

    def __init__(self, scorer: Scorer, allow_weights: bool) -> None:
        self.scorer = scorer
        self.allow_weights = allow_weights


class RegistryWatcher(threading.Thread):
    """Polls the registry's production version of `name`; loads and swaps on a change."""

    def __init__(
        self, served: Served, store: Path, name: str, metrics: Metrics, interval: float = 0.5
    ) -> None:
        super().__init__(daemon=True, name="mlspec-registry-watcher")
        self.served, self.store, self.name = served, store, name
        self.metrics, self.interval = metrics, interval
        self.stop = threading.Event()
        self.last_error: str | None = None

    def run(self) -> None:
        from mlspec.registry import ModelRegistry
        from mlspec.scoring.locate import production
        from mlspec.scoring.scorer import load_bundle

        registry = ModelRegistry(self.store)
        while not self.stop.wait(self.interval):
            try:
                v = registry.production(self.name)
                if v is None or str(v.version) == self.served.scorer.version:
                    continue
                found = production(self.name, self.store)
                self.served.scorer = load_bundle(
                    found.folder, expected_sha=found.expected_sha, version=found.label
                )
                self.metrics.reloads += 1
                self.last_error = None
            except Exception as exc:  # keep serving the loaded version; say why in /metrics
                self.last_error = str(exc)


class InferenceApp:
    """ASGI 3 application."""

    def __init__(self, served: Served, metrics: Metrics | None = None, max_body: int = MAX_BODY):
        self.served = served
        self.metrics = metrics or Metrics()
        self.max_body = max_body
        self.log: Any = None  # a requestlog.RequestLog when requests are logged for monitoring

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            if self.log is not None:  # a clean shutdown writes every buffered row
                self.log.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        start = time.perf_counter()
        route, code, kind = "other", 500, None
        try:
            route, code, body, ctype = await self._handle(scope, receive)
        except InputError as exc:
            code, kind = _status(exc.kind), exc.kind
            body = json.dumps({"error": exc.message, "field": exc.field, "kind": exc.kind})
            ctype = "application/json"
        except Exception as exc:  # a bug: say so, keep serving
            kind = "internal"
            body = json.dumps({"error": f"internal error: {type(exc).__name__}", "kind": kind})
            ctype = "application/json"
        data = body.encode()
        await send(
            {
                "type": "http.response.start",
                "status": code,
                "headers": [
                    (b"content-type", ctype.encode()),
                    (b"content-length", str(len(data)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})
        self.metrics.observe(route, code, time.perf_counter() - start, kind)

    async def _handle(self, scope: dict[str, Any], receive: Receive) -> tuple[str, int, str, str]:
        method, path = scope["method"], scope["path"]
        root = scope.get("root_path") or ""
        if root and path.startswith(root):  # mounted under a prefix (Ray Serve route_prefix)
            path = path[len(root) :] or "/"
        scorer = self.served.scorer
        parts = [p for p in path.split("/") if p]
        if method == "GET":
            if path in ("/v2/health/live", "/v2/health/ready"):
                return "health", 200, json.dumps({"live": True, "ready": True}), "application/json"
            if path == "/metrics":
                text = self.metrics.render(scorer.name, scorer.version)
                return "metrics", 200, text, "text/plain; version=0.0.4"
            if path == "/v2":
                return (
                    "metadata",
                    200,
                    json.dumps({"name": "mlspec", "extensions": []}),
                    "application/json",
                )
            if len(parts) in (4, 6) and parts[:2] == ["v2", "models"] and parts[-1] == "ready":
                self._model(parts[2], parts[4] if len(parts) == 6 else None, parts, 4)
                return "health", 200, json.dumps({"ready": True}), "application/json"
            if len(parts) in (3, 5) and parts[:2] == ["v2", "models"]:
                self._model(parts[2], parts[4] if len(parts) == 5 else None, parts, 3)
                return "metadata", 200, json.dumps(self._metadata(scorer)), "application/json"
        if method == "POST":
            if len(parts) in (4, 6) and parts[:2] == ["v2", "models"] and parts[-1] == "infer":
                self._model(parts[2], parts[4] if len(parts) == 6 else None, parts, 4)
                body = await self._json(scope, receive, require_type=False)
                return "infer", 200, json.dumps(self._v2(scorer, body)), "application/json"
            if path == "/invocations":
                body = await self._json(scope, receive)
                return (
                    "invocations",
                    200,
                    json.dumps(self._mlflow(scorer, body)),
                    "application/json",
                )
        known = path in ("/v2/health/live", "/v2/health/ready", "/metrics", "/invocations")
        raise InputError(
            f"{method} {path} is not a route of this server"
            + ("" if not known else f" for method {method}"),
            None,
            "method_not_allowed" if known else "not_found",
        )

    def _model(self, name: str, version: str | None, parts: list[str], n: int) -> None:
        scorer = self.served.scorer
        if name != scorer.name:
            raise InputError(
                f"model '{name}' is not served here; this server serves '{scorer.name}'",
                "model_name",
                "not_found",
            )
        if version is not None and (parts[3] != "versions" or version != scorer.version):
            raise InputError(
                f"model '{name}' version {version} is not served; version {scorer.version} is",
                "model_version",
                "not_found",
            )

    def _metadata(self, scorer: Scorer) -> dict[str, Any]:
        return {
            "name": scorer.name,
            "versions": [scorer.version],
            "platform": "mlspec",
            "inputs": [
                {"name": c["name"], "datatype": P.V2_TYPES[c["type"]][0], "shape": [-1]}
                | {"parameters": {"type": c["type"]}}
                for c in scorer.signature()
            ],
            "outputs": [
                {"name": c, "datatype": "FP64", "shape": [-1]} for c in scorer.output_columns()
            ],
            "parameters": {
                "weights": scorer.weights,
                "request_weights": self.served.allow_weights,
            },
        }

    async def _json(
        self, scope: dict[str, Any], receive: Receive, require_type: bool = True
    ) -> Any:
        """The JSON body. V2 clients (tritonclient) send no content type: for V2 only a
        missing one is taken as JSON; a different one is refused everywhere."""
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype != b"application/json" and (require_type or ctype):
            raise InputError(
                f"content-type must be application/json. Got {ctype.decode(errors='replace') or 'none'!r} instead.",
                "content-type",
                "content_type",
            )
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise InputError(
                f"the body must be at most {self.max_body} bytes. Got {int(declared)} instead.",
                "body",
                "too_large",
            )
        chunks, size = [], 0
        while True:
            msg = await receive()
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise InputError(
                    f"the body must be at most {self.max_body} bytes.", "body", "too_large"
                )
            chunks.append(chunk)
            if not msg.get("more_body"):
                break
        try:
            return json.loads(b"".join(chunks), parse_constant=_no_constant)
        except InputError:
            raise
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"the body is not valid JSON: {exc}", "body", "malformed") from None

    def _weights(self, scorer: Scorer, body: Any) -> dict[str, float]:
        params = body.get("parameters") if isinstance(body, dict) else None
        if not isinstance(params, dict) or "weights" not in params:
            return scorer.weights
        if not self.served.allow_weights:
            raise InputError(
                "per-request weights are off for this model; set deployment.request_weights: true in the spec",
                "parameters.weights",
                "weights_not_allowed",
            )
        return scorer.check_weights(params["weights"])

    def _score(
        self, scorer: Scorer, columns: dict[str, list[Any]], weights: dict[str, float]
    ) -> dict[str, list[float]]:
        out = scorer.score_columns(columns, weights=weights, strict=True)  # one row: no frame
        if self.log is not None:
            self.log.record(scorer, columns, out)
        return out

    def _v2(self, scorer: Scorer, body: Any) -> dict[str, Any]:
        weights = self._weights(scorer, body)
        scored = self._score(scorer, P.v2_columns(body, scorer.signature()), weights)
        rid = body.get("id") if isinstance(body, dict) else None
        return P.v2_answer(scorer.name, scorer.version, scored, weights, rid)

    def _mlflow(self, scorer: Scorer, body: Any) -> dict[str, Any]:
        weights = self._weights(scorer, body)
        columns = P.mlflow_columns(body, scorer.signature())
        P.records_missing(columns)
        return P.mlflow_answer(self._score(scorer, columns, weights))


def _no_constant(name: str) -> Any:
    raise InputError(
        f"the body holds {name}, which is not JSON; numbers must be finite", "body", "not_finite"
    )


_STATUS = {
    "not_found": 404,
    "method_not_allowed": 405,
    "content_type": 415,
    "too_large": 413,
}


def _status(kind: str) -> int:
    return _STATUS.get(kind, 400)


def build_app(
    target: str, store: str | None, max_body: int = MAX_BODY
) -> tuple[InferenceApp, RegistryWatcher | None, dict[str, Any]]:
    """The app for a spec or bundle folder, the registry watcher to start (a spec, or a
    folder given with its store), and the bundle's ``deployment.rest`` options. Raises
    BundleError when there is nothing (valid) to serve."""
    from mlspec.scoring.locate import locate
    from mlspec.scoring.scorer import load_bundle

    found = locate(target, store)
    scorer = load_bundle(found.folder, expected_sha=found.expected_sha, version=found.label)
    deployment = scorer.bundle.get("deployment") or {}
    served = Served(scorer, bool(deployment.get("request_weights", False)))
    metrics = Metrics()
    watcher = None
    if found.store is not None and found.name is not None:
        watcher = RegistryWatcher(served, found.store, found.name, metrics)
    return InferenceApp(served, metrics, max_body), watcher, deployment.get("rest") or {}


def from_env() -> InferenceApp:
    """The app of one uvicorn worker process (``rest.workers`` > 1): each worker loads and
    verifies the bundle and watches the registry itself; set by `mlspec serve`."""
    import os

    app, watcher, _ = build_app(
        os.environ["MLSPEC_SERVE_TARGET"],
        os.environ.get("MLSPEC_SERVE_STORE") or None,
        int(os.environ.get("MLSPEC_SERVE_MAX_BODY", MAX_BODY)),
    )
    if watcher is not None:
        watcher.start()
    from mlspec.serving import requestlog

    app.log = requestlog.from_env()
    return app
