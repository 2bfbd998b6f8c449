"""The library on SQLite and PostgreSQL: ingestion of each format, unchanged files skipped,
publisher filtering, isolation between clients, the relevance floor and deletion."""

from __future__ import annotations

from sqlalchemy import func, select

from emmaus.grounding.library import Library
from emmaus.grounding.retrieval import Retriever
from emmaus.grounding.schema import ChunkRow
from emmaus.services.chats.types import source_record
from tests.grounding.documents import BIKE_HTML, BREAD, GARDEN, STARS, pdf_bytes


async def _chunks(library: Library) -> int:
    async with library.db.session() as s:
        return (await s.execute(select(func.count()).select_from(ChunkRow))).scalar_one()


async def test_ingest_every_format_then_skip_unchanged(library: Library) -> None:
    pub = await library.publisher("Hobbies", "client-a", create=True)
    assert pub is not None and not pub.shared
    files = {
        "garden.txt": GARDEN.encode(),
        "bread.md": BREAD.encode(),
        "bike.html": BIKE_HTML.encode(),
        "stars.pdf": pdf_bytes(STARS, "Looking at stars"),
    }
    for name, data in files.items():
        result = await library.ingest(pub, name, data)
        assert result.status == "added"
        assert result.document.chunk_count >= 1
    stored = await _chunks(library)
    docs = await library.documents("client-a")
    assert {d.source for d in docs} == set(files)
    assert {d.kind for d in docs} == {"text", "markdown", "html", "pdf"}
    titles = {d.source: d.title for d in docs}
    assert titles["bike.html"] == "Fixing a bicycle puncture"

    again = await library.ingest(pub, "garden.txt", GARDEN.encode())
    assert again.status == "unchanged"
    assert await _chunks(library) == stored

    changed = await library.ingest(pub, "garden.txt", (GARDEN + "\n\nPrune in spring.").encode())
    assert changed.status == "updated"
    assert changed.document.id == again.document.id
    assert len(await library.documents("client-a")) == 4


async def test_search_filters_by_publisher_and_isolates_clients(
    library: Library, retriever: Retriever
) -> None:
    mine = await library.publisher("Notes", "client-a", create=True)
    theirs = await library.publisher("Notes", "client-b", create=True)
    shared = await library.publisher("Commons", None, create=True)
    assert mine and theirs and shared
    await library.ingest(mine, "garden.txt", GARDEN.encode())
    await library.ingest(theirs, "bike.html", BIKE_HTML.encode())
    await library.ingest(shared, "stars.txt", STARS.encode())

    found = await retriever.search("client-a", "how often should I water tomatoes", ["Notes"])
    assert found and found[0].title == "garden" and found[0].publisher == "Notes"
    assert 0 < found[0].similarity <= 1

    # Another client's publisher of the same name is never searched.
    bike = await retriever.search("client-a", "repair a punctured bicycle tyre", ["Notes"])
    assert bike == []
    theirs_found = await retriever.search("client-b", "repair a punctured bicycle tyre", ["Notes"])
    assert theirs_found and theirs_found[0].url == "https://example.org/bike-repair"

    # Shared publishers are readable by all; a filter restricts to the named ones.
    for client in ("client-a", "client-b"):
        stars = await retriever.search(client, "telescope mirror for faint nebulae", ["Commons"])
        assert stars and stars[0].publisher == "Commons"
    assert await retriever.search("client-a", "telescope mirror", ["Notes"]) == []
    everything = await retriever.search("client-a", "telescope mirror faint galaxies", None, 5)
    assert {s.publisher for s in everything} == {"Commons"}

    # Documents are listed and deleted by their owner only.
    (doc,) = await library.documents("client-b")
    assert not await library.delete_document("client-a", doc.id)
    assert await library.delete_document("client-b", doc.id)
    assert await retriever.search("client-b", "repair a punctured bicycle tyre", ["Notes"]) == []


async def test_relevance_floor_and_v1_shape(library: Library, retriever: Retriever) -> None:
    pub = await library.publisher("Kitchen", None, create=True)
    assert pub is not None
    await library.ingest(pub, "bread.md", BREAD.encode())
    unrelated = "quarterly tax filing deadlines for corporations"
    assert await retriever.search(None, unrelated, None) == []
    (found,) = await retriever.search(None, "how do I feed a sourdough starter", None, 1)
    item = source_record(found)  # what a v1 reply stores and returns
    assert set(item) == {"item_id", "item_title", "publisher", "url", "snippet", "score"}
    assert item["item_title"] == "Baking sourdough bread"
    assert item["publisher"] == "Kitchen"
    assert "starter" in item["snippet"]


async def test_index_follows_changes_made_elsewhere(library: Library, embedder: object) -> None:
    """A second retriever (another instance) sees ingests made through the first library."""
    pub = await library.publisher("Shared", None, create=True)
    assert pub is not None
    first, second = Retriever(library), Retriever(Library(library.db, library.embedder))
    await library.ingest(pub, "garden.txt", GARDEN.encode())
    assert await first.search(None, "watering tomatoes", None)
    assert await second.search(None, "watering tomatoes", None)
    await library.ingest(pub, "stars.txt", STARS.encode())
    assert await second.search(None, "telescope mirror nebulae", None)
    (doc,) = [d for d in await library.documents(None) if d.source == "stars.txt"]
    await library.delete_document(None, doc.id)
    assert await first.search(None, "telescope mirror nebulae", None) == []
