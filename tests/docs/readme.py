"""The README's code blocks, by section, and a way to run them as a new user would: a live
server on the default catalog, `CLIENT_ID` and `CLIENT_SECRET` exported, the documented base
URL pointed at that server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
DOCUMENTED_BASE = "http://127.0.0.1:8000"
_BLOCK = re.compile(r"```(sh|bash|python)\n(.*?)```", re.S)


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def blocks(title: str) -> list[tuple[str, str]]:
    """(language, code) of each sh and python block of a README section, in order."""
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(section(title))]


def json_values(out: str) -> list[object]:
    """The top-level JSON objects printed one after another (curl adds no newline), skipping
    any other text such as SSE lines."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while (at := out.find("{", at)) != -1:
        if at > 0 and out[at - 1] not in "\n}":
            at += 1  # inside other text (an SSE `data: {...}` line)
            continue
        try:
            value, end = decoder.raw_decode(out, at)
        except json.JSONDecodeError:
            at += 1
            continue
        values.append(value)
        at = end
    return values


def run_block(
    language: str, code: str, base_url: str, env: dict[str, str], cwd: Path | None = None
) -> str:
    """Run one block as written (only the base URL swapped), in `cwd`; its stdout, or the test
    fails."""
    code = code.replace(DOCUMENTED_BASE, base_url)
    if language == "python":
        command = [sys.executable, "-c", code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", code]
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=600, cwd=cwd
    )
    assert done.returncode == 0, f"{language} block failed:\n{code}\n{done.stdout}\n{done.stderr}"
    return done.stdout
