"""`/docs` and `/redoc` work offline: every script, style sheet and icon the pages reference
is served by Emmaus itself (from the `fastapi-offline` package's files), with a CSP that allows
nothing else; and the OpenAPI document declares the OAuth2 client-credentials scheme with each
route's requirement."""

from __future__ import annotations

import re

import httpx
import pytest

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
URL_IN_SCRIPT = re.compile(r"https?://")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_page_references_only_local_assets(base_url: str, page: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        html = client.get(page)
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
        csp = html.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "connect-src 'self'" in csp
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert html.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in html.text  # nothing inline: the CSP forbids it

        references = REFERENCE.findall(html.text)
        assert len(references) >= 3
        for reference in references:
            assert reference.startswith("/") and not reference.startswith("//"), reference
            asset = client.get(reference)
            assert asset.status_code == 200, reference
            kind = asset.headers["content-type"]
            assert kind.split(";")[0] in {"text/javascript", "text/css", "image/png"}, kind
            if reference.endswith("-init.js"):  # our start-up scripts name no other host
                assert not URL_IN_SCRIPT.search(asset.text)
                assert '"/openapi.json"' in asset.text


def test_assets_are_cached_and_compressed(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        bundle = client.get("/docs/assets/swagger-ui-bundle.js")
        assert bundle.status_code == 200 and bundle.headers["content-encoding"] == "gzip"
        assert len(bundle.content) > 500_000  # the real Swagger UI, not a stub
        again = client.get(
            "/docs/assets/swagger-ui-bundle.js", headers={"If-None-Match": bundle.headers["etag"]}
        )
        assert again.status_code == 304
        assert client.get("/docs/assets/../../etc/passwd").status_code == 404
        assert client.get("/docs/assets/nothing.js").status_code == 404


def test_the_swagger_init_turns_off_the_outside_validator(base_url: str) -> None:
    init = httpx.get(f"{base_url}/docs/assets/swagger-init.js").text
    assert "validatorUrl: null" in init


def test_openapi_declares_client_credentials_and_each_routes_needs(base_url: str) -> None:
    schema = httpx.get(f"{base_url}/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["oauth2"]
    assert scheme["type"] == "oauth2"
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth2/token"
    assert set(flow["scopes"]) == {"api/access", "admin"}

    paths = schema["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            security = operation["security"]  # every operation says what it needs
            if path.startswith("/ai/"):
                assert security == [{"oauth2": ["api/access"]}], (method, path)
                assert "**Needs** a bearer token with `api/access`" in operation["description"]
    assert paths["/metrics"]["get"]["security"] == [{"oauth2": ["admin"]}]
    assert paths["/platform/v2/models"]["get"]["security"] == []
    assert "**Public**" in paths["/platform/v2/models"]["get"]["description"]
    assert paths["/oauth2/token"]["post"]["security"] == []
    assert paths["/platform/v2/usage"]["get"]["security"] == [{"oauth2": []}]


def test_a_scripted_token_request_gets_no_basic_challenge(base_url: str) -> None:
    """A browser pops up its own login box on a 401 with a Basic challenge; Swagger UI's
    "Authorize" (X-Requested-With: XMLHttpRequest) reads the 401 itself instead."""
    form = {"grant_type": "client_credentials"}
    wrong = ("emc_nobody", "wrong")
    plain = httpx.post(f"{base_url}/oauth2/token", data=form, auth=wrong)
    assert plain.status_code == 401 and plain.headers["www-authenticate"].startswith("Basic")
    scripted = httpx.post(
        f"{base_url}/oauth2/token",
        data=form,
        auth=wrong,
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert scripted.status_code == 401 and "www-authenticate" not in scripted.headers
    assert scripted.json()["error"] == "invalid_client"
