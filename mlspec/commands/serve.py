"""Serve a bundle over HTTP: KServe V2 (Open Inference Protocol), MLflow's /invocations, /metrics.

  mlspec serve SPEC_OR_BUNDLE [--host 127.0.0.1] [--port 8080] [--store DIR]

Given a spec, serves its production version from its store and follows the registry: a
`mlspec models promote` or `rollback` is served within a second, without a restart. Host
and port default to deployment.rest (127.0.0.1:8080). Per-request combine weights (V2
`parameters.weights`) are answered when the spec sets deployment.request_weights: true.
Exit status: 2 when there is nothing to serve (no production version, a bad spec), 1 for
a bundle that fails verification."""

from __future__ import annotations

import argparse
import sys

from mlspec.commands._common import EXIT_FAILED, fail


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="SPEC_OR_BUNDLE", help="a spec file or a bundle folder")
    p.add_argument("--host", help="interface (default: deployment.rest.host or 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default: deployment.rest.port or 8080)")
    p.add_argument("--store", metavar="DIR", help="artifact store (default: the spec's)")
    p.add_argument(
        "--max-body", type=int, default=1 << 20, metavar="BYTES", help="largest request body"
    )


def build(target: str, store: str | None, max_body: int = 1 << 20):  # type: ignore[no-untyped-def]
    """(app, watcher or None, rest options) for `target`; raises BundleError."""
    from mlspec.scoring.locate import locate
    from mlspec.scoring.scorer import load_bundle
    from mlspec.serving.app import InferenceApp, RegistryWatcher, Served
    from mlspec.serving.metrics import Metrics

    found = locate(target, store)
    scorer = load_bundle(found.folder, expected_sha=found.expected_sha, version=found.label)
    deployment = scorer.bundle.get("deployment") or {}
    served = Served(scorer, bool(deployment.get("request_weights", False)))
    metrics = Metrics()
    watcher = None
    if found.store is not None and found.name is not None:
        watcher = RegistryWatcher(served, found.store, found.name, metrics)
    return InferenceApp(served, metrics, max_body), watcher, deployment.get("rest") or {}


def run(args: argparse.Namespace) -> int:
    from mlspec.scoring.bundle import BundleError

    try:
        app, watcher, rest = build(args.target, args.store, args.max_body)
    except BundleError as exc:
        code = EXIT_FAILED if "match" in exc.message else 2
        return fail(exc.message, exc.hint, code=code)
    import uvicorn

    host = args.host or rest.get("host", "127.0.0.1")
    port = args.port if args.port is not None else rest.get("port", 8080)
    if watcher is not None:
        watcher.start()
    scorer = app.served.scorer
    print(
        f"serving {scorer.name} version {scorer.version} on http://{host}:{port}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
        lifespan="off",
    )
    return 0
