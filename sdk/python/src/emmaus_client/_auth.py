"""OAuth2 client credentials (spec §1): a token cache shared by the sync and the async client,
renewed `refresh_margin` seconds (60) before it expires, and on demand after a 401. One renewal
at a time per cache (single flight): concurrent callers wait for it instead of each asking."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

import httpx

from emmaus_client import errors
from emmaus_client._retry import RetryPolicy, retryable_status
from emmaus_client._status import status_error

TOKEN_PATH = "/oauth2/token"
DEFAULT_SCOPE = "api/access"


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires_at: float  # time.monotonic() seconds

    def fresh(self, margin: float) -> bool:
        return time.monotonic() < self.expires_at - margin


class TokenCache:
    """Holds the current bearer token. With `api_key` (a static key) there is nothing to renew."""

    def __init__(
        self,
        client_id: str | None,
        client_secret: str | None,
        *,
        scope: str = DEFAULT_SCOPE,
        api_key: str | None = None,
        refresh_margin: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        if api_key is None and not (client_id and client_secret):
            raise ValueError("give client_id and client_secret (or api_key)")
        self.client_id, self.client_secret, self.scope = client_id, client_secret, scope
        self.api_key = api_key
        self.refresh_margin = refresh_margin
        self.retry = retry or RetryPolicy()
        self._token: Token | None = None
        self._thread_lock = threading.Lock()
        self._async_locks: dict[int, asyncio.Lock] = {}  # one per event loop
        self.renewals = 0  # how many tokens were fetched (for tests and metrics)

    @property
    def renewable(self) -> bool:
        return self.api_key is None

    def current(self) -> str | None:
        """The cached token if it is still fresh, else None (a static key never expires)."""
        if self.api_key is not None:
            return self.api_key
        token = self._token
        return token.value if token is not None and token.fresh(self.refresh_margin) else None

    def invalidate(self, value: str) -> None:
        """Forget `value` (the server refused it); a newer token is kept."""
        if self._token is not None and self._token.value == value:
            self._token = None

    def _request(self, base_url: str) -> httpx.Request:
        assert self.client_id is not None and self.client_secret is not None
        basic = httpx.BasicAuth(self.client_id, self.client_secret)
        request = httpx.Request(
            "POST",
            base_url.rstrip("/") + TOKEN_PATH,
            data={"grant_type": "client_credentials", "scope": self.scope},
            headers={"Accept": "application/json"},
        )
        return next(basic.auth_flow(request))

    def _store(self, response: httpx.Response) -> str:
        body = response.json()
        value = str(body["access_token"])
        lifetime = float(body.get("expires_in") or 3600)
        self._token = Token(value, time.monotonic() + lifetime)
        self.renewals += 1
        return value

    def sync_token(self, http: httpx.Client, base_url: str) -> str:
        if (value := self.current()) is not None:
            return value
        with self._thread_lock:
            if (value := self.current()) is not None:
                return value
            for attempt in range(self.retry.max_retries + 1):
                try:
                    response = http.send(self._request(base_url))
                except httpx.TransportError as exc:
                    if attempt == self.retry.max_retries:
                        raise errors.APIConnectionError(f"token request failed: {exc}") from exc
                    time.sleep(self.retry.delay(attempt))
                    continue
                if response.is_success:
                    return self._store(response)
                if attempt == self.retry.max_retries or not retryable_status(
                    response, idempotent=True
                ):
                    raise status_error(response)
                time.sleep(self.retry.delay(attempt, response))
        raise AssertionError("unreachable")

    async def async_token(self, http: httpx.AsyncClient, base_url: str) -> str:
        if (value := self.current()) is not None:
            return value
        loop = id(asyncio.get_running_loop())
        lock = self._async_locks.setdefault(loop, asyncio.Lock())
        async with lock:
            if (value := self.current()) is not None:
                return value
            for attempt in range(self.retry.max_retries + 1):
                try:
                    response = await http.send(self._request(base_url))
                except httpx.TransportError as exc:
                    if attempt == self.retry.max_retries:
                        raise errors.APIConnectionError(f"token request failed: {exc}") from exc
                    await asyncio.sleep(self.retry.delay(attempt))
                    continue
                if response.is_success:
                    return self._store(response)
                if attempt == self.retry.max_retries or not retryable_status(
                    response, idempotent=True
                ):
                    raise status_error(response)
                await asyncio.sleep(self.retry.delay(attempt, response))
        raise AssertionError("unreachable")
