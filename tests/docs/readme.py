"""The code blocks of the README and of the docs/ pages, by section, and a way to run them as a
new user would: a live server on the default catalog, `CLIENT_ID` and `CLIENT_SECRET` exported,
the documented base URL pointed at that server.

A block's section is the `## ` heading above it (the page's `# ` title before the first one).
Blocks fenced `sh`, `bash` or `python` are examples, and a test under `tests/docs/` runs each of
them (`test_docs_coverage.py` fails for one that no test runs); other fences are samples
(output, JSON bodies, TOML files) and say so by their language."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCUMENTED_BASE = "http://127.0.0.1:8000"
# The README and the reference pages it sends readers to: their examples are run by tests.
PAGES = [README] + [
    REPO / "docs" / name
    for name in ("v1.md", "v2.md", "configuration.md", "library.md", "auth.md", "migration.md")
]
RUNNABLE = ("sh", "bash", "python")
TOKEN_READER = re.compile(r"\| (python3 -c '.*access_token.*')\)$", re.M)
_FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    section: str
    language: str
    code: str

    @property
    def runnable(self) -> bool:
        return self.language in RUNNABLE


def fenced(path: Path = README) -> list[Block]:
    """Every fenced block of a Markdown page, with its section and language ("" when none)."""
    blocks: list[Block] = []
    section, language, lines = "", None, []
    for line in path.read_text().splitlines():
        fence = _FENCE.match(line)
        if language is None:
            if fence:
                language, lines = fence.group(1), []
            elif line.startswith("## "):
                section = line[3:].strip()
            elif line.startswith("# ") and not section:
                section = line[2:].strip()
        elif line.startswith("```"):
            blocks.append(Block(section, language, "\n".join(lines) + "\n"))
            language = None
        else:
            lines.append(line)
    assert language is None, f"{path.name}: a code fence is never closed"
    return blocks


def blocks(title: str, path: Path = README) -> list[tuple[str, str]]:
    """(language, code) of each sh, bash and python block of a section, in order."""
    assert f"\n## {title}\n" in path.read_text(), f"{path.name} has no section {title!r}"
    return [(b.language, b.code) for b in fenced(path) if b.section == title and b.runnable]


def token_readers() -> set[str]:
    """The `| python3 -c '...'` parts of the shell examples' token lines."""
    return {
        reader
        for page in PAGES
        for block in fenced(page)
        if block.language in ("sh", "bash")
        for reader in TOKEN_READER.findall(block.code)
    }


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
    language: str,
    code: str,
    base_url: str,
    env: dict[str, str],
    cwd: Path | None = None,
    *,
    check: bool = True,
) -> str:
    """Run one block as written (only the base URL swapped), in `cwd`; its stdout, or the test
    fails (with `check=False`, stdout and stderr whatever the exit status)."""
    done = run_code(language, code.replace(DOCUMENTED_BASE, base_url), env, cwd)
    if not check:
        return done.stdout + done.stderr
    assert done.returncode == 0, f"{language} block failed:\n{code}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def run_code(
    language: str, code: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    if language == "python":
        command = [sys.executable, "-c", code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", code]
    return subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=600, cwd=cwd
    )


def link_venv(workdir: Path) -> Path:
    """Make `workdir` look like a checkout for the examples' `.venv/bin/emmaus ...` lines: a
    link to the repository's virtualenv (files the examples write stay in `workdir`)."""
    venv = workdir / ".venv"
    if not venv.exists():
        venv.symlink_to(REPO / ".venv", target_is_directory=True)
    return workdir
