"""The first start of `emmaus serve` prints `export CLIENT_ID=... CLIENT_SECRET=...` lines and a
token one-liner; pasted into bash they work against the live server. On a wrong secret (or no
server) the one-liner prints the server's error and fails, never a Python traceback with an
empty $TOKEN."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from emmaus.api.app import create_app
from emmaus.cli import main
from emmaus.cli.banner import base_url, token_command
from emmaus.config import Settings
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.support.live_server import live_server

CATALOG = """
[[models]]
id = "echo"
family = "openai"
tier = 1
provider = "openai"
base_url = "{base}"
upstream_model = "echo"
context_window = 32000
capabilities = ["streaming"]
"""

pytestmark = pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(tokens=8, token_size=4) as handle:
        yield handle


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, upstream: UpstreamHandle
) -> Iterator[tuple[Settings, str]]:
    data = tmp_path_factory.mktemp("first-start")
    catalog = data / "models.toml"
    catalog.write_text(CATALOG.format(base=upstream.base_url))
    settings = Settings(data_dir=data, models=catalog, upstream_retries=0)
    with live_server(create_app(settings)) as url:
        yield settings, url


def bash(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )


@pytest.fixture(scope="module")
def banner(served: tuple[Settings, str], capsys_module: pytest.CaptureFixture[str]) -> str:
    settings, url = served
    port = int(url.rsplit(":", 1)[1])
    main._print_first_client(settings, "0.0.0.0", port)  # as `emmaus serve` on its first start
    printed = capsys_module.readouterr().out
    main._print_first_client(settings, "0.0.0.0", port)  # the second start prints nothing
    assert capsys_module.readouterr().out == ""
    return printed


@pytest.fixture(scope="module")
def capsys_module(request: pytest.FixtureRequest) -> Iterator[pytest.CaptureFixture[str]]:
    from _pytest.capture import CaptureFixture, SysCapture

    capture = CaptureFixture(SysCapture, request.config, _ispytest=True)
    capture._start()
    try:
        yield capture
    finally:
        capture.close()


def test_the_banner_exports_the_credentials(banner: str) -> None:
    assert banner.lstrip().startswith("Created your first API client")
    [exports] = re.findall(r"^export CLIENT_ID=emc_[\w-]+ CLIENT_SECRET=\S+$", banner, re.M)
    shown = bash(f'{exports}\necho "$CLIENT_ID|${{#CLIENT_SECRET}}"').stdout.strip()
    client_id, length = shown.split("|")
    assert client_id.startswith("emc_") and int(length) >= 32
    assert f"client id:     {client_id}" in banner


def test_the_banner_pasted_into_bash_answers(banner: str, served: tuple[Settings, str]) -> None:
    _, url = served
    shell = banner[banner.index("export CLIENT_ID") :]
    assert f"BASE={url}\n{token_command()}\n" in shell  # the line the README and auth.md show
    commands = "\n".join(line for line in shell.splitlines() if not line.startswith("Paste"))
    ran = bash(commands)
    assert ran.returncode == 0, ran.stderr
    answer = orjson.loads(ran.stdout)
    assert answer["choices"][0]["message"]["content"] == "What is grace?"  # echo upstream


def test_a_wrong_secret_prints_the_error_and_fails(
    banner: str, served: tuple[Settings, str]
) -> None:
    _, url = served
    client_id = re.search(r"^export CLIENT_ID=(\S+) ", banner, re.M).group(1)  # type: ignore[union-attr]
    ran = bash(
        f"export CLIENT_ID={client_id} CLIENT_SECRET=wrong\nBASE={url}\n"
        f'{token_command()}\nstatus=$?\necho "status=$status token=[$TOKEN]"'
    )
    assert ran.stdout.strip() == "status=1 token=[]"
    assert ran.stderr.startswith("token refused: {")
    assert '"error": "invalid_client"' in ran.stderr
    assert "Traceback" not in ran.stderr and "KeyError" not in ran.stderr


def test_no_server_prints_that_and_fails(tmp_path: Path) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    ran = bash(
        "export CLIENT_ID=emc_x CLIENT_SECRET=y\n"
        f'{token_command(base_url("127.0.0.1", port))} && echo got || echo "failed $?"'
    )
    assert ran.stdout.strip() == "failed 1"
    assert "no answer from the server" in ran.stderr and "Traceback" not in ran.stderr
