"""`emmaus ingest --client ID` follows the library's naming rule (docs/library.md): a client's
publisher may not take a shared publisher's name; the command says so and stores nothing."""

from __future__ import annotations

from pathlib import Path

from emmaus.config import Settings
from tests.cli.test_cli_ingest import run
from tests.grounding.documents import BREAD, GARDEN
from tests.support.auth import create_client


def test_a_client_publisher_with_a_shared_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "garden.txt").write_text(GARDEN)
    (tmp_path / "bread.md").write_text(BREAD)
    shared = run(tmp_path, "--publisher", "Commons", "garden.txt")
    assert shared.returncode == 0, shared.stderr

    client_id, _ = create_client(Settings(data_dir=tmp_path / "data"), "cli-owner")
    refused = run(tmp_path, "--client", client_id, "--publisher", "Commons", "bread.md")
    assert refused.returncode == 1
    assert "'Commons' is a shared publisher" in " ".join(refused.stderr.split())
    assert "Traceback" not in refused.stderr

    own = run(tmp_path, "--client", client_id, "--publisher", "Kitchen", "bread.md")
    assert own.returncode == 0, own.stderr
    assert "Kitchen: 1 added" in own.stdout
