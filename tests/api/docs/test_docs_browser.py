"""`/docs` in a real browser (Debian's chromium driven by Playwright) with every request to
another host blocked: Swagger UI renders, "Authorize" takes a client id and secret and obtains a
token by the client-credentials flow, and a protected call executed from the page succeeds.
ReDoc renders under the same blocking. Skipped without chromium, failed under CI=true."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from emmaus.config import Settings
from tests.support.auth import create_client
from tests.support.browser import headless_chromium

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as launched:
        yield launched


class Offline:
    """A page whose requests to any host but loopback are aborted and remembered, and whose
    console errors (a CSP violation, a failed load) are kept."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context()
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _route(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def offline(browser: Any) -> Iterator[Offline]:
    page = Offline(browser)
    try:
        yield page
    finally:
        page.close()


def test_authorize_then_execute_a_call_offline(
    offline: Offline, base_url: str, api_settings: Settings
) -> None:
    client_id, secret = create_client(api_settings, "swagger")
    page = offline.page
    page.goto(f"{base_url}/docs")
    page.wait_for_selector("button.authorize", timeout=30_000)
    assert page.locator(".opblock").count() > 20  # every route rendered from /openapi.json

    page.click("button.authorize")
    dialog = page.locator(".dialog-ux")
    dialog.locator("[data-name=clientId]").fill(client_id)
    dialog.locator("[data-name=clientSecret]").fill(secret)
    dialog.locator("label[for='api/access-clientCredentials-checkbox-oauth2']").click()
    with page.expect_response(lambda r: r.url.endswith("/oauth2/token")) as token:
        dialog.locator("button.modal-btn.authorize").click()
    assert token.value.status == 200
    assert "scope=api%2Faccess" in (token.value.request.post_data or "")
    dialog.locator("button:has-text('Logout')").wait_for()  # Swagger UI holds the token now
    dialog.locator("button.btn-done").click()

    operation = page.locator("#operations-catalog-list_models_ai_v2_models_get")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    with page.expect_response(lambda r: r.url.endswith("/ai/v2/models")) as call:
        operation.locator("button.execute").click()
    assert call.value.status == 200
    assert call.value.request.headers["authorization"].startswith("Bearer ")
    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    assert status.inner_text().strip() == "200"

    assert offline.blocked == []
    assert not [e for e in offline.errors if "Content Security Policy" in e], offline.errors


def test_a_wrong_secret_is_refused_in_the_dialog(
    offline: Offline, base_url: str, api_settings: Settings
) -> None:
    client_id, _ = create_client(api_settings, "swagger-wrong")
    page = offline.page
    page.goto(f"{base_url}/docs")
    page.wait_for_selector("button.authorize", timeout=30_000)
    page.click("button.authorize")
    dialog = page.locator(".dialog-ux")
    dialog.locator("[data-name=clientId]").fill(client_id)
    dialog.locator("[data-name=clientSecret]").fill("not-the-secret")
    with page.expect_response(lambda r: r.url.endswith("/oauth2/token")) as token:
        dialog.locator("button.modal-btn.authorize").click()
    assert token.value.status == 401
    # No Basic challenge for a script, so no browser login box stalls the page.
    assert "www-authenticate" not in token.value.headers
    assert "invalid_client" in dialog.locator(".errors").first.inner_text()
    assert offline.blocked == []


def test_redoc_renders_offline(offline: Offline, base_url: str) -> None:
    page = offline.page
    page.goto(f"{base_url}/redoc")
    summary = page.get_by_text("Chat completion with routing, tradition, tools and streaming")
    summary.first.wait_for(state="attached", timeout=60_000)
    assert "client_credentials" in page.locator("body").inner_text()
    assert offline.blocked == []
    # ReDoc's "API docs by Redocly" badge names its logo on Redocly's CDN: the CSP stops it
    # before any request is made, and nothing else is refused.
    refused = [e for e in offline.errors if "Content Security Policy" in e]
    assert all("cdn.redoc.ly/redoc/logo-mini.svg" in e for e in refused), refused
