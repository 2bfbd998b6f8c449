from emmaus.engine.routing.cues import cue_counts, is_acknowledgement
from emmaus.engine.routing.features import NAMED_INDEX, FeatureConfig, extract
from emmaus.engine.routing.segments import SCAN_CHARS, segment
from emmaus.engine.types import Message


def test_final_question_clause_is_found_after_chat() -> None:
    text = "We love the study so far. Before tonight: how many chapters does Jude have? thanks!"
    assert segment(text).final == "how many chapters does Jude have?"
    assert cue_counts(segment(text).final)["fact_start"] == 1


def test_quoted_material_is_not_taken_for_the_ask() -> None:
    parts = segment("Translate into Spanish: 'Where is the nearest bus station?'")
    assert "station" not in parts.final
    assert "Translate" in parts.final


def test_acknowledgements() -> None:
    for text in ("thanks!", "ok that worked, cheers", "brilliant, thank you so much"):
        assert is_acknowledgement(text), text
    for text in ("thanks, now do the same for chapter 3", "ok but why?", "write it shorter"):
        assert not is_acknowledgement(text), text


def test_cues_name_what_is_asked() -> None:
    assert cue_counts("Prove that 17 is prime")["proof"] == 1
    assert cue_counts("Write a sermon series on Ruth")["long_writing"] >= 1
    assert cue_counts("Write a short email to the team")["short_writing"] == 1
    assert cue_counts("fizzbuzz in python please")["in_language"] == 1
    assert cue_counts("What does koinonia mean?")["definition"] == 1
    assert cue_counts("What does it mean that God is love?")["definition"] == 0
    assert cue_counts("Write a 2,000-word essay")["long_length"] == 1


def test_only_a_bounded_tail_is_scanned() -> None:
    config = FeatureConfig()
    tail = "Please explain the Trinity to me in a few sentences. " * 80
    huge = "lorem ipsum " * 50_000 + tail
    assert extract([Message("user", huge)], config).values == (
        extract([Message("user", huge[-SCAN_CHARS:])], config).values
    )


def test_history_features_only_with_history() -> None:
    config = FeatureConfig()
    alone = extract([Message("user", "and the next step?")], config).values
    assert NAMED_INDEX["followup_after_hard"] not in alone
    hard = [
        Message("user", "Write a Python script that parses our CSV of donations."),
        Message("assistant", "```python\nimport csv\n```"),
        Message("user", "and the next step?"),
    ]
    values = extract(hard, config).values
    assert values[NAMED_INDEX["followup_after_hard"]] > 0
    assert values[NAMED_INDEX["prev:code_lang"]] == 1.0
