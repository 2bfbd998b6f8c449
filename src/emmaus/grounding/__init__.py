"""Grounded answers: the content library (publishers, documents, chunks), ingestion, hybrid
retrieval and citations.

```python
library = Library(database)                 # the embedder loads on first use
retriever = Retriever(library)              # app.state.retriever; one per process
await retriever.search(client_id, "question", ["MyPublisher"], limit=3)    # -> list[Source]
```
"""

from emmaus.grounding.embedder import Embedder
from emmaus.grounding.library import Library
from emmaus.grounding.models import Document, IngestResult, Publisher, Source
from emmaus.grounding.retrieval import Retriever

__all__ = [
    "Document",
    "Embedder",
    "IngestResult",
    "Library",
    "Publisher",
    "Retriever",
    "Source",
]
