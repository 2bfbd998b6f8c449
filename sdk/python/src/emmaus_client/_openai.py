"""`client.openai()`: the official OpenAI SDK pointed at Emmaus (or Gloo), with an httpx auth
hook that puts a fresh bearer token on every request, from the same token cache the SDK uses,
and renews it once on a 401. The OpenAI SDK's own key is static; this one never expires."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import httpx

from emmaus_client._auth import TokenCache

PLACEHOLDER_KEY = "emmaus-client-managed-token"  # never sent: the auth hook replaces it


class TokenAuth(httpx.Auth):
    def __init__(
        self,
        tokens: TokenCache,
        base_url: str,
        *,
        sync_http: httpx.Client | None = None,
        async_http: httpx.AsyncClient | None = None,
    ) -> None:
        self.tokens, self.base_url = tokens, base_url
        self.sync_http, self.async_http = sync_http, async_http

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        assert self.sync_http is not None, "a sync OpenAI client needs the sync Emmaus client"
        token = self.tokens.sync_token(self.sync_http, self.base_url)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and self.tokens.renewable:
            self.tokens.invalidate(token)
            token = self.tokens.sync_token(self.sync_http, self.base_url)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        assert self.async_http is not None, "an async OpenAI client needs AsyncEmmaus"
        token = await self.tokens.async_token(self.async_http, self.base_url)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and self.tokens.renewable:
            self.tokens.invalidate(token)
            token = await self.tokens.async_token(self.async_http, self.base_url)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
