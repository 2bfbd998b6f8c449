"""Grounded answers: the content library (publishers, documents, chunks), ingestion, hybrid
retrieval and citations.

```python
library = Library(database)                 # the embedder loads on first use
retriever = Retriever(library)              # one per process (System.retriever)
await retriever.search(client_id, "question", ["MyPublisher"], limit=3)    # -> list[Source]
```

Names are imported lazily: the upload sandbox (`python -m emmaus.grounding.sandbox`) needs only
the extraction code, not the database, the index and the embedding model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emmaus.grounding.embedder import Embedder
    from emmaus.grounding.library import Library
    from emmaus.grounding.models import Document, IngestResult, Publisher, Source
    from emmaus.grounding.retrieval import Retriever

_HOMES = {
    "Embedder": "emmaus.grounding.embedder",
    "Library": "emmaus.grounding.library",
    "Document": "emmaus.grounding.models",
    "IngestResult": "emmaus.grounding.models",
    "Publisher": "emmaus.grounding.models",
    "Source": "emmaus.grounding.models",
    "Retriever": "emmaus.grounding.retrieval",
}
__all__ = ["Document", "Embedder", "IngestResult", "Library", "Publisher", "Retriever", "Source"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'emmaus.grounding' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
