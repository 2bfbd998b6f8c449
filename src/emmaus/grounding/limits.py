"""What one upload, and one client's library, may cost: the bounds ingestion enforces."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ExtractLimits:
    """What one upload may make the reader do: a small file can inflate (a PDF's compressed
    streams, deeply nested HTML), so the limits are on what comes out, not only the bytes in."""

    max_text_chars: int = 2_000_000
    max_pages: int = 1000
    max_html_depth: int = 256


NO_LIMITS = ExtractLimits(max_text_chars=1 << 62, max_pages=1 << 62, max_html_depth=1 << 62)


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """One upload: the reading child's CPU seconds, memory and time; chunks it may produce."""

    cpu_seconds: int = 20
    memory_bytes: int = 1 << 30
    wall_seconds: float = 30.0
    max_chunks: int = 5000
    extract: ExtractLimits = field(default_factory=ExtractLimits)


@dataclass(frozen=True, slots=True)
class LibraryQuota:
    """One client's own publishers together (shared publishers count for nobody)."""

    max_documents: int = 1000
    max_bytes: int = 256 << 20
    max_chunks: int = 100_000
