"""The library is visible and predictable (docs/library.md): a client's listing shows the shared
publishers' documents beside its own, marked, with counts; a client may not upload into a
shared publisher's name (409), nor delete a shared document (409); and a name held by both a
client's publisher and a shared one reads both, so neither hides the other. On SQLite and
PostgreSQL, through the library and over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emmaus.config import Settings
from emmaus.errors import PublisherNameShared
from emmaus.grounding import Embedder
from emmaus.grounding.library import Library
from emmaus.grounding.retrieval import Retriever
from emmaus.store import Database
from tests.auth.apps import create_client
from tests.grounding.apps import get_token, grounded_app
from tests.grounding.documents import BIKE_HTML, BREAD, GARDEN, STARS
from tests.support.databases import run_blocking
from tests.support.live_server import live_server
from tests.support.module_databases import module_database_url  # noqa: F401

DOCS = "/ai/v2/library/documents"


async def test_a_client_publisher_may_not_take_a_shared_name(library: Library) -> None:
    await library.publisher("Commons", None, create=True)
    with pytest.raises(PublisherNameShared) as refused:
        await library.publisher("Commons", "client-a", create=True)
    assert refused.value.status == 409 and "shared publisher" in refused.value.message
    assert await library.publisher("Commons", "client-a") is None  # nothing was created
    assert await library.publisher("Commons2", "client-a", create=True) is not None


async def test_a_name_held_by_both_reads_both(library: Library, retriever: Retriever) -> None:
    # The client's publisher came first; the operator then made a shared one of that name.
    mine = await library.publisher("Later", "client-a", create=True)
    shared = await library.publisher("Later", None, create=True)
    assert mine is not None and shared is not None
    await library.ingest(mine, "garden.txt", GARDEN.encode())
    await library.ingest(shared, "stars.txt", STARS.encode())
    readable = await library.readable("client-a", ["Later"])
    assert sorted(p.shared for p in readable) == [False, True]
    stars = await retriever.search("client-a", "telescope mirror for faint nebulae", ["Later"])
    assert stars and stars[0].title == "stars"  # the shared one is not hidden
    garden = await retriever.search("client-a", "how often should I water tomatoes", ["Later"])
    assert garden and garden[0].title == "garden"
    # Another client reads only the shared one.
    other = await retriever.search("client-b", "how often should I water tomatoes", ["Later"])
    assert all(s.title != "garden" for s in other)


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    embedder: Embedder,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Settings]]:
    data = tmp_path_factory.mktemp("library-visibility")
    settings = Settings(
        data_dir=data,
        database_url=module_database_url,
        jwt_secret="library-visibility-secret-of-32-chars-at-least",
    )
    with live_server(grounded_app(settings, embedder)) as url:
        yield url, settings


def shared_documents(settings: Settings, embedder: Embedder, publisher: str) -> None:
    """Two documents in a shared publisher, as `emmaus ingest --publisher` writes them."""

    async def run() -> None:
        db = Database.from_settings(settings)
        try:
            library = Library(db, embedder)
            pub = await library.publisher(publisher, None, create=True)
            assert pub is not None
            await library.ingest(pub, "bread.md", BREAD.encode())
            await library.ingest(pub, "stars.txt", STARS.encode())
        finally:
            await db.aclose()

    run_blocking(run())


@pytest.fixture(scope="module")
def alice(server: tuple[str, Settings], embedder: Embedder) -> Iterator[httpx.Client]:
    url, settings = server
    shared_documents(settings, embedder, "Commons")
    client_id, secret = create_client(settings, "alice")
    headers = {"Authorization": f"Bearer {get_token(url, client_id, secret)}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        upload = client.post(
            DOCS, files={"file": ("garden.txt", GARDEN.encode())}, data={"publisher": "Home"}
        )
        assert upload.status_code == 201, upload.text
        assert upload.json()["document"]["shared"] is False
        yield client


def test_the_listing_shows_shared_documents_marked_with_counts(alice: httpx.Client) -> None:
    listed = alice.get(DOCS)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["counts"] == {"own": 1, "shared": 2, "total": 3}
    marks = {d["source"]: (d["publisher"], d["shared"]) for d in body["data"]}
    assert marks == {
        "garden.txt": ("Home", False),
        "bread.md": ("Commons", True),
        "stars.txt": ("Commons", True),
    }
    own = alice.get(DOCS, params={"scope": "own"}).json()
    assert [d["source"] for d in own["data"]] == ["garden.txt"]
    assert own["counts"] == {"own": 1, "shared": 0, "total": 1}
    page = alice.get(DOCS, params={"scope": "shared", "limit": 1}).json()
    assert len(page["data"]) == 1 and page["counts"]["shared"] == 2  # counts cover every page
    assert alice.get(DOCS, params={"scope": "nobody"}).status_code == 422

    publishers = alice.get("/ai/v2/library/publishers").json()["data"]
    sizes = {p["name"]: (p["shared"], p["documents"]) for p in publishers}
    assert sizes == {"Home": (False, 1), "Commons": (True, 2)}
    assert all(p["chunks"] >= p["documents"] for p in publishers)


def test_uploading_into_a_shared_name_is_a_409(alice: httpx.Client) -> None:
    before = alice.get("/ai/v2/library/publishers").json()
    refused = alice.post(
        DOCS, files={"file": ("bike.html", BIKE_HTML.encode())}, data={"publisher": "Commons"}
    )
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["name"] == "PUBLISHER_NAME_SHARED" and error["param"] == "publisher"
    assert "'Commons' is a shared publisher" in error["message"]
    assert alice.get("/ai/v2/library/publishers").json() == before  # nothing changed


def test_a_shared_document_cannot_be_deleted_by_a_client(alice: httpx.Client) -> None:
    shared = alice.get(DOCS, params={"scope": "shared"}).json()["data"]
    refused = alice.delete(f"{DOCS}/{shared[0]['document_id']}")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["name"] == "SHARED_DOCUMENT"
    assert alice.get(DOCS).json()["counts"]["shared"] == 2
    assert alice.delete(f"{DOCS}/999999999").status_code == 404
