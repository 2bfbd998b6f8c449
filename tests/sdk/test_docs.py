"""Every python block of docs/sdk.md and of the SDK's README runs as written (only the base
URL swapped) against the live Emmaus, each in a fresh directory, with `CLIENT_ID` and
`CLIENT_SECRET` exported; what they print is checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.readme import run_block
from tests.sdk.servers import Server

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "sdk.md"
README = ROOT / "sdk" / "python" / "README.md"
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
_SECTION = re.compile(r"^## (.+)$", re.M)


def python_blocks(path: Path) -> dict[str, list[str]]:
    """The python blocks of each `## ` section."""
    text = path.read_text()
    found: dict[str, list[str]] = {}
    heads = list(_SECTION.finditer(text))
    for head, following in zip(heads, [*heads[1:], None], strict=True):
        body = text[head.end() : following.start() if following else None]
        if blocks := _BLOCK.findall(body):
            found[head.group(1)] = blocks
    return found


def run(server: Server, code: str, cwd: Path) -> list[str]:
    env = {"CLIENT_ID": server.client_id, "CLIENT_SECRET": server.client_secret}
    return run_block("python", code, server.base_url, env, cwd=cwd).splitlines()


EXPECTED = {
    "Connecting": lambda out: out[1].startswith("auto_routing tier_") and out[2] == "True none",
    "Completions v2": lambda out: out[0] == "model_family" and out[-1].startswith("stop tier_"),
    "Grounded completions": lambda out: (
        out[0] == "True ['Sourdough notes']" and out[1].startswith("Sourdough rises")
    ),
    "The v1 Chat API": lambda out: (
        out == ["c True", "True", "['user', 'kallm', 'user', 'kallm']", "404 CHAT_NOT_FOUND"]
    ),
    "Responses and Conversations": lambda out: (
        out == ["completed True", "True", "True", "['user', 'assistant']"]
    ),
    "Async": lambda out: out == ["2 1", "MessageResponse"],
    "The OpenAI SDK": lambda out: out == ["auto_routing", "completed"],
    "Errors": lambda out: out == ["422 ROUTING_RULE"],
    "Client-managed storage": lambda out: out == ["[(1, 'user'), (2, 'assistant')]", "2 system"],
    "ChatService": lambda out: out == ["new 4", "6"],
    "Gradual roll-out and shadow mode": lambda out: (
        out[0] == "new shadow" and out[-1] == "shadow True True"
    ),
}


def test_every_section_with_code_is_checked() -> None:
    assert set(python_blocks(DOCS)) == set(EXPECTED)


@pytest.mark.parametrize("section", sorted(EXPECTED))
def test_docs_example(server: Server, section: str, tmp_path: Path) -> None:
    [code] = python_blocks(DOCS)[section]
    out = run(server, code, tmp_path)
    assert EXPECTED[section](out), out


def test_readme_examples(server: Server, tmp_path: Path) -> None:
    client, storage = python_blocks(README)["Quick start"]
    out = run(server, client, tmp_path)
    assert out[0].endswith(("tier_1", "tier_2", "tier_3")) and out[-1] == "kallm"
    assert run(server, storage, tmp_path) == ["old 2"]


@pytest.mark.parametrize("page", [DOCS, README], ids=lambda p: p.name)
def test_every_link_leads_somewhere(page: Path) -> None:
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links to {target}, which does not exist"
        if anchor:
            headings = [
                re.sub(r"[^\w\- ]", "", h.lstrip("#").strip().lower()).replace(" ", "-")
                for h in linked.read_text().splitlines()
                if h.startswith("## ")
            ]
            assert anchor in headings, f"{page.name} links to {target}: no such heading"
