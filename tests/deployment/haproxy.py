"""HAProxy from Debian's package in front of `emmaus serve` instances, for the deployment tests.

`haproxy_config` renders the configuration that `docs/deployment.md` recommends (the same
directives; only the addresses differ), plus a statistics listener the test reads to know which
servers HAProxy counts as up. `run_haproxy` starts it in the foreground and stops it after."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.databases import service_unavailable

# The part docs/deployment.md shows: no response buffering is HAProxy's default (it forwards
# each chunk as it comes; nothing here compresses or buffers), `http-no-delay` sends small SSE
# events at once, `timeout server` bounds the silence inside a stream, not its length, and only
# a connection that failed before the request was sent is retried elsewhere (a POST that
# reached an instance may have started a turn: never send it twice).
PROXY = """\
defaults
    mode http
    option http-no-delay
    option forwardfor
    option redispatch 1
    retries 3
    retry-on conn-failure
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout queue 10s

frontend emmaus
    bind {bind}
    default_backend emmaus

backend emmaus
    balance leastconn
    option httpchk
    http-check send meth GET uri /readyz
    http-check expect status 200
    default-server check inter 1s fastinter 250ms downinter 1s fall 2 rise 2
{servers}
"""

STATS = """
listen stats
    bind 127.0.0.1:{port}
    stats enable
    stats uri /stats
"""


def haproxy_config(
    bind: str, servers: dict[str, str], *, stats_port: int | None = None, tag: bool = False
) -> str:
    """The configuration for `servers` (name -> `host:port`). `tag` names the answering
    server in an `X-Served-By` response header (the test's way to know who answered)."""
    lines = [f"    server {name} {address}" for name, address in servers.items()]
    if tag:
        lines.insert(0, "    http-response set-header X-Served-By %s")
    text = "global\n    maxconn 4096\n\n" + PROXY.format(bind=bind, servers="\n".join(lines))
    if stats_port is not None:
        text += STATS.format(port=stats_port)
    return text


def haproxy_binary() -> str:
    """The haproxy executable (skips locally, fails under CI=true, when it is missing)."""
    found = shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/bin/haproxy") if Path(p).exists()), None
    )
    if found is None:
        service_unavailable("haproxy (make system-packages)", FileNotFoundError("haproxy"))
    assert found is not None
    return found


def check_config(path: Path) -> subprocess.CompletedProcess[str]:
    """`haproxy -c`: parse and validate a configuration file without starting."""
    return subprocess.run(
        [haproxy_binary(), "-c", "-q", "-f", str(path)], capture_output=True, text=True, timeout=30
    )


@dataclass
class Proxy:
    url: str
    stats_url: str
    process: subprocess.Popen[bytes]

    def server_states(self) -> dict[str, str]:
        """HAProxy's view of each backend server: `UP`, `DOWN`, `UP 1/2`, ..."""
        text = httpx.get(f"{self.stats_url};csv", timeout=5).text.lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            row["svname"]: row["status"]
            for row in rows
            if row["pxname"] == "emmaus" and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def wait_until(self, wanted: dict[str, str], within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while True:
            states = self.server_states()
            if all(states.get(name) == state for name, state in wanted.items()):
                return
            assert self.process.poll() is None, "haproxy exited"
            assert time.monotonic() < deadline, f"haproxy sees {states}, not {wanted}"
            time.sleep(0.1)


@contextmanager
def run_haproxy(
    folder: Path, port: int, stats_port: int, servers: dict[str, str]
) -> Iterator[Proxy]:
    config = folder / "haproxy.cfg"
    config.write_text(haproxy_config(f"127.0.0.1:{port}", servers, stats_port=stats_port, tag=True))
    checked = check_config(config)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    log = (folder / "haproxy.log").open("wb")
    process = subprocess.Popen(
        [haproxy_binary(), "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    proxy = Proxy(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{stats_port}/stats", process)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                proxy.server_states()
                break
            except httpx.TransportError:
                assert process.poll() is None, (folder / "haproxy.log").read_text()
                assert time.monotonic() < deadline, "haproxy did not start"
                time.sleep(0.05)
        yield proxy
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
