"""Token lifetime against a live Emmaus whose tokens last 2 seconds: the cache renews before
expiry (margin), renews once after a 401 (a token the server no longer accepts), and the
OpenAI client from `client.openai()` keeps working across expiries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from emmaus.testing import UpstreamHandle
from emmaus_client import AsyncEmmaus, AuthenticationError, Emmaus
from emmaus_client._auth import Token
from tests.sdk.servers import Server, emmaus_server, sdk_settings

TTL = 2
QUESTION = [{"role": "user", "content": "Who wrote the Gospel of Luke?"}]


@pytest.fixture(scope="module")
def short_lived(
    tmp_path_factory: pytest.TempPathFactory, sdk_upstream: UpstreamHandle
) -> Iterator[Server]:
    settings = sdk_settings(
        tmp_path_factory.mktemp("sdk-ttl"), sdk_upstream, token_ttl=TTL, jwt_leeway=0
    )
    with emmaus_server(settings) as running:
        yield running


def _client(server: Server, **options: object) -> Emmaus:
    return Emmaus(
        server.base_url,
        client_id=server.client_id,
        client_secret=server.client_secret,
        **options,  # type: ignore[arg-type]
    )


def test_renewed_before_expiry(short_lived: Server) -> None:
    with _client(short_lived, refresh_margin=0.5) as client:
        client.completions.create(QUESTION)
        client.completions.create(QUESTION)
        assert client.tokens.renewals == 1  # still fresh: reused
        time.sleep(TTL - 0.5 + 0.2)  # inside the margin, before the server's expiry
        sent = client.transport.attempts
        client.completions.create(QUESTION)
        assert client.tokens.renewals == 2
        assert client.transport.attempts == sent + 1  # renewed up front: no 401 on the way


def test_the_default_margin_renews_a_token_shorter_than_a_minute(short_lived: Server) -> None:
    with _client(short_lived) as client:  # margin 60 s > the 2 s lifetime: always renewed
        client.completions.create(QUESTION)
        client.completions.create(QUESTION)
        assert client.tokens.renewals == 2


def test_renewed_once_after_a_401(short_lived: Server) -> None:
    with _client(short_lived, refresh_margin=0) as client:
        stale = client.token()
        time.sleep(TTL + 1.1)  # the server's expiry (whole seconds) is behind us
        # The cache believes the token fresh (a clock that drifted, a revoked token).
        client.tokens._token = Token(stale, time.monotonic() + 3600)
        sent = client.transport.attempts
        answer = client.completions.create(QUESTION)
        assert answer.content == QUESTION[0]["content"]
        assert client.transport.attempts == sent + 2  # the 401, then the renewed try
        assert client.token() != stale


def test_a_401_after_renewal_is_an_authentication_error(short_lived: Server) -> None:
    client = Emmaus(short_lived.base_url, api_key="not-a-token")
    with client, pytest.raises(AuthenticationError) as refused:
        client.completions.create(QUESTION)
    assert refused.value.status == 401


def test_openai_client_survives_expiry(short_lived: Server) -> None:
    with _client(short_lived, refresh_margin=0.5) as client:
        openai_client = client.openai(max_retries=0)
        for attempt in range(2):
            if attempt:
                time.sleep(TTL + 0.2)  # the first token has expired on the server too
            answer = openai_client.chat.completions.create(model="echo-fast", messages=QUESTION)
            assert answer.choices[0].message.content == QUESTION[0]["content"]
        assert client.tokens.renewals == 2


async def test_async_openai_renews_after_a_401(short_lived: Server) -> None:
    async with AsyncEmmaus(
        short_lived.base_url,
        client_id=short_lived.client_id,
        client_secret=short_lived.client_secret,
        refresh_margin=0,
    ) as client:
        stale = await client.token()
        await asyncio.sleep(TTL + 1.1)
        client.tokens._token = Token(stale, time.monotonic() + 3600)
        openai_client = client.openai(max_retries=0)
        answer = await openai_client.chat.completions.create(model="echo-fast", messages=QUESTION)
        assert answer.choices[0].message.content == QUESTION[0]["content"]
        assert client.tokens.renewals == 2
