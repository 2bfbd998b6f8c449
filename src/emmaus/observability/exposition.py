"""The metrics text a scrape gets: this process' registry, or, in multiprocess mode, the sum
over every worker's files. `serve_apart` answers scrapes on an address of its own (from the
`emmaus serve` supervisor, which sees every worker's files), so `/metrics` need not be
reachable where the API is."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from emmaus.observability import multiprocess

CONTENT_TYPE = CONTENT_TYPE_LATEST
log = logging.getLogger(__name__)


class _Workers:
    """Every worker's files, minus the live gauges of workers that died."""

    def collect(self):  # type: ignore[no-untyped-def]
        from prometheus_client.multiprocess import MultiProcessCollector

        multiprocess.prune_dead()
        return MultiProcessCollector(None).collect()


def _registry() -> CollectorRegistry:
    if multiprocess.directory() is None:
        return REGISTRY
    registry = CollectorRegistry()
    registry.register(_Workers())  # type: ignore[arg-type]
    return registry


def render() -> bytes:
    return generate_latest(_registry())


def serve_apart(listen: str) -> None:
    """Serve `/metrics` on `host:port` from a daemon thread of this process."""
    from prometheus_client import start_http_server

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"EMMAUS_METRICS_LISTEN must be host:port, not {listen!r}")
    start_http_server(int(port), addr=host.strip("[]"), registry=_registry())
    log.info("metrics on http://%s/metrics", listen)
