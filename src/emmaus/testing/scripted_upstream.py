"""A scripted OpenAI-compatible upstream: a real HTTP server for tests and benchmarks.

A raw ASGI app (no framework) served by uvicorn with uvloop + httptools, so it is never the
bottleneck of a gateway benchmark. Endpoints:

- `POST /v1/chat/completions`: JSON, or SSE when `"stream": true`, in OpenAI's exact shape (role
  chunk, content deltas, a final chunk with `finish_reason`, a usage chunk with `"choices": []`
  when `stream_options.include_usage`, then `data: [DONE]`). With `tools` and a `tool_choice` of
  `"required"` or a named function it answers with a tool call whose arguments hold the schema's
  required keys (placeholders by type; `{}` when none are required).
- `GET /v1/models`: the script words below, as OpenAI model objects.
- `GET /_stats`: `{"requests": {model: n}, "cancelled": {model: n}, "completed": {model: n},
  "total_requests", "total_cancelled", "in_flight", "max_in_flight", "connections"}`
  (`connections`: distinct client connections that sent a chat request). A request counts as
  cancelled when the client went away while the server was waiting (`slow-`, `drip-`, `hang`).
- `GET /_last?model=M`: the last request body (and `authorization` header) received for model M.
- `POST /_reset`: clears counters, flaky counters and recorded requests.

The behaviour is chosen per request by the `model` name: words joined by `+`, in any order
(e.g. `slow-200+drip-10+tokens-50`). Unknown words are ignored, so `gpt-4o` answers like `fixed`.

| word | effect |
|---|---|
| `fixed` | (default) answers `tokens` tokens of the vocabulary, each `size` characters long |
| `echo` | answers with the last user message, streamed in pieces of `size` characters |
| `recite` | answers with the last line of the last system message (a scripted answer) |
| `tokens-<n>`, `size-<n>` | tokens per answer / characters per token (server defaults: CLI) |
| `slow-<ms>` | waits before the response starts (latency to the first byte) |
| `drip-<ms>` | waits between stream chunks |
| `fail-<status>` | always answers that HTTP status with an OpenAI error body |
| `flaky-<n>` | the first n calls fail (status from `fail-<s>`, else 500), then succeed (*) |
| `retryafter-<s>` | the `Retry-After` value of failures (default `1` on 429 and 503, else none) |
| `hang` | never answers; waits for the client to give up (counted as cancelled) |
| `disconnect` | drops the connection mid-body (after two content chunks when streaming) |
| `malformed` | a chunk that is not JSON (stream), or a truncated JSON body |
| `no-finish` | the stream ends without a finish_reason, usage or `[DONE]` |
| `no-usage` | no usage chunk even when asked for (non-stream: no `usage` key) |
| `no-done` | the stream ends after the usage chunk without `data: [DONE]` |
| `ping` | sends SSE comment lines (`: ping`) between events |
| `tools` | calls a tool under `tool_choice` `"auto"` too (not under `"none"`) |
| `calls-<n>` | n tool calls in one answer (cycling through the tools) |
| `no-sse` | answers JSON even when asked to stream (as servers without streaming do) |
| `no-stream-options` | 400 when `stream_options` is sent (as some older servers do) |
| `tag-<x>` | ignored: makes a model name unique, for per-test counters |

(*) counted per `x-script-key` request header, else per model name.
`max_tokens` (or `max_completion_tokens`) cuts the answer and gives `finish_reason: "length"`.

Run it for benchmarks: `python -m emmaus.testing.scripted_upstream --port 9100`. In tests use
`emmaus.testing.serve_upstream()` (a thread) or `serve_upstream_process()` (a subprocess).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

import orjson

from emmaus.testing import openai_shapes as shapes
from emmaus.testing.scripts import FLAGS, VALUED, Script, parse_script

Scope = dict[str, Any]
Receive = Any
Send = Any

HANG_LIMIT = 600.0  # a `hang` request gives up after this long, so a server can always stop
_JSON = [(b"content-type", b"application/json")]
_SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


class DeliberateDisconnect(Exception):
    """Raised by the app to make uvicorn drop the connection mid-response (`disconnect`)."""


class _QuietDeliberateDisconnects(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DeliberateDisconnect))


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] = _JSON
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ScriptedUpstream:
    """The ASGI app. `tokens` and `token_size` shape answers that do not say otherwise."""

    def __init__(self, *, tokens: int = 16, token_size: int = 6) -> None:
        self.tokens = tokens
        self.token_size = token_size
        self.requests: Counter[str] = Counter()
        self.cancelled: Counter[str] = Counter()
        self.completed: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._peers: set[tuple[str, int]] = set()
        self._flaky: Counter[str] = Counter()
        self._last: dict[str, dict[str, Any]] = {}
        uvicorn_log = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, _QuietDeliberateDisconnects) for f in uvicorn_log.filters):
            uvicorn_log.addFilter(_QuietDeliberateDisconnects())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            return
        path, method = scope["path"], scope["method"]
        if path == "/v1/chat/completions" and method == "POST":
            await self._chat(scope, receive, send)
        elif path == "/v1/models" and method == "GET":
            await _respond(send, 200, self._models())
        elif path == "/_stats" and method == "GET":
            await _respond(send, 200, orjson.dumps(self.stats()))
        elif path == "/_last" and method == "GET":
            query = parse_qs(scope.get("query_string", b"").decode())
            model = query.get("model", [""])[0]
            await _respond(send, 200, orjson.dumps(self._last.get(model)))
        elif path == "/_reset" and method == "POST":
            self.reset()
            await _respond(send, 200, b'{"ok":true}')
        else:
            await _respond(send, 404, shapes.error_body(404, f"no route {method} {path}"))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def stats(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "cancelled": dict(self.cancelled),
            "completed": dict(self.completed),
            "total_requests": sum(self.requests.values()),
            "total_cancelled": sum(self.cancelled.values()),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "connections": len(self._peers),
        }

    def reset(self) -> None:
        self.requests.clear()
        self.cancelled.clear()
        self.completed.clear()
        self._flaky.clear()
        self._last.clear()
        self._peers.clear()
        self.max_in_flight = self.in_flight

    def _models(self) -> bytes:
        words = sorted(FLAGS | {f"{name}-<n>" for name in VALUED})
        data = [{"id": w, "object": "model", "created": 0, "owned_by": "scripted"} for w in words]
        return orjson.dumps({"object": "list", "data": data})

    async def _chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            request = orjson.loads(await _read_body(receive))
        except orjson.JSONDecodeError:
            await _respond(send, 400, shapes.error_body(400, "the body is not JSON"))
            return
        messages = request.get("messages") if isinstance(request, dict) else None
        model = request.get("model") if isinstance(request, dict) else None
        if not isinstance(messages, list) or not messages or not isinstance(model, str):
            await _respond(send, 400, shapes.error_body(400, "'model' and 'messages' required"))
            return
        headers = dict(scope["headers"])
        self.requests[model] += 1
        self._last[model] = {
            "body": request,
            "authorization": headers.get(b"authorization", b"").decode() or None,
        }
        script = parse_script(model)
        stream = bool(request.get("stream"))
        # Only a waiting request needs to watch for the client going away.
        watcher = None
        if script.slow or script.has("hang") or (stream and script.drip):
            watcher = asyncio.ensure_future(_until_disconnect(receive))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if scope.get("client"):
            self._peers.add(tuple(scope["client"]))
        try:
            if await self._pause(watcher, HANG_LIMIT if script.has("hang") else script.slow):
                self.cancelled[model] += 1
                return
            if script.has("hang"):
                await _respond(send, 504, shapes.error_body(504, "hang limit reached"))
                return
            if script.has("no-stream-options") and "stream_options" in request:
                message = "Unrecognized request argument supplied: stream_options"
                await _respond(send, 400, shapes.error_body(400, message))
                return
            key = headers.get(b"x-script-key", b"").decode() or model
            if await self._maybe_fail(send, script, key):
                return
            answer = self._answer(request, script)
            if stream and not script.has("no-sse"):
                completed = await self._stream(send, model, request, script, answer, watcher)
            else:
                completed = await self._complete(send, model, script, answer)
            if completed:
                self.completed[model] += 1
            else:
                self.cancelled[model] += 1
        finally:
            self.in_flight -= 1
            if watcher is not None:
                watcher.cancel()

    async def _pause(self, watcher: asyncio.Future[None] | None, seconds: float) -> bool:
        """Sleeps; True when the client disconnected meanwhile."""
        if seconds <= 0:
            return False
        if watcher is None:
            await asyncio.sleep(seconds)
            return False
        done, _ = await asyncio.wait({watcher}, timeout=seconds)
        return bool(done)

    async def _maybe_fail(self, send: Send, script: Script, key: str) -> bool:
        if script.flaky:
            self._flaky[key] += 1
            if self._flaky[key] > script.flaky:
                return False
        elif script.fail is None:
            return False
        status = script.fail or 500
        headers = list(_JSON)
        retry_after = script.retry_after or ("1" if status in (429, 503) else None)
        if retry_after is not None:
            headers.append((b"retry-after", retry_after.encode()))
        await _respond(
            send, status, shapes.error_body(status, f"scripted failure {status}"), headers
        )
        return True

    def _answer(self, request: dict[str, Any], script: Script) -> shapes.Answer:
        size = script.size or self.token_size
        prompt_tokens = shapes.prompt_tokens(request["messages"])
        if shapes.wants_tool_call(request, script.has("tools")):
            calls = shapes.plan_tool_calls(request, script.calls)
            return shapes.Answer([], calls, "tool_calls", prompt_tokens)
        if script.has("recite"):
            system = [m for m in request["messages"] if m.get("role") == "system"]
            text = shapes.message_text(system[-1].get("content")) if system else ""
            pieces = shapes.split_text(text.rsplit("\n", 1)[-1], size)
        elif script.has("echo"):
            last = next(
                (m for m in reversed(request["messages"]) if m.get("role") == "user"),
                request["messages"][-1],
            )
            pieces = shapes.split_text(shapes.message_text(last.get("content")), size)
        else:
            pieces = list(shapes.fixed_tokens(script.tokens or self.tokens, size))
        finish = "stop"
        limit = request.get("max_completion_tokens") or request.get("max_tokens")
        if isinstance(limit, int) and 0 < limit < len(pieces):
            pieces, finish = pieces[:limit], "length"
        if script.has("no-finish"):
            finish = None
        return shapes.Answer(pieces, [], finish, prompt_tokens)

    async def _complete(
        self, send: Send, model: str, script: Script, answer: shapes.Answer
    ) -> bool:
        if script.has("malformed"):
            await _respond(send, 200, b'{"id": "chatcmpl-broken", "choices": [{"ind')
            return True
        body = shapes.completion_body(model, answer)
        if script.has("no-usage"):
            parsed = orjson.loads(body)
            parsed.pop("usage")
            body = orjson.dumps(parsed)
        if script.has("disconnect"):
            headers = [*_JSON, (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body[:20], "more_body": True})
            raise DeliberateDisconnect
        await _respond(send, 200, body)
        return True

    async def _stream(
        self,
        send: Send,
        model: str,
        request: dict[str, Any],
        script: Script,
        answer: shapes.Answer,
        watcher: asyncio.Future[None] | None,
    ) -> bool:
        options = request.get("stream_options") or {}
        writer = shapes.ChunkWriter(model, bool(options.get("include_usage")))
        events = writer.events(answer, script.size or self.token_size)
        if script.has("disconnect"):
            events = events[:3]
        if script.has("malformed"):
            events.insert(min(2, len(events)), b'data: {"choices": [{"delta": {"cont\n\n')
        if not script.has("disconnect") and not script.has("no-finish"):
            events.append(writer.finish(answer))
            if options.get("include_usage") and not script.has("no-usage"):
                events.append(writer.usage(answer))
            if not script.has("no-done"):
                events.append(shapes.DONE)
        if script.has("ping"):
            events = [e for event in events for e in (b": ping\n\n", event)]
        await send({"type": "http.response.start", "status": 200, "headers": _SSE})
        if not script.drip:
            # No pacing asked for: one write, as a busy server's coalesced stream looks.
            await send({"type": "http.response.body", "body": b"".join(events), "more_body": True})
        else:
            for index, event in enumerate(events):
                await send({"type": "http.response.body", "body": event, "more_body": True})
                if index + 1 < len(events) and await self._pause(watcher, script.drip):
                    return False
        if script.has("disconnect"):
            raise DeliberateDisconnect
        await send({"type": "http.response.body", "body": b""})
        return True


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket (port 0: a free one), ready to hand to uvicorn."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: ScriptedUpstream) -> Any:
    import uvicorn

    # log_config=None and log_level=None: leave the process' logging alone (tests share it).
    return uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        log_config=None,
        log_level=None,
        access_log=False,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=1,
    )


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100, help="0 picks a free port")
    parser.add_argument("--tokens", type=int, default=16, help="tokens per answer")
    parser.add_argument("--token-size", type=int, default=6, help="characters per token")
    args = parser.parse_args(argv)
    sock = bind_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    app = ScriptedUpstream(tokens=args.tokens, token_size=args.token_size)
    print(f"scripted upstream listening on http://{host}:{port}/v1", flush=True)
    uvicorn.Server(uvicorn_config(app)).run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
