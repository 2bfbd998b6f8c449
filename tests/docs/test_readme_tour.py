"""The README's first screen and the pages it sends a new user to (docs/library.md,
docs/auth.md) run as written against `emmaus serve` started as `make run` starts it: the demo
library loaded first, the embedded model, the credentials pasted from the banner's `export`
line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.docs.readme import (
    REPO,
    TOKEN_READER,
    blocks,
    fenced,
    json_values,
    run_block,
    run_code,
    token_readers,
)
from tests.docs.served import Served, emmaus_serve, export_lines, ingest_demo

LIBRARY = REPO / "docs" / "library.md"
AUTH = REPO / "docs" / "auth.md"
TOUR = "A 30-second tour"
RUNS = {
    ("README.md", TOUR),
    ("README.md", "Safety"),
    ("library.md", "Grounded answers"),
    ("library.md", "Loading documents from the command line"),
    ("library.md", "Uploading through the API"),
    ("auth.md", "Credentials"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("first-hour")
    ingest_demo(workdir, "1 Corinthians")  # the chapter the grounded examples ask about
    with emmaus_serve(workdir) as served:
        yield served


def _only(title: str, path: Path | None = None) -> tuple[str, str]:
    [block] = blocks(title) if path is None else blocks(title, path)
    return block


def test_the_tour(server: Served) -> None:
    out = run_block(*_only(TOUR), server.url, server.env, server.workdir)
    completion, turn, response, grounded = json_values(out)
    assert completion["object"] == "chat.completion"  # type: ignore[index]
    assert completion["routing_mechanism"] == "auto_routing"  # type: ignore[index]
    assert completion["tradition"] == "evangelical"  # type: ignore[index]
    assert completion["choices"][0]["message"]["content"]  # type: ignore[index]
    assert turn["success"] is True and turn["chat_id"]  # type: ignore[index]
    assert len(turn["message"]) <= 300  # type: ignore[index]
    assert response["object"] == "response"  # type: ignore[index]
    assert response["status"] in ("completed", "incomplete")  # type: ignore[index]
    assert grounded["sources_returned"] is True  # type: ignore[index]
    titles = [c["item_title"] for c in grounded["citations"]]  # type: ignore[index]
    assert titles and all(t.startswith("1 Corinthians") for t in titles)


def test_the_banner_is_what_the_readme_shows(server: Served) -> None:
    [sample] = [b.code for b in fenced() if (b.section, b.language) == (TOUR, "text")]
    assert sample.splitlines()[0] in server.log()

    def shape(text: str) -> str:
        return re.sub(r"=\S+", "=...", export_lines(text))

    assert shape(sample) and shape(sample) == shape(server.log())
    [banner_reader] = TOKEN_READER.findall(server.log())
    assert token_readers() == {banner_reader}


def test_a_wrong_secret_stops_the_token_line_with_the_servers_error(server: Served) -> None:
    _, tour = _only(TOUR)
    token_line = re.search(r"^TOKEN=\$\(.*?\)'\)$", tour, re.S | re.M)
    assert token_line, "the tour gets a token first"
    code = f"BASE={server.url}\n{token_line.group(0)}\necho got a token"
    done = run_code("sh", code, {**server.env, "CLIENT_SECRET": "not-the-secret"})
    assert done.returncode != 0 and "got a token" not in done.stdout
    assert "token refused:" in done.stderr and "invalid_client" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_moderation_example(server: Served) -> None:
    out = run_block(*_only("Safety"), server.url, server.env, server.workdir)
    [moderation] = json_values(out)
    [result] = moderation["results"]  # type: ignore[index]
    assert result["flagged"] is True and result["crisis"] is True


def test_the_library_pages_examples(server: Served) -> None:
    grounded = run_block(*_only("Grounded answers", LIBRARY), server.url, server.env)
    [answer] = json_values(grounded)
    assert answer["sources_returned"] is True  # type: ignore[index]
    assert answer["citations"][0]["publisher"] == "GlooGrounded"  # type: ignore[index]

    ingested = run_block(
        *_only("Loading documents from the command line", LIBRARY),
        server.url,
        server.env,
        server.workdir,
    )
    assert "Parish: 1 added" in ingested

    out = run_block(
        *_only("Uploading through the API", LIBRARY), server.url, server.env, server.workdir
    )
    uploaded, listed, publishers, answer = json_values(out)
    document = uploaded["document"]  # type: ignore[index]
    assert uploaded["status"] == "added" and document["publisher"] == "MyNotes"  # type: ignore[index]
    assert [d["document_id"] for d in listed["data"]] == [document["document_id"]]  # type: ignore[index]
    readable = {p["name"] for p in publishers["data"]}  # type: ignore[index]
    assert {"GlooGrounded", "Parish", "MyNotes"} <= readable
    assert answer["citations"][0]["item_title"] == "Choir"  # type: ignore[index]
    assert out.rstrip().endswith("204")
    token = _token(server)
    left = httpx.get(
        f"{server.url}/ai/v2/library/documents", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert document["document_id"] not in [d["document_id"] for d in left["data"]]


def test_the_auth_pages_example(server: Served) -> None:
    out = run_block(*_only("Credentials", AUTH), server.url, server.env)
    basic, form = json_values(out)
    for answer in (basic, form):
        assert answer["token_type"] == "Bearer" and answer["access_token"]  # type: ignore[index]


def _token(server: Served) -> str:
    answer = httpx.post(
        f"{server.url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(server.env["CLIENT_ID"], server.env["CLIENT_SECRET"]),
    )
    return str(answer.raise_for_status().json()["access_token"])
