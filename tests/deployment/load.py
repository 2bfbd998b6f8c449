"""The load of the multi-instance test: v1 turns (JSON and SSE) and v2 completions (JSON and
SSE) sent through the load balancer by threads until told to stop, each recording what the
caller saw: which turns were acknowledged, what each stream delivered, who answered."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

MESSAGE = "/ai/v1/message"
COMPLETIONS = "/ai/v2/chat/completions"
QUIET = {"enable_suggestions": 0}
HELLO = {"role": "user", "content": "Hi"}
# Past the safety layer's stream hold (200 characters), so text flows while the turn runs.
LONG = (
    "who was Paul of Tarsus, where did he travel on each of his journeys, which churches did he "
    "write to, what did he teach about grace and faith, and how did his letters shape the early "
    "communities around the Mediterranean in the first century? "
) * 2
MOST_TURNS = 400  # per sender: the loops are bounded whatever happens


@dataclass
class Stream:
    """One v1 SSE turn as its caller saw it."""

    query: str
    server: str | None = None
    ids: dict[str, str] = field(default_factory=dict)  # from the X-Emmaus-* headers
    deltas: list[str] = field(default_factory=list)
    final: dict[str, Any] | None = None
    done: bool = False  # `data: [DONE]` arrived


@dataclass
class Seen:
    """Everything the load's callers saw, shared by the sender threads."""

    acknowledged: list[dict[str, Any]] = field(default_factory=list)  # v1 JSON 200s
    streams: list[Stream] = field(default_factory=list)  # v1 SSE turns that got their headers
    open_streams: dict[str, int] = field(default_factory=Counter)  # server -> v1 streams open
    failures: list[tuple[str, str, str | None]] = field(default_factory=list)  # kind, what, server
    v2_answered: Counter[str] = field(default_factory=Counter)  # "json"/"sse" -> complete
    lock: threading.Lock = field(default_factory=threading.Lock)

    def settled_turns(self) -> int:
        return len(self.acknowledged) + sum(1 for s in self.streams if s.done)

    def failed(self, kind: str, what: str, server: str | None) -> None:
        with self.lock:
            self.failures.append((kind, what, server))


def _events(response: httpx.Response) -> Any:
    for line in response.iter_lines():
        if line.startswith("data: "):
            payload = line[len("data: ") :]
            yield None if payload == "[DONE]" else orjson.loads(payload)


def _new_chat(http: httpx.Client, title: str, stop: threading.Event) -> str | None:
    while not stop.is_set():
        try:
            response = http.post("/ai/v1/chat", json={"title": title})
            if response.status_code == 200:
                chat_id: str = response.json()["chat_id"]
                return chat_id
        except httpx.TransportError:
            pass
    return None


def v1_json_sender(base: str, headers: dict[str, str], n: int, stop: threading.Event, seen: Seen):
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        chat_id = _new_chat(http, f"json {n}", stop)
        for turn in range(MOST_TURNS):
            if stop.is_set() or chat_id is None:
                return
            query = f"Sender {n} asks question number {turn}: what is grace?"
            try:
                response = http.post(MESSAGE, json={"query": query, "chat_id": chat_id, **QUIET})
            except httpx.TransportError as exc:
                seen.failed("v1-json", type(exc).__name__, None)
                continue
            server = response.headers.get("x-served-by")
            if response.status_code == 200:
                with seen.lock:
                    seen.acknowledged.append({"query": query, "server": server, **response.json()})
            else:
                seen.failed("v1-json", str(response.status_code), server)


def stream_turn(http: httpx.Client, chat_id: str, query: str, seen: Seen) -> None:
    body = {"query": query, "chat_id": chat_id, "stream": True, **QUIET}
    with http.stream("POST", MESSAGE, json=body) as response:
        server = response.headers.get("x-served-by")
        if response.status_code != 200:
            response.read()
            seen.failed("v1-sse", str(response.status_code), server)
            return
        stream = Stream(query, server, {k.lower(): v for k, v in response.headers.items()})
        with seen.lock:
            seen.streams.append(stream)
            seen.open_streams[server or "-"] += 1
        try:
            for event in _events(response):
                if event is None:
                    stream.done = True
                elif set(event) == {"message"}:
                    stream.deltas.append(event["message"])
                else:
                    stream.final = event
        finally:
            with seen.lock:
                seen.open_streams[server or "-"] -= 1


def v1_sse_sender(base: str, headers: dict[str, str], n: int, stop: threading.Event, seen: Seen):
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        chat_id = _new_chat(http, f"sse {n}", stop)
        for turn in range(MOST_TURNS):
            if stop.is_set() or chat_id is None:
                return
            query = f"Streamer {n} asks question number {turn}: {LONG}"
            try:
                stream_turn(http, chat_id, query, seen)
            except httpx.TransportError as exc:  # cut mid-stream: recorded in seen.streams
                seen.failed("v1-sse", type(exc).__name__, None)


def v2_sender(base: str, headers: dict[str, str], model: str, stop: threading.Event, seen: Seen):
    """Alternately a JSON and a streamed completion."""
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        for turn in range(MOST_TURNS):
            if stop.is_set():
                return
            stream = turn % 2 == 1
            body = {"model": model, "stream": stream, "messages": [HELLO]}
            try:
                with http.stream("POST", COMPLETIONS, json=body) as response:
                    server = response.headers.get("x-served-by")
                    if response.status_code != 200:
                        response.read()
                        seen.failed("v2", str(response.status_code), server)
                        continue
                    if not stream:
                        response.read()
                        if response.json()["choices"][0]["finish_reason"] == "stop":
                            seen.v2_answered["json"] += 1
                        continue
                    if None in list(_events(response)):
                        seen.v2_answered["sse"] += 1
                    else:
                        seen.failed("v2-sse", "no [DONE]", server)
            except httpx.TransportError as exc:
                seen.failed("v2", type(exc).__name__, None)
