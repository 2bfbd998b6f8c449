"""The test split stays a test split: never trained on, and no training row a near-copy of one
of its rows (a new training row that echoes a test row would inflate every later measurement)."""

from pathlib import Path

from bench.safety_near_duplicates import features, nearest

from emmaus.engine.safety.dataset import Row, read_rows
from emmaus.engine.safety.train import SPLITS, TEST_PREFIX, TEST_SPLIT, training_rows

DATA = Path(__file__).resolve().parents[3] / "datasets" / "safety"
TEST = DATA / f"{TEST_SPLIT}.jsonl"


def test_training_never_reads_the_test_split():
    assert TEST_SPLIT == "heldout_v5"
    assert TEST_SPLIT not in SPLITS
    ids = {row.id for row in training_rows(DATA)}
    assert not any(i.startswith(TEST_PREFIX) for i in ids)
    assert ids.isdisjoint(row.id for row in read_rows(TEST))


def test_the_test_split_has_every_kind_of_row():
    rows = read_rows(TEST)
    labels = {label for row in rows for label in row.labels}
    assert len(rows) >= 300
    assert len({row.id for row in rows}) == len(rows)
    assert labels == {
        "self_harm",
        "abuse",
        "violence_threat",
        "medical_emergency",
        "violence_instructions",
        "illicit",
        "sexual_minors",
        "hate",
        "harassment",
        "self_harm_instructions",
    }
    assert sum(not row.labels for row in rows) >= 100
    assert sum(bool(row.context) for row in rows) >= 20


def test_no_training_row_is_a_near_copy_of_a_test_row():
    others = [row for split in SPLITS for row in read_rows(DATA / f"{split}.jsonl")]
    worst = nearest(read_rows(TEST), others)[0]
    assert worst[0] < 0.5, worst


def test_the_similarity_finds_a_reworded_copy():
    """The check itself: a copy with small edits is over the bar, an unrelated text far under."""
    test = [Row(id="t", text="my dad collapsed in the kitchen and he is not breathing")]
    copy = Row(id="a", text="My dad collapsed in the kitchen, he's not breathing!!")
    other = Row(id="b", text="what is a good recipe for banana bread")
    assert nearest(test, [copy])[0][0] >= 0.5
    assert nearest(test, [other])[0][0] < 0.2
    assert abs(sum(v * v for v in features("some text here").values()) - 1.0) < 1e-9
