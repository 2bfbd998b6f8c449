"""Debian's Chromium driven by Playwright through `executable_path` (never a downloaded
browser): its path, and a headless browser for a test module. Without the browser a test
skips, and fails under `CI=true` (`make system-packages` installs it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("EMMAUS_TEST_CHROMIUM", "/usr/bin/chromium")


def require_chromium() -> str:
    """The browser's path; without it the test skips, and fails under CI=true."""
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    message = f"{CHROMIUM} is missing (make system-packages installs Debian's chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def headless_chromium(path: str | None = None) -> Iterator[Any]:
    """A launched headless Chromium (a Playwright `Browser`), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path or require_chromium(),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield launched
        finally:
            launched.close()
