"""Sending a request: the bearer token, retries with backoff, one token renewal on a 401, and
the error response turned into an exception. Sync and async twins over one httpx client each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from emmaus_client import errors
from emmaus_client._auth import TokenCache
from emmaus_client._retry import RetryPolicy, retryable_exception, retryable_status
from emmaus_client._status import status_error

USER_AGENT = "emmaus-client/0.1"


@dataclass(slots=True)
class Call:
    """One logical request; its retries reuse everything here (the Idempotency-Key included)."""

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    idempotent: bool = True  # may a retry run it twice without harm?
    authenticated: bool = True

    def build(
        self, http: httpx.Client | httpx.AsyncClient, base_url: str, token: str | None
    ) -> httpx.Request:
        headers = {"User-Agent": USER_AGENT, **self.headers}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        params = {k: v for k, v in (self.params or {}).items() if v is not None}
        url = base_url + self.path  # absolute: an http_client of the caller's needs no base URL
        return http.build_request(self.method, url, json=self.json, params=params, headers=headers)


def _transport_error(exc: httpx.TransportError) -> errors.APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return errors.APITimeoutError(f"timed out: {exc!r}")
    return errors.APIConnectionError(f"connection failed: {exc!r}")


class SyncTransport:
    def __init__(
        self, http: httpx.Client, base_url: str, tokens: TokenCache, retry: RetryPolicy
    ) -> None:
        self.http, self.base_url, self.tokens, self.retry = http, base_url, tokens, retry
        self.attempts = 0  # every request sent, retries included (for tests and metrics)

    def _token(self, call: Call) -> str | None:
        return self.tokens.sync_token(self.http, self.base_url) if call.authenticated else None

    def _send(self, call: Call, *, stream: bool) -> httpx.Response:
        attempt, renewed = 0, False
        while True:
            token = self._token(call)
            self.attempts += 1
            try:
                response = self.http.send(
                    call.build(self.http, self.base_url, token), stream=stream
                )
            except httpx.TransportError as exc:
                if attempt < self.retry.max_retries and retryable_exception(
                    exc, idempotent=call.idempotent
                ):
                    time.sleep(self.retry.delay(attempt))
                    attempt += 1
                    continue
                raise _transport_error(exc) from exc
            if response.is_success:
                return response
            if stream:
                response.read()
                response.close()
            if response.status_code == 401 and token and self.tokens.renewable and not renewed:
                self.tokens.invalidate(token)  # expired or revoked early: renew once
                renewed = True
                continue
            if attempt < self.retry.max_retries and retryable_status(
                response, idempotent=call.idempotent
            ):
                time.sleep(self.retry.delay(attempt, response))
                attempt += 1
                continue
            raise status_error(response)

    def request(self, call: Call) -> Any:
        """The JSON body of a successful response."""
        return self._send(call, stream=False).json()

    @contextmanager
    def stream(self, call: Call) -> Iterator[httpx.Response]:
        """A successful response whose body is still to be read (retried only before it)."""
        response = self._send(call, stream=True)
        try:
            yield response
        finally:
            response.close()


class AsyncTransport:
    def __init__(
        self, http: httpx.AsyncClient, base_url: str, tokens: TokenCache, retry: RetryPolicy
    ) -> None:
        self.http, self.base_url, self.tokens, self.retry = http, base_url, tokens, retry
        self.attempts = 0

    async def _token(self, call: Call) -> str | None:
        if not call.authenticated:
            return None
        return await self.tokens.async_token(self.http, self.base_url)

    async def _send(self, call: Call, *, stream: bool) -> httpx.Response:
        attempt, renewed = 0, False
        while True:
            token = await self._token(call)
            self.attempts += 1
            try:
                response = await self.http.send(
                    call.build(self.http, self.base_url, token), stream=stream
                )
            except httpx.TransportError as exc:
                if attempt < self.retry.max_retries and retryable_exception(
                    exc, idempotent=call.idempotent
                ):
                    await asyncio.sleep(self.retry.delay(attempt))
                    attempt += 1
                    continue
                raise _transport_error(exc) from exc
            if response.is_success:
                return response
            if stream:
                await response.aread()
                await response.aclose()
            if response.status_code == 401 and token and self.tokens.renewable and not renewed:
                self.tokens.invalidate(token)
                renewed = True
                continue
            if attempt < self.retry.max_retries and retryable_status(
                response, idempotent=call.idempotent
            ):
                await asyncio.sleep(self.retry.delay(attempt, response))
                attempt += 1
                continue
            raise status_error(response)

    async def request(self, call: Call) -> Any:
        return (await self._send(call, stream=False)).json()

    @asynccontextmanager
    async def stream(self, call: Call) -> AsyncIterator[httpx.Response]:
        response = await self._send(call, stream=True)
        try:
            yield response
        finally:
            await response.aclose()
