"""The ray_serve target: the same ASGI app (`serving.app`) as a Ray Serve deployment.

Each replica builds its own app from the spec or bundle folder (so each verifies the bundle
before unpickling and watches the registry itself), and Ray Serve's proxy routes HTTP to
it: the V2, MLflow and /metrics routes are those of `mlspec serve`. Options come from
``deployment.ray_serve`` (num_replicas, num_cpus, route_prefix).
"""

from __future__ import annotations

from typing import Any


def deployment(target: str, store: str | None, options: dict[str, Any]):  # type: ignore[no-untyped-def]
    """A bound Ray Serve application serving `target`."""
    from ray import serve

    @serve.ingress()
    class MlspecScorer:
        def __init__(self, target: str, store: str | None) -> None:
            from mlspec.serving.app import build_app

            self._mlspec_app, watcher, _ = build_app(target, store)
            if watcher is not None:
                watcher.start()

        def __serve_build_asgi_app__(self):  # type: ignore[no-untyped-def]
            return self._mlspec_app

    dep = serve.deployment(
        MlspecScorer,
        name="mlspec",
        num_replicas=int(options.get("num_replicas", 1)),
        ray_actor_options={"num_cpus": float(options.get("num_cpus", 1))},
    )
    return dep.bind(target, store)


def run(target: str, store: str | None, options: dict[str, Any], host: str, port: int) -> None:
    """Start Ray Serve on host:port and serve `target` until interrupted (Ctrl-C or SIGTERM:
    both shut Ray Serve down, rather than leave Ray to print its stacks)."""
    import signal
    import time

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)

    import ray
    from ray import serve

    if not ray.is_initialized():
        ray.init(include_dashboard=False)
    serve.start(http_options={"host": host, "port": port})
    serve.run(
        deployment(target, store, options),
        name="mlspec",
        route_prefix=options.get("route_prefix", "/"),
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        serve.shutdown()
