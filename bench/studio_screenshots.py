"""Screenshots of Emmaus Studio's main views into docs/img/studio-*.png, and the numbers the
Studio docs quote: the page's asset sizes (bytes, gzip) and how long a 10,000-message chat takes
to show its newest turns in a freshly loaded tab.

    .venv/bin/python -m bench.studio_screenshots [--no-shots] [--runs 5]

Runs the real app on loopback against the scripted upstream (tests/studio/support.py) and
Debian's Chromium, headless. Results go to bench/results/studio.json."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from tests.studio.support import CHROMIUM, new_credentials, seed_long_chat, studio_settings
from tests.support.live_server import live_server

from emmaus.api.app import create_app
from emmaus.api.common.static_files import package_asset, package_files
from emmaus.testing import serve_upstream

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
RESULTS = ROOT / "bench" / "results" / "studio.json"

PSALM = """# Psalm 23, a note for the study group

The Lord is my shepherd; I shall not want. He maketh me to lie down in green pastures: he
leadeth me beside the still waters. The psalm moves from the shepherd's care (the pastures, the
still waters) to the host's table, prepared "in the presence of mine enemies".

The valley of the shadow of death is walked through, not around: "I will fear no evil: for thou
art with me; thy rod and thy staff they comfort me."
"""


def asset_sizes() -> dict[str, dict[str, int]]:
    studio = "emmaus.api.studio"
    found = {name: package_asset(studio, name) for name in sorted(package_files(studio))}
    sizes = {
        name: {"bytes": len(a.body), "gzip": len(a.gzipped or a.body)} for name, a in found.items()
    }
    sizes["total"] = {
        "bytes": sum(s["bytes"] for s in sizes.values()),
        "gzip": sum(s["gzip"] for s in sizes.values()),
    }
    return sizes


def wait_idle(page: Any) -> None:
    page.wait_for_selector("#stop", state="hidden", timeout=30_000)
    page.wait_for_function("() => !document.querySelector('#messages .streaming')")


def send(page: Any, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Enter")
    wait_idle(page)


def sign_in(page: Any, url: str, creds: Any) -> None:
    page.goto(url + "/")
    page.get_by_label("Client ID").fill(creds.client_id)
    page.get_by_label("Client secret").fill(creds.secret)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="New chat").wait_for()


def shoot(page: Any, name: str) -> None:
    page.wait_for_timeout(250)
    page.screenshot(path=str(IMG / f"studio-{name}.png"))
    print(f"docs/img/studio-{name}.png")


def screenshots(browser: Any, url: str, settings: Any) -> None:
    creds = new_credentials(settings, "screenshots")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    page = context.new_page()
    page.goto(url + "/")
    page.get_by_label("Client ID").fill(creds.client_id)
    shoot(page, "signin")
    page.get_by_label("Client secret").fill(creds.secret)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="New chat").wait_for()

    page.get_by_role("link", name="Library").click()
    with tempfile.TemporaryDirectory() as folder:
        note = Path(folder) / "psalm-23-notes.md"
        note.write_text(PSALM)
        page.get_by_label("Publisher", exact=True).fill("study-group")
        page.get_by_label("Citation link").fill("https://example.org/psalm-23")
        page.get_by_label("Files").set_input_files(str(note))
        page.wait_for_selector("#uploads li.done", timeout=60_000)
    page.locator("#documents tbody tr").first.wait_for()
    shoot(page, "library")

    page.get_by_role("link", name="Chat").click()
    send(page, "What does Psalm 23 say about the still waters and the valley?")
    send(page, "Thank you! Could you put the **valley** verse in one short sentence?")
    page.locator("#messages details.routing summary").last.click()
    page.locator("#scroller").evaluate("s => { s.scrollTop = s.scrollHeight; }")
    shoot(page, "chat")

    page.get_by_role("button", name="New chat").click()
    send(page, "Who wrote the letter to the Romans?")
    send(page, "Where was he when he wrote it?")
    second = page.locator('#messages [data-role="user"]').nth(1)
    second.get_by_role("button", name="Edit question").click()
    page.get_by_label("Edited question").fill("When did he write it?")
    page.get_by_role("button", name="Save and ask").click()
    wait_idle(page)
    page.locator('#messages [data-role="assistant"]').last.get_by_role(
        "button", name="Regenerate answer"
    ).click()
    wait_idle(page)
    shoot(page, "branching")

    send(page, "I feel so hopeless, I want to end my life")
    page.locator("#messages [data-role=user]").last.scroll_into_view_if_needed()
    page.locator("#messages [data-role=user]").last.evaluate("e => e.scrollIntoView()")
    shoot(page, "crisis")

    page.get_by_role("link", name="Usage").click()
    page.wait_for_timeout(1500)  # the usage ledger is written in batches (about a second)
    page.reload()
    page.locator("#usage-models tbody tr").first.wait_for()
    shoot(page, "usage")

    page.get_by_role("link", name="Chat").click()
    page.locator("#chat-list li.chat-item", has_text="Psalm").locator("a").click()
    page.wait_for_selector('#messages [data-role="assistant"]')
    page.get_by_role("button", name="Dark theme").click()
    shoot(page, "dark")
    context.close()

    phone = browser.new_context(
        viewport={"width": 390, "height": 780}, device_scale_factor=2, is_mobile=True
    )
    page = phone.new_page()
    sign_in(page, url, creds)
    psalm = page.locator("#chat-list li.chat-item", has_text="Psalm").get_attribute("data-id")
    page.goto(f"{url}/#/chat/{psalm}")
    page.wait_for_selector('#messages [data-role="assistant"]')
    shoot(page, "phone")
    page.get_by_role("button", name="Chats").click()
    shoot(page, "phone-chats")
    phone.close()


def open_times(
    browser: Any, url: str, settings: Any, runs: int
) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds, for a 10,000-message chat: from navigating a new tab (signed in) until its
    newest turn is on screen (the page, its assets and the first history page); inside the
    page, from asking for the history until it is painted; and the history page's HTTP call."""
    creds = new_credentials(settings, "long-chat")
    chat_id = seed_long_chat(settings, creds.client_id, 10_000, "A 10,000-message chat")
    token = httpx.post(
        f"{url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.client_id, creds.secret),
    ).json()["access_token"]
    saved = json.dumps(
        {"clientId": creds.client_id, "token": token, "expiresAt": time.time() * 1000 + 3.6e6}
    )
    calls = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(20):
            started = time.perf_counter()
            http.get(
                "/ai/v1/chat/page", params={"chat_id": chat_id, "limit": 40}
            ).raise_for_status()
            calls.append((time.perf_counter() - started) * 1000)
    times, painted = [], []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(
            f"sessionStorage.setItem('emmaus.studio.session', {json.dumps(saved)})"
        )
        page = context.new_page()
        started = time.perf_counter()
        page.goto(f"{url}/#/chat/{chat_id}")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#messages [data-role=assistant]')]"
            ".some(e => e.textContent.includes('Answer 5000:'))"
        )
        times.append((time.perf_counter() - started) * 1000)
        page.wait_for_function("() => document.documentElement.dataset.openedMs")
        painted.append(float(page.evaluate("() => document.documentElement.dataset.openedMs")))
        context.close()
    return times, painted, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-shots", action="store_true", help="only measure")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    IMG.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as data,
        serve_upstream(tokens=8, token_size=4) as upstream,
    ):
        settings = studio_settings(Path(data), upstream)
        with live_server(create_app(settings)) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
            )
            if not args.no_shots:
                screenshots(browser, url, settings)
            times, painted, calls = open_times(browser, url, settings, args.runs)
            browser.close()
    sizes = asset_sizes()

    def summary(values: list[float]) -> dict[str, Any]:
        return {
            "runs": [round(v, 1) for v in values],
            "median": round(statistics.median(values), 1),
            "max": round(max(values), 1),
        }

    report = {
        "load_average_1m": round(os.getloadavg()[0], 1),  # the machine's load as measured
        "cpus": os.cpu_count(),
        "assets": sizes,
        "open_10000_ms": summary(times),  # new tab: navigation to the newest turns on screen
        "open_10000_in_page_ms": summary(painted),  # the history request to its paint
        "history_page_http_ms": summary(calls),  # GET /ai/v1/chat/page?limit=40
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    for name, size in sizes.items():
        print(f"{name:>14}: {size['bytes']:>7,} bytes, {size['gzip']:>6,} gzipped")
    print(f"load average {report['load_average_1m']} on {report['cpus']} CPUs")
    for key, label in (
        ("open_10000_ms", "new tab to the newest turns on screen"),
        ("open_10000_in_page_ms", "in the page, history request to paint"),
        ("history_page_http_ms", "GET /ai/v1/chat/page?limit=40"),
    ):
        found = report[key]
        print(f"10,000-message chat, {label}: median {found['median']} ms, max {found['max']} ms")


if __name__ == "__main__":
    main()
