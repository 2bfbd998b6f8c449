"""`emmaus ingest` in a subprocess: a folder of mixed files, a resumed run that skips unchanged
files, and the demo library (one short book)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from emmaus.grounding import Library, Retriever
from emmaus.store import Database
from tests.grounding.documents import BIKE_HTML, BREAD, GARDEN

CODE = (
    "import typer; from emmaus.cli import ingest; root = typer.Typer(); "
    "root.add_typer(ingest.app, name='ingest'); root()"
)


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EMMAUS_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "120"}
    env.pop("EMMAUS_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", CODE, "ingest", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ingest_folder_then_skip_unchanged(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "more").mkdir(parents=True)
    (docs / "garden.txt").write_text(GARDEN)
    (docs / "more" / "bread.md").write_text(BREAD)
    (docs / "more" / "bike.html").write_text(BIKE_HTML)
    (docs / "photo.png").write_bytes(b"\x89PNG")  # not a document: ignored in folders
    (docs / ".hidden.txt").write_text("secret")

    first = run(tmp_path, "--publisher", "Hobbies", "docs")
    assert first.returncode == 0, first.stderr
    assert "Hobbies: 3 added, 0 updated, 0 unchanged, 0 failed" in first.stdout

    (docs / "garden.txt").write_text(GARDEN + "\n\nPrune in spring.")
    second = run(tmp_path, "--publisher", "Hobbies", "docs")
    assert "Hobbies: 0 added, 1 updated, 2 unchanged, 0 failed" in second.stdout

    (docs / "empty.txt").write_text("   ")
    failed = run(tmp_path, "-p", "Hobbies", "docs/empty.txt")
    assert failed.returncode == 1
    assert "empty.txt" in failed.stderr

    missing = run(tmp_path, "docs")
    assert missing.returncode != 0


def test_demo_library(tmp_path: Path) -> None:
    result = run(tmp_path, "--demo", "--books", "Ruth")
    assert result.returncode == 0, result.stderr
    assert "GlooGrounded: 4 added" in result.stdout

    async def ask() -> list[str]:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'emmaus.db'}")
        try:
            found = await Retriever(Library(db)).search(
                "any-client",
                "Whither thou goest, I will go; thy people shall be my people",
                None,
                3,
            )
            return [s.title for s in found]
        finally:
            await db.aclose()

    assert asyncio.run(ask())[0] == "Ruth 1 (KJV)"
