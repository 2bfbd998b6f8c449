"""Every example in the README and in the reference pages it links runs in a test: each sh, bash
and python block is in a section that a module of `tests/docs/` declares in its `RUNS` (and
that module runs every block of the section); every other block is fenced as what it is
(output, JSON, TOML, ...). Python examples use only what Emmaus installs (and the OpenAI SDK,
which the pages name as an extra)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from tests.docs import (
    test_docs_migration,
    test_docs_offline,
    test_docs_v1_v2,
    test_readme_responses,
    test_readme_tour,
)
from tests.docs.readme import PAGES, fenced, token_readers

SAMPLES = {"", "text", "json", "toml", "yaml"}
RUN = set().union(
    test_docs_migration.RUNS,
    test_docs_offline.RUNS,
    test_docs_v1_v2.RUNS,
    test_readme_responses.RUNS,
    test_readme_tour.RUNS,
)
# What a python example may import besides the standard library: Emmaus' own dependencies that
# a reader calls, the OpenAI SDK where the page says to install it, and Emmaus' own SDK
# (`pip install ./sdk/python`) on the migration page.
IMPORTABLE = {"httpx", "openai", "emmaus_client"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_example_is_run_by_a_test(page: Path) -> None:
    unrun = [
        f"{page.name}: {block.language} block in section {block.section!r}"
        for block in fenced(page)
        if block.runnable and (page.name, block.section) not in RUN
    ]
    assert not unrun, "examples no test runs (run them, or fence output as text):\n" + "\n".join(
        unrun
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_other_block_says_what_it_is(page: Path) -> None:
    unknown = {b.language for b in fenced(page) if not b.runnable} - SAMPLES
    assert not unknown, f"{page.name}: fence languages neither run nor samples: {unknown}"


def test_every_declared_section_has_examples() -> None:
    pages = {page.name: fenced(page) for page in PAGES}
    for name, section in RUN:
        assert any(b.section == section and b.runnable for b in pages[name]), (name, section)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_examples_import_only_what_a_reader_has(page: Path) -> None:
    for block in fenced(page):
        if block.language != "python":
            continue
        for node in ast.walk(ast.parse(block.code)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in IMPORTABLE, (
                    f"{page.name}, section {block.section!r} imports {name}"
                )


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as dashes."""
    headings = [b for b in page.read_text().splitlines() if b.startswith("#")]
    in_code = {line for block in fenced(page) for line in block.code.splitlines()}
    return {
        re.sub(r"[^\w\- ]", "", h.lstrip("#").strip().lower()).replace(" ", "-")
        for h in headings
        if h not in in_code
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_leads_somewhere(page: Path) -> None:
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links to {target}, which does not exist"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{page.name} links to {target}: no such heading"


def test_every_token_line_reads_the_answer_the_same_way() -> None:
    """One reader, the one that prints the server's error and fails on a wrong secret (the
    tour checks it does, and that it is the banner's)."""
    readers = token_readers()
    assert len(readers) == 1, readers
