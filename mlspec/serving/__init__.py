"""The scoring service: ASGI app, request protocols, Prometheus metrics."""
