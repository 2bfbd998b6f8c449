from pathlib import Path

import pytest

from emmaus.config import Settings


def test_environment_then_toml_file_then_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "emmaus.toml"
    config.write_text('port = 9001\nlocal_queue_size = 3\ndata_dir = "/srv/emmaus"\n')
    monkeypatch.setenv("EMMAUS_CONFIG", str(config))
    monkeypatch.setenv("EMMAUS_PORT", "9002")
    settings = Settings()
    assert settings.port == 9002  # the environment wins over the file
    assert settings.local_queue_size == 3  # the file wins over the default
    assert settings.data_dir == Path("/srv/emmaus")
    assert settings.upstream_retries == 2  # the default


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMMAUS_LOCAL_QUEUE_SIZE", "0")
    with pytest.raises(ValueError, match="local_queue_size"):
        Settings()
