"""Shared benchmark plumbing: start Emmaus as a real `emmaus serve` process, drive HTTP load,
summarise latencies."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up")


@dataclass
class Emmaus:
    base_url: str
    token: str
    pid: int | None = None
    data_dir: Path | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextmanager
def serve_emmaus(catalog_toml: str, extra_env: dict[str, str] | None = None) -> Iterator[Emmaus]:
    """`emmaus serve` in a subprocess on a fresh data dir, with one client and its token."""
    data = Path(tempfile.mkdtemp(prefix="emmaus-bench-"))
    (data / "models.toml").write_text(catalog_toml)
    port = free_port()
    env = {
        **os.environ,
        "EMMAUS_DATA_DIR": str(data),
        "EMMAUS_MODELS": str(data / "models.toml"),
        "EMMAUS_LOG_LEVEL": "warning",
        "EMMAUS_RATE_LIMIT_RPM": "100000000",
        "EMMAUS_RATE_LIMIT_TPM": "100000000000",
        **(extra_env or {}),
    }
    emmaus = str(VENV_BIN / "emmaus")
    created = subprocess.run(
        [emmaus, "clients", "create", "--name", "bench", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    credentials = json.loads(created.stdout)
    process = subprocess.Popen(
        [emmaus, "serve", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health")
        token = httpx.post(
            f"{base}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials["client_id"], credentials["client_secret"]),
        ).json()["access_token"]
        yield Emmaus(base, token, process.pid, data)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(data, ignore_errors=True)


@dataclass
class Run:
    latencies_ms: list[float]
    errors: int
    wall_s: float
    cpu_s: float | None = None  # CPU time (user + system) the server process spent in the run

    @property
    def cpu_ms_per_request(self) -> float | None:
        """Server CPU per answered request: unlike wall-clock rates, barely moved by other
        load on the machine."""
        if self.cpu_s is None or not self.latencies_ms:
            return None
        return self.cpu_s * 1000 / len(self.latencies_ms)

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.wall_s if self.wall_s else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


async def drive(
    call: Callable[[aiohttp.ClientSession], Awaitable[float]],
    *,
    concurrency: int,
    requests: int,
    warmup: int = 20,
    pid: int | None = None,
) -> Run:
    """Run `requests` calls with `concurrency` workers; `call` returns the latency to record.
    With `pid`, the CPU time that process spent during the run is recorded too.
    The load generator uses aiohttp: it costs a quarter of httpx's CPU per call, and on two
    cores the generator's CPU is taken from the servers being measured."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        for _ in range(warmup):
            await call(client)
        latencies: list[float] = []
        errors = 0
        remaining = requests

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                try:
                    latencies.append(await call(client))
                except Exception:
                    errors += 1

        cpu_before = _cpu_seconds(pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
        cpu_after = _cpu_seconds(pid)
        cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        return Run(latencies, errors, wall, cpu)


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process and its children (LiteLLM's worker is one)."""
    if pid is None:
        return None
    import psutil

    try:
        process = psutil.Process(pid)
        total = 0.0
        for each in [process, *process.children(recursive=True)]:
            times = each.cpu_times()
            total += times.user + times.system
        return total
    except psutil.Error:
        return None


# LiteLLM, the reference gateway. It pins openai<3 while Emmaus' tests use openai 3, so it
# lives in its own venv, created on first use. The version is pinned so runs compare alike.
LITELLM_VERSION = "1.106.0"
LITELLM_VENV = Path(__file__).parent / ".venv-litellm"
LITELLM_KEY = "sk-bench-master"
LITELLM_CONFIG = """
model_list:
  - model_name: bench-model
    litellm_params:
      model: openai/{model}
      api_base: {base}
      api_key: sk-upstream
litellm_settings:
  set_verbose: false
  json_logs: false
  turn_off_message_logging: true
  drop_params: true
  telemetry: false
general_settings:
  master_key: {key}
  disable_spend_logs: true
  disable_error_logs: true
"""


# The same HTTP stack as `emmaus serve`: uvicorn picks httptools and uvloop when installed, so
# LiteLLM's proxy (uvicorn too) gets them in its venv; `serve_litellm` checks they are there.
SAME_STACK = ("httptools>=0.6", "uvloop>=0.19")


def ensure_litellm() -> Path:
    """The `litellm` proxy executable, installing the pinned version into its venv if absent."""
    executable = LITELLM_VENV / "bin" / "litellm"
    marker = LITELLM_VENV / f".litellm-{LITELLM_VERSION}-httptools"
    if not marker.exists():
        if not (LITELLM_VENV / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run(
            [
                str(LITELLM_VENV / "bin" / "pip"),
                "install",
                "--quiet",
                f"litellm[proxy]=={LITELLM_VERSION}",
                *SAME_STACK,
            ],
            check=True,
        )
        marker.touch()
    return executable


@dataclass
class Gateway:
    """A server under test: where to post chat completions, with which model and headers."""

    name: str
    url: str
    model: str
    headers: dict[str, str]
    pid: int | None = None


@contextmanager
def serve_litellm(upstream_base: str, upstream_model: str = "fixed") -> Iterator[Gateway]:
    """The LiteLLM proxy (one worker, logging off) with `bench-model` pointing at the upstream
    as an OpenAI-compatible model; authenticated with a master key, as Emmaus is with tokens."""
    executable = ensure_litellm()
    # uvicorn (LiteLLM runs it with uvloop) takes httptools when it can import it: make sure.
    subprocess.run(
        [str(LITELLM_VENV / "bin" / "python"), "-c", "import httptools, uvloop"], check=True
    )
    workdir = Path(tempfile.mkdtemp(prefix="litellm-bench-"))
    config = workdir / "config.yaml"
    config.write_text(
        LITELLM_CONFIG.format(model=upstream_model, base=upstream_base, key=LITELLM_KEY)
    )
    port = free_port()
    env = {
        **os.environ,
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the price list at start
        "DISABLE_ADMIN_UI": "True",
        "NO_DOCS": "True",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [
            str(executable),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            "1",
            "--telemetry",
            "False",
        ],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health/liveliness", timeout=180)
        yield Gateway(
            "litellm",
            f"{base}/v1/chat/completions",
            "bench-model",
            {"Authorization": f"Bearer {LITELLM_KEY}"},
            process.pid,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
