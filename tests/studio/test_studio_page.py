"""Emmaus Studio's page and assets over plain HTTP (no browser): security headers on every
answer, nothing inline, nothing from another origin, gzip and ETags, and the API left in place."""

from __future__ import annotations

import re

import httpx

from emmaus.api.common.static_files import package_asset, package_files


def test_page_is_served_with_a_strict_policy_and_nothing_from_elsewhere(studio_url: str) -> None:
    page = httpx.get(studio_url + "/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    html = page.text
    assert "<script>" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    assert not re.search(r"""(src|href)=["']https?://""", html)
    script = httpx.get(studio_url + "/studio/app.js", headers={"Accept-Encoding": "gzip"})
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["content-encoding"] == "gzip"
    assert script.headers["content-security-policy"] == csp
    again = httpx.get(
        studio_url + "/studio/app.js", headers={"If-None-Match": script.headers["etag"]}
    )
    assert again.status_code == 304
    assert httpx.get(studio_url + "/studio/nothing.js").status_code == 404
    assert httpx.get(studio_url + "/studio/..%2Fapp.py").status_code in (404, 422)
    # The API routes stay where they are.
    assert httpx.get(studio_url + "/platform/v2/models").status_code == 200
    paths = httpx.get(studio_url + "/openapi.json").json()["paths"]
    assert "/ai/v1/chat/page" in paths and "/" not in paths and "/studio/{name}" not in paths


def test_no_asset_loads_anything_from_elsewhere_or_writes_html() -> None:
    names = package_files("emmaus.api.studio")
    for name in names:
        text = package_asset("emmaus.api.studio", name).body.decode()
        # The only absolute URL is the SVG namespace (an identifier, never fetched).
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text)) - {"http://www.w3.org/2000/svg"}
        assert urls == set(), (name, urls)
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, (name, sink)
    assert {"index.html", "app.js", "markdown.js", "studio.css"} <= names
