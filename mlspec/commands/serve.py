"""Serve a bundle over HTTP: KServe V2 (Open Inference Protocol), MLflow's /invocations, /metrics.

  mlspec serve SPEC_OR_BUNDLE [--host 127.0.0.1] [--port 8080] [--store DIR] [--target T]

Given a spec, serves its production version from its store and follows the registry: a
`mlspec models promote` or `rollback` is served within seconds, without a restart. Host
and port default to deployment.rest (127.0.0.1:8080). Per-request combine weights (V2
`parameters.weights`) are answered when the spec sets deployment.request_weights: true.
With deployment.target ray_serve (or --target ray_serve) the same app runs as a Ray Serve
deployment (deployment.ray_serve: num_replicas, num_cpus, route_prefix) on a local Ray.
Exit status: 2 when there is nothing to serve (no production version, a bad spec), 1 for
a bundle that fails verification."""

from __future__ import annotations

import argparse
import sys

from mlspec.commands._common import fail


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("target_path", metavar="SPEC_OR_BUNDLE", help="a spec file or a bundle folder")
    p.add_argument("--host", help="interface (default: deployment.rest.host or 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default: deployment.rest.port or 8080)")
    p.add_argument("--store", metavar="DIR", help="artifact store (default: the spec's)")
    p.add_argument(
        "--workers", type=int, help="worker processes (default: deployment.rest.workers or 1)"
    )
    p.add_argument(
        "--target",
        choices=("rest", "ray_serve"),
        help="serve with uvicorn (rest) or on Ray Serve (default: deployment.target, else rest)",
    )
    p.add_argument(
        "--max-body", type=int, default=1 << 20, metavar="BYTES", help="largest request body"
    )


def run(args: argparse.Namespace) -> int:
    from mlspec.scoring.bundle import BundleError
    from mlspec.serving.app import build_app

    try:
        app, watcher, rest = build_app(args.target_path, args.store, args.max_body)
    except BundleError as exc:
        return fail(exc.message, exc.hint, code=exc.exit_code)
    host = args.host or rest.get("host", "127.0.0.1")
    port = args.port if args.port is not None else rest.get("port", 8080)
    scorer = app.served.scorer
    deployment = scorer.bundle.get("deployment") or {}
    if (args.target or deployment.get("target")) == "ray_serve":
        from pathlib import Path

        from mlspec.serving import ray_serve

        store = None if args.store is None else str(Path(args.store).resolve())
        print(
            f"serving {scorer.name} version {scorer.version} on Ray Serve at http://{host}:{port}",
            file=sys.stderr,
            flush=True,
        )
        ray_serve.run(
            str(Path(args.target_path).resolve()),
            store,
            deployment.get("ray_serve") or {},
            host,
            port,
        )
        return 0
    import uvicorn

    workers = int(args.workers or rest.get("workers", 1))
    print(
        f"serving {scorer.name} version {scorer.version} on http://{host}:{port}"
        + (f" ({workers} worker processes)" if workers > 1 else ""),
        file=sys.stderr,
        flush=True,
    )
    options = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "http": "httptools",
        "loop": "uvloop",
        "lifespan": "off",
    }
    if workers > 1:  # each worker process builds its own app (uvicorn needs an import path)
        import os
        from pathlib import Path

        os.environ["MLSPEC_SERVE_TARGET"] = str(Path(args.target_path).resolve())
        os.environ["MLSPEC_SERVE_STORE"] = (
            "" if args.store is None else str(Path(args.store).resolve())
        )
        os.environ["MLSPEC_SERVE_MAX_BODY"] = str(args.max_body)
        uvicorn.run("mlspec.serving.app:from_env", factory=True, workers=workers, **options)
        return 0
    if watcher is not None:
        watcher.start()
    uvicorn.run(app, **options)
    return 0
