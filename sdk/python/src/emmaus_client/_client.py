"""`Emmaus` and `AsyncEmmaus`: one object per set of credentials, holding the token cache, the
retry policy and one HTTP connection pool; the surfaces hang off it (`completions`, `chats`,
`responses`, `conversations`)."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from emmaus_client import _requests as build
from emmaus_client._auth import DEFAULT_SCOPE, TokenCache
from emmaus_client._openai import PLACEHOLDER_KEY, TokenAuth
from emmaus_client._retry import RetryPolicy
from emmaus_client._transport import AsyncTransport, SyncTransport
from emmaus_client.resources.chats import AsyncChats, Chats
from emmaus_client.resources.completions import AsyncCompletions, Completions
from emmaus_client.resources.responses import (
    AsyncConversations,
    AsyncResponses,
    Conversations,
    Responses,
)

if TYPE_CHECKING:
    import openai

GLOO_BASE_URL = "https://platform.ai.gloo.com"
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)


def _timeout(value: float | httpx.Timeout | None) -> httpx.Timeout:
    if value is None:
        return DEFAULT_TIMEOUT
    return value if isinstance(value, httpx.Timeout) else httpx.Timeout(value, connect=10.0)


class _Settings:
    def __init__(
        self,
        base_url: str,
        client_id: str | None,
        client_secret: str | None,
        api_key: str | None,
        scope: str,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        backoff: float,
        max_backoff: float,
        refresh_margin: float,
        tokens: TokenCache | None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = _timeout(timeout)
        self.retry = RetryPolicy(max_retries, backoff, max_backoff)
        self.tokens = tokens or TokenCache(
            client_id, client_secret, scope=scope, api_key=api_key,
            refresh_margin=refresh_margin, retry=self.retry,
        )  # fmt: skip


class Emmaus:
    """The synchronous client.

    `Emmaus(base_url="http://127.0.0.1:8000", client_id=..., client_secret=...)`; for Gloo,
    `base_url="https://platform.ai.gloo.com"` (the default). `max_retries` tries after the
    first on connection errors, 408, 429 and 5xx (`backoff` seconds doubled each time, with
    jitter, or the server's `Retry-After`); the token is renewed `refresh_margin` seconds before
    it expires and once after a 401."""

    def __init__(
        self,
        base_url: str = GLOO_BASE_URL,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_key: str | None = None,
        scope: str = DEFAULT_SCOPE,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        refresh_margin: float = 60.0,
        http_client: httpx.Client | None = None,
        _tokens: TokenCache | None = None,
    ) -> None:
        self._settings = _Settings(
            base_url, client_id, client_secret, api_key, scope, timeout, max_retries,
            backoff, max_backoff, refresh_margin, _tokens,
        )  # fmt: skip
        self.base_url = self._settings.base_url
        self.tokens = self._settings.tokens
        self._owns_http = http_client is None
        self.http = http_client or httpx.Client(
            base_url=self.base_url, timeout=self._settings.timeout
        )
        self.transport = SyncTransport(self.http, self.base_url, self.tokens, self._settings.retry)
        self.completions = Completions(self.transport)
        self.chats = Chats(self.transport)
        self.responses = Responses(self.transport)
        self.conversations = Conversations(self.transport)

    def models(self) -> list[dict[str, Any]]:
        """The model catalog (`GET /ai/v2/models`)."""
        return list(self.transport.request(build.models()).get("data") or [])

    def token(self) -> str:
        """A bearer token valid for at least `refresh_margin` more seconds."""
        return self.tokens.sync_token(self.http, self.base_url)

    def openai(self, *, path: str = "/ai/v2", **options: Any) -> openai.OpenAI:
        """An `openai.OpenAI` on `base_url + path` (`/ai/v2` for chat completions, `/ai/v1` for
        Responses and Conversations) whose bearer token renews itself. Needs the `openai`
        extra."""
        import openai

        auth = TokenAuth(self.tokens, self.base_url, sync_http=self.http)
        http = httpx.Client(auth=auth, timeout=self._settings.timeout)
        return openai.OpenAI(
            base_url=self.base_url + path, api_key=PLACEHOLDER_KEY, http_client=http, **options
        )

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> Emmaus:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncEmmaus:
    """The asyncio client: the same surfaces as `Emmaus`, every call awaited, streams iterated
    with `async for`."""

    def __init__(
        self,
        base_url: str = GLOO_BASE_URL,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_key: str | None = None,
        scope: str = DEFAULT_SCOPE,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        refresh_margin: float = 60.0,
        http_client: httpx.AsyncClient | None = None,
        _tokens: TokenCache | None = None,
    ) -> None:
        self._settings = _Settings(
            base_url, client_id, client_secret, api_key, scope, timeout, max_retries,
            backoff, max_backoff, refresh_margin, _tokens,
        )  # fmt: skip
        self.base_url = self._settings.base_url
        self.tokens = self._settings.tokens
        self._owns_http = http_client is None
        self.http = http_client or httpx.AsyncClient(
            base_url=self.base_url, timeout=self._settings.timeout
        )
        self.transport = AsyncTransport(self.http, self.base_url, self.tokens, self._settings.retry)
        self.completions = AsyncCompletions(self.transport)
        self.chats = AsyncChats(self.transport)
        self.responses = AsyncResponses(self.transport)
        self.conversations = AsyncConversations(self.transport)

    async def models(self) -> list[dict[str, Any]]:
        return list((await self.transport.request(build.models())).get("data") or [])

    async def token(self) -> str:
        return await self.tokens.async_token(self.http, self.base_url)

    def openai(self, *, path: str = "/ai/v2", **options: Any) -> openai.AsyncOpenAI:
        """An `openai.AsyncOpenAI` whose bearer token renews itself."""
        import openai

        auth = TokenAuth(self.tokens, self.base_url, async_http=self.http)
        http = httpx.AsyncClient(auth=auth, timeout=self._settings.timeout)
        return openai.AsyncOpenAI(
            base_url=self.base_url + path, api_key=PLACEHOLDER_KEY, http_client=http, **options
        )

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def __aenter__(self) -> AsyncEmmaus:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
