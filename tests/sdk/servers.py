"""Live servers for the SDK tests: Emmaus on uvicorn (loopback) in front of the scripted
upstream, and a fault proxy that answers 429 or 503 on cue, before or after passing a request
on to Emmaus (after: Emmaus did the work, the client sees a failure and retries)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from emmaus.api.app import create_app
from emmaus.config import Settings
from emmaus.testing import UpstreamHandle
from tests.support.auth import create_client
from tests.support.live_server import live_server

# Three echo tiers (a reply repeats the question, so order and pairing are checkable), a model
# that answers differently (shadow comparisons), one that always fails, and the embedded-free
# catalog starts in seconds.
CATALOG = """
[[models]]
id = "echo-fast"
family = "openai"
tier = 1
provider = "openai"
vendor = "openai"
base_url = "{base}"
upstream_model = "echo+tag-sdkfast"
context_window = 8192
max_output_tokens = 256
capabilities = ["streaming", "tools"]

[[models]]
id = "echo-mid"
family = "openai"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "echo+tag-sdkmid"
context_window = 8192
max_output_tokens = 256
capabilities = ["streaming", "tools"]

[[models]]
id = "echo-deep"
family = "anthropic"
tier = 3
provider = "openai"
base_url = "{base}"
upstream_model = "echo+tag-sdkdeep"
context_window = 8192
max_output_tokens = 256
capabilities = ["streaming", "tools"]

[[models]]
id = "fixed-words"
family = "open source"
tier = 2
priority = -10
provider = "openai"
base_url = "{base}"
upstream_model = "fixed+tag-sdkfixed"
context_window = 8192
capabilities = ["streaming"]

[[models]]
id = "slow-drip"
family = "open source"
tier = 3
priority = -20
provider = "openai"
base_url = "{base}"
upstream_model = "drip-100+tokens-200+tag-sdkdrip"
context_window = 8192
capabilities = ["streaming"]

[[models]]
id = "cut-off"
family = "open source"
tier = 3
priority = -20
provider = "openai"
base_url = "{base}"
upstream_model = "disconnect+tag-sdkcut"
context_window = 8192
capabilities = ["streaming"]

[[models]]
id = "always-broken"
family = "open source"
tier = 2
priority = -20
provider = "openai"
base_url = "{base}"
upstream_model = "fail-500+tag-sdkbroken"
context_window = 8192
capabilities = ["streaming"]
"""


@dataclass(frozen=True, slots=True)
class Server:
    base_url: str
    settings: Settings
    client_id: str
    client_secret: str

    def new_client(self) -> tuple[str, str]:
        return create_client(self.settings)


def sdk_settings(data_dir: Path, upstream: UpstreamHandle, **overrides: Any) -> Settings:
    catalog = data_dir / "models.toml"
    catalog.write_text(CATALOG.format(base=upstream.base_url))
    fields: dict[str, Any] = {
        "data_dir": data_dir,
        "models": catalog,
        "upstream_retries": 0,
        "upstream_timeout": 10,
        "token_endpoint_ip_rpm": 0,  # the tests ask for many tokens on purpose
        "token_endpoint_client_rpm": 0,
        "safety_stream_hold": 48,  # streams of a few dozen characters still come in pieces
    }
    return Settings(**{**fields, **overrides})


@contextmanager
def emmaus_server(settings: Settings) -> Iterator[Server]:
    with live_server(create_app(settings)) as url:
        client_id, secret = create_client(settings)
        yield Server(url, settings, client_id, secret)


@dataclass(slots=True)
class Fault:
    status: int
    after: bool = False  # pass the request on first (its work is done), then fail
    retry_after: str | None = None


@dataclass(slots=True)
class FaultProxy:
    """An ASGI app forwarding to `target`; `faults[path]` is consumed one per request."""

    target: str
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, key
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, path: str, *faults: Fault) -> None:
        with self.lock:
            self.faults[path] = list(faults)
            self.seen.clear()

    def sent(self, path: str) -> list[str | None]:
        """The Idempotency-Key of each request that reached the proxy for `path`."""
        return [key for _, seen, key in self.seen if seen == path]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k != b"host"}
        path = scope["path"]
        with self.lock:
            self.seen.append((scope["method"], path, headers.get("idempotency-key")))
            queue = self.faults.get(path) or []
            fault = queue.pop(0) if queue else None
        if fault is None or fault.after:
            query = scope.get("query_string", b"").decode()
            url = f"{self.target}{path}" + (f"?{query}" if query else "")
            async with httpx.AsyncClient(timeout=30) as client:
                upstream = await client.request(scope["method"], url, content=body, headers=headers)
            if fault is None:
                out = [
                    (k.encode(), v.encode())
                    for k, v in upstream.headers.items()
                    if k not in ("content-length", "transfer-encoding", "content-encoding")
                ]
                await self._respond(send, upstream.status_code, out, upstream.content)
                return
        assert fault is not None
        extra = [(b"retry-after", fault.retry_after.encode())] if fault.retry_after else []
        error = b'{"error": "injected", "code": "injected_fault"}'
        await self._respond(
            send, fault.status, [(b"content-type", b"application/json"), *extra], error
        )

    @staticmethod
    async def _respond(send: Any, status: int, headers: list[Any], body: bytes) -> None:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@contextmanager
def fault_proxy(target: str) -> Iterator[tuple[str, FaultProxy]]:
    proxy = FaultProxy(target)
    with live_server(proxy, lifespan="off") as url:
        yield url, proxy
