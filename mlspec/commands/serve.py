"""Serve a bundle over HTTP: KServe V2 (Open Inference Protocol), MLflow's /invocations, /metrics.

  mlspec serve SPEC_OR_BUNDLE [--host 127.0.0.1] [--port 8080] [--store DIR] [--target T]

Given a spec, serves its production version from its store and follows the registry: a
`mlspec models promote` or `rollback` is served within seconds, without a restart. Host
and port default to deployment.rest (127.0.0.1:8080). Per-request combine weights (V2
`parameters.weights`) are answered when the spec sets deployment.request_weights: true.
With deployment.target ray_serve (or --target ray_serve) the same app runs as a Ray Serve
deployment (deployment.ray_serve: num_replicas, num_cpus, route_prefix) on a local Ray.
Exit status: 2 when there is nothing to serve (no production version, a bad spec), 1 for
a bundle that fails verification.

With --log-requests DIR the server logs the rows it scores for monitoring (sampled with
--log-sample and --log-seed): Parquet files in DIR, written in the background every
--log-flush-seconds and on a clean shutdown, that `mlspec monitor SPEC --current DIR` reads.
REST target only."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

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
    log = p.add_argument_group("request logging for `mlspec monitor`")
    log.add_argument(
        "--log-requests", metavar="DIR", help="log the scored rows as Parquet files in DIR"
    )
    log.add_argument(
        "--log-sample",
        type=float,
        default=1.0,
        metavar="RATE",
        help="share of scored rows logged, in (0, 1] (default 1: every row)",
    )
    log.add_argument("--log-seed", type=int, default=0, metavar="N", help="sampler seed")
    log.add_argument(
        "--log-flush-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="write a log file at least every S seconds (default 30; also every 10,000 rows)",
    )


def _log_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The request log's options, or None; ValueError for a bad one."""
    if args.log_requests is None:
        return None
    if not 0 < args.log_sample <= 1:
        raise ValueError(f"--log-sample must be in (0, 1]. Got {args.log_sample} instead.")
    if not 0 < args.log_flush_seconds <= 86_400:
        raise ValueError(
            f"--log-flush-seconds must be in (0, 86400]. Got {args.log_flush_seconds} instead."
        )
    folder = Path(args.log_requests).resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"cannot log requests to {args.log_requests}: {exc.strerror or exc}"
        ) from None
    return {
        "folder": str(folder),
        "sample": args.log_sample,
        "seed": args.log_seed,
        "flush_seconds": args.log_flush_seconds,
    }


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
        from mlspec.serving import ray_serve

        if args.log_requests is not None:  # refused before its folder is made
            return fail(
                "--log-requests works with the rest target only",
                "serve with --target rest to log requests",
            )

        store = None if args.store is None else str(Path(args.store).resolve())
        options = deployment.get("ray_serve") or {}
        prefix = str(options.get("route_prefix") or "/").rstrip("/")
        print(
            f"serving {scorer.name} version {scorer.version} on Ray Serve at http://{host}:{port}{prefix}",
            file=sys.stderr,
            flush=True,
        )
        ray_serve.run(str(Path(args.target_path).resolve()), store, options, host, port)
        return 0
    try:
        log_options = _log_options(args)
    except ValueError as exc:
        return fail(str(exc), "see `mlspec serve --help`")
    import uvicorn

    workers = int(args.workers or rest.get("workers", 1))
    print(
        f"serving {scorer.name} version {scorer.version} on http://{host}:{port}"
        + (f" ({workers} worker processes)" if workers > 1 else ""),
        file=sys.stderr,
        flush=True,
    )
    if log_options is not None:
        print(f"logging scored rows to {log_options['folder']}", file=sys.stderr, flush=True)
    options = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "http": "httptools",
        "loop": "uvloop",
        "lifespan": "off" if log_options is None else "on",  # on: flush the log at shutdown
    }
    if workers > 1:  # each worker process builds its own app (uvicorn needs an import path)
        import os

        from mlspec.serving import requestlog

        if log_options is not None:
            os.environ[requestlog.ENV] = json.dumps(log_options)
        os.environ["MLSPEC_SERVE_TARGET"] = str(Path(args.target_path).resolve())
        os.environ["MLSPEC_SERVE_STORE"] = (
            "" if args.store is None else str(Path(args.store).resolve())
        )
        os.environ["MLSPEC_SERVE_MAX_BODY"] = str(args.max_body)
        uvicorn.run("mlspec.serving.app:from_env", factory=True, workers=workers, **options)
        return 0
    if watcher is not None:
        watcher.start()
    if log_options is not None:
        from mlspec.serving.requestlog import RequestLog

        app.log = RequestLog(**log_options)
    uvicorn.run(app, **options)
    return 0
