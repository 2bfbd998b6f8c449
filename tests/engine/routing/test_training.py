import json
from pathlib import Path

import pytest

from emmaus.engine.routing.augment import augment, source_id
from emmaus.engine.routing.data import DataError, load_rows, parse_lines, parse_row
from emmaus.engine.routing.decision import TierClassifier
from emmaus.engine.routing.model import TierModel
from emmaus.engine.routing.train import main
from emmaus.engine.routing.training import Hyper, train
from emmaus.engine.types import Message
from tests.engine.routing.fixtures import rows


def _write(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def test_training_is_deterministic() -> None:
    data = [parse_row(item) for item in rows()]
    first = train(data).to_json()
    second = train(list(data)).to_json()
    assert first == second
    model = TierModel.from_json(first)
    assert model.meta["rows"] == len(data)
    assert model.meta["tier_counts"] == [10, 10, 10]


def test_cli_gives_byte_identical_artifacts(tmp_path: Path) -> None:
    data = _write(tmp_path / "mine.jsonl", rows())
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    assert main(["--data", str(data), "--out", str(one), "--quiet"]) == 0
    assert main(["--data", str(data), "--out", str(two), "--quiet"]) == 0
    assert one.read_bytes() == two.read_bytes()


def test_operator_formats_train_from_a_tmp_file(tmp_path: Path) -> None:
    items = rows()
    # The conversation form, with "tier_N" labels, beside the simple query form.
    items.append(
        {
            "id": "conv-1",
            "messages": [
                {"role": "user", "content": "Write a Go worker pool with graceful shutdown."},
                {"role": "assistant", "content": "```go\nfunc main() {}\n```"},
                {"role": "user", "content": "now add retries with backoff"},
            ],
            "tier": "tier_3",
            "note": "follow-up in code",
        }
    )
    items.append({"query": "thank you!", "tier": "tier_1"})
    first = _write(tmp_path / "a.jsonl", items[:20])
    second = _write(tmp_path / "b.jsonl", items[20:])
    out = tmp_path / "nested" / "router.json"
    assert main(["--data", str(first), "--data", str(second), "--out", str(out), "--quiet"]) == 0
    classifier = TierClassifier.load(str(out))
    assert classifier.model.meta["rows"] == len(items)
    decision = classifier.classify([Message("user", "Who wrote the book of Acts?")])
    assert decision.tier == 1


def test_bad_operator_data_exits_with_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "hi", "tier": 4}\n')
    assert main(["--data", str(bad), "--out", str(tmp_path / "x.json")]) == 2
    assert "tier must be 1, 2 or 3" in capsys.readouterr().err
    one_tier = _write(tmp_path / "one.jsonl", [{"query": "hi", "tier": 1}] * 3)
    assert main(["--data", str(one_tier), "--out", str(tmp_path / "y.json")]) == 2
    assert not (tmp_path / "y.json").exists()


def test_data_parsing() -> None:
    parsed = parse_lines(
        [
            "# a comment",
            "",
            '{"query": "hello", "tier": 1}',
            '{"id": "c", "messages": [{"role": "user", "content": "hi"}], "tier": "2"}',
        ]
    )
    assert [r.tier for r in parsed] == [1, 2]
    assert parsed[0].query == "hello"
    for broken in ('{"tier": 1}', '{"query": "x", "tier": 2.5}', "not json", '{"messages": []}'):
        with pytest.raises(DataError):
            parse_lines([broken])
    with pytest.raises(DataError):
        load_rows("/nonexistent/routing.jsonl")


def test_hyper_parameters_reach_the_artifact() -> None:
    data = [parse_row(item) for item in rows()]
    model = train(data, Hyper(l2=1e-3, folds=0))
    assert model.meta["hyper"]["l2"] == 1e-3
    assert model.meta["cross_validation"] == {}
    assert model.meta["temperature"] == 1.0


def test_augmentation_follows_the_rubric_and_is_deterministic() -> None:
    data = [parse_row(item) for item in rows()]
    extra = augment(data, share=1.0)
    assert extra == augment(data, share=1.0)
    by_source = {r.id: r for r in data}
    kinds = set()
    for row in extra:
        source = by_source[source_id(row.id)]
        assert source.tier in (2, 3)
        assert row.messages[: len(source.messages)] == source.messages
        kind = row.id.rsplit("-", 1)[-1]
        kinds.add(kind)
        assert row.tier == (1 if kind == "ack" else source.tier)
    assert kinds == {"ack", "next"}
    assert augment(data, share=0.0) == []
