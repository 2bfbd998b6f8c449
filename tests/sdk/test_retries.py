"""Retries through a fault proxy in front of the live Emmaus: 429 and 503 before a request is
served (retried, `Retry-After` honoured), 503 after it was served (a v1 send retried with the
same Idempotency-Key stores its turn once), other 4xx never retried, non-idempotent writes
retried only when refused unprocessed, connection errors, and exhausted retries."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from emmaus_client import (
    APIConnectionError,
    Emmaus,
    ProviderError,
    RateLimitError,
    ValidationError,
)
from emmaus_client.types import MessageResponse
from tests.sdk.servers import Fault, FaultProxy, Server, fault_proxy

COMPLETIONS = "/ai/v2/chat/completions"
MESSAGE = "/ai/v1/message"
QUESTION = [{"role": "user", "content": "Who wrote the Gospel of John?"}]


@pytest.fixture(scope="module")
def proxied(server: Server) -> Iterator[tuple[str, FaultProxy]]:
    with fault_proxy(server.base_url) as running:
        yield running


@pytest.fixture
def sdk(proxied: tuple[str, FaultProxy], server: Server) -> Iterator[Emmaus]:
    url, _ = proxied
    with Emmaus(
        url,
        client_id=server.client_id,
        client_secret=server.client_secret,
        max_retries=3,
        backoff=0.01,
    ) as client:
        client.token()  # the token first, so the faults below hit the calls under test
        yield client


def _history(server: Server, chat_id: str) -> list[dict[str, object]]:
    with Emmaus(
        server.base_url, client_id=server.client_id, client_secret=server.client_secret
    ) as direct:
        return [m.raw for m in direct.chats.get(chat_id).messages]


def test_429_is_retried_after_the_servers_delay(
    sdk: Emmaus, proxied: tuple[str, FaultProxy]
) -> None:
    _, proxy = proxied
    proxy.arm(COMPLETIONS, Fault(429, retry_after="1"))
    started = time.monotonic()
    answer = sdk.completions.create(QUESTION)
    assert answer.content == QUESTION[0]["content"]
    assert len(proxy.sent(COMPLETIONS)) == 2
    assert time.monotonic() - started >= 0.9  # it waited as asked (backoff alone is 10 ms)


def test_a_503_after_the_turn_was_stored_does_not_store_it_twice(
    sdk: Emmaus, proxied: tuple[str, FaultProxy], server: Server
) -> None:
    _, proxy = proxied
    first = sdk.chats.send("Where was the apostle Paul born?", enable_suggestions=0)
    proxy.arm(MESSAGE, Fault(503, after=True), Fault(503, after=True))
    second = sdk.chats.send(
        "Which city did Paul write to about love?", chat_id=first.chat_id, enable_suggestions=0
    )
    keys = proxy.sent(MESSAGE)
    assert len(keys) == 3 and len(set(keys)) == 1 and keys[0]  # one key, reused
    assert isinstance(second, MessageResponse) and second.chat_id == first.chat_id
    history = _history(server, first.chat_id)
    questions = [m["message"] for m in history if m["role"] == "user"]
    assert questions == [
        "Where was the apostle Paul born?",
        "Which city did Paul write to about love?",
    ]
    assert len(history) == 4

    third = sdk.chats.send("Who was Timothy?", chat_id=first.chat_id, enable_suggestions=0)
    assert proxy.sent(MESSAGE)[-1] != keys[0]  # a new logical send, a new key
    assert third.query_id != second.query_id


def test_a_new_chat_retried_after_a_503_is_one_chat(
    sdk: Emmaus, proxied: tuple[str, FaultProxy], server: Server
) -> None:
    _, proxy = proxied
    proxy.arm(MESSAGE, Fault(503, after=True))
    sent = sdk.chats.send("Who was Barnabas?", enable_suggestions=0)
    assert len(_history(server, sent.chat_id)) == 2
    assert [c.chat_id for c in sdk.chats.list(limit=100).chats].count(sent.chat_id) == 1


def test_streamed_send_retried_before_it_starts(
    sdk: Emmaus, proxied: tuple[str, FaultProxy], server: Server
) -> None:
    _, proxy = proxied
    proxy.arm(MESSAGE, Fault(429), Fault(503))
    final = sdk.chats.send_stream("Who was Silas?", enable_suggestions=0).until_done()
    assert final.message == "Who was Silas?"
    assert len(set(proxy.sent(MESSAGE))) == 1 and len(proxy.sent(MESSAGE)) == 3
    assert len(_history(server, final.chat_id)) == 2


def test_other_4xx_are_not_retried(sdk: Emmaus, proxied: tuple[str, FaultProxy]) -> None:
    _, proxy = proxied
    proxy.arm(COMPLETIONS, Fault(422), Fault(422))
    with pytest.raises(ValidationError):
        sdk.completions.create(QUESTION)
    assert len(proxy.sent(COMPLETIONS)) == 1


def test_exhausted_retries_raise_the_last_error(
    proxied: tuple[str, FaultProxy], server: Server
) -> None:
    url, proxy = proxied
    client = Emmaus(
        url, client_id=server.client_id, client_secret=server.client_secret, max_retries=2,
        backoff=0.01,
    )  # fmt: skip
    client.token()
    proxy.arm(COMPLETIONS, *[Fault(503)] * 5)
    with pytest.raises(ProviderError) as failed:
        client.completions.create(QUESTION)
    assert failed.value.status == 503 and failed.value.retryable
    assert len(proxy.sent(COMPLETIONS)) == 3

    proxy.arm(COMPLETIONS, Fault(429, retry_after="7"))
    no_retries = Emmaus(
        url, client_id=server.client_id, client_secret=server.client_secret, max_retries=0
    )
    with pytest.raises(RateLimitError) as limited:
        no_retries.completions.create(QUESTION)
    assert limited.value.retry_after == 7


def test_stored_responses_are_retried_only_when_refused_unprocessed(
    sdk: Emmaus, proxied: tuple[str, FaultProxy]
) -> None:
    _, proxy = proxied
    path = "/ai/v1/responses"
    proxy.arm(path, Fault(503, after=True))
    with pytest.raises(ProviderError):
        sdk.responses.create("Who was Lydia?", max_output_tokens=20)
    assert len(proxy.sent(path)) == 1  # stored once already: a retry would store it twice
    proxy.arm(path, Fault(429))
    assert sdk.responses.create("Who was Lydia?", max_output_tokens=20).status == "completed"
    assert len(proxy.sent(path)) == 2


def test_the_token_request_is_retried(proxied: tuple[str, FaultProxy], server: Server) -> None:
    url, proxy = proxied
    proxy.arm("/oauth2/token", Fault(503), Fault(429))
    client = Emmaus(
        url, client_id=server.client_id, client_secret=server.client_secret, backoff=0.01
    )
    assert client.completions.create(QUESTION).content == QUESTION[0]["content"]
    assert len(proxy.sent("/oauth2/token")) == 3


def test_connection_errors_are_retried_then_raised() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Emmaus(
        f"http://127.0.0.1:{port}", client_id="x", client_secret="y", max_retries=2,
        backoff=0.01,
    )  # fmt: skip
    with pytest.raises(APIConnectionError):
        client.completions.create(QUESTION)
    with pytest.raises(httpx.ConnectError):  # nothing there indeed
        httpx.get(f"http://127.0.0.1:{port}/")
