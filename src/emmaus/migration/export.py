"""Pulling chat histories out of a v1 endpoint (Gloo's platform or another Emmaus): one
`GET /ai/v1/chat?chat_id=` per chat (`tree=true` on an Emmaus, for every branch), with an OAuth2
token renewed before it expires and once on a 401, and retries as `retry.RetryPolicy` says."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from emmaus.migration.readers.v1 import parse_record
from emmaus.migration.retry import RETRYABLE_STATUS, RetryPolicy, budget_wait
from emmaus.migration.source import SourceError

GLOO = "https://platform.ai.gloo.com"
RENEW_BEFORE = 60.0  # seconds before expiry a token is renewed


class ExportAuthError(Exception):
    """The token endpoint refused the credentials: nothing can be exported."""


@dataclass(slots=True)
class Fetched:
    chat_id: str
    record: dict[str, Any] | None  # the history, as the server sent it
    error: str | None = None  # why not, after the retries
    retries: int = 0


class V1Exporter:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        tree: bool = False,
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[str, float, str], None] | None = None,
    ) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self.credentials = (client_id, client_secret)
        self.tree = tree
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.on_wait = on_wait  # (chat id, seconds, why): for the progress display
        self._token: str | None = None
        self._expires = 0.0
        self._budget_back = 0.0  # monotonic time the server's request budget is back

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> V1Exporter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def token(self, *, renew: bool = False) -> str:
        if self._token and not renew and time.monotonic() < self._expires - RENEW_BEFORE:
            return self._token
        for attempt in range(self.policy.retries + 1):
            try:
                response = self.http.post(
                    "/oauth2/token",
                    data={"grant_type": "client_credentials", "scope": "api/access"},
                    auth=self.credentials,
                )
            except httpx.TransportError as exc:
                if attempt == self.policy.retries:
                    raise ExportAuthError(f"token request failed: {exc!r}") from exc
                self._wait("token", self.policy.delay(attempt, None), repr(exc))
                continue
            if response.status_code in RETRYABLE_STATUS and attempt < self.policy.retries:
                self._wait("token", self.policy.delay(attempt, response), _why(response))
                continue
            if response.status_code != 200:
                raise ExportAuthError(f"token request failed: HTTP {response.status_code}")
            body = response.json()
            self._token = str(body["access_token"])
            self._expires = time.monotonic() + float(body.get("expires_in") or 3600)
            return self._token
        raise ExportAuthError("token request failed")  # pragma: no cover - loop returns

    def fetch(self, chat_id: str) -> Fetched:
        params: dict[str, str] = {"chat_id": chat_id}
        if self.tree:
            params["tree"] = "true"
        renewed = False
        attempt = 0
        while True:
            pause = self._budget_back - time.monotonic()
            if pause > 0:
                self._wait(chat_id, min(pause, self.policy.max_wait), "no request budget left")
            try:
                response = self.http.get(
                    "/ai/v1/chat",
                    params=params,
                    headers={"Authorization": f"Bearer {self.token()}"},
                )
            except httpx.TransportError as exc:
                if attempt >= self.policy.retries:
                    return Fetched(chat_id, None, f"{exc!r}", attempt)
                self._wait(chat_id, self.policy.delay(attempt, None), repr(exc))
                attempt += 1
                continue
            if response.status_code == 401 and not renewed:
                renewed = True  # the token may have been revoked or expired early: once more
                self.token(renew=True)
                continue
            if response.status_code in RETRYABLE_STATUS and attempt < self.policy.retries:
                self._wait(chat_id, self.policy.delay(attempt, response), _why(response))
                attempt += 1
                continue
            budget = budget_wait(response)
            if budget is not None:
                self._budget_back = time.monotonic() + budget
            if response.status_code != 200:
                return Fetched(chat_id, None, f"HTTP {response.status_code}", attempt)
            try:
                record = response.json()
                parse_record(record)
            except (ValueError, SourceError) as exc:
                return Fetched(chat_id, None, f"not a v1 chat history: {exc}", attempt)
            return Fetched(chat_id, record, None, attempt)

    def _wait(self, chat_id: str, seconds: float, why: str) -> None:
        if self.on_wait is not None:
            self.on_wait(chat_id, seconds, why)
        self.sleep(seconds)


def _why(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}"
