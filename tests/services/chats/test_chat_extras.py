"""Parsing follow-up suggestions and titles from what a model wrote."""

from __future__ import annotations

from emmaus.services.chats.extras import extras_schema, parse_extras, title_from_query


def test_schema_asks_for_three_suggestions_and_a_title_when_wanted() -> None:
    schema = extras_schema(with_title=True)
    assert schema["required"] == ["suggestions", "title"]
    assert schema["properties"]["suggestions"]["minItems"] == 3  # type: ignore[index]
    assert extras_schema(with_title=False)["required"] == ["suggestions"]


def test_json_answers() -> None:
    extras = parse_extras(
        '{"suggestions": ["  1. Why?  ", "Why?", "How so?", "And then?"], "title": "A \\"talk\\""}',
        with_title=True,
    )
    assert extras.suggestions == ["Why?", "How so?", "And then?"]  # cleaned, unique, three
    assert extras.title == 'A "talk"'
    assert parse_extras('{"suggestions": [], "title": "\\"Quoted\\""}', True).title == "Quoted"


def test_cut_off_json_keeps_the_finished_strings() -> None:
    extras = parse_extras('{"title": "Grace", "suggestions": ["What is grace?", "Is it fr', True)
    assert extras.suggestions == ["What is grace?"] and extras.title == "Grace"


def test_free_text_falls_back_to_question_lines() -> None:
    extras = parse_extras("Here you go:\n- What is faith?\n2) Who wrote it?\nThanks", False)
    assert extras.suggestions == ["What is faith?", "Who wrote it?"] and extras.title is None
    assert parse_extras("", True).suggestions == []


def test_plain_titles_from_the_question() -> None:
    assert title_from_query("what is your name?") == "What is your name"
    # Long: without the asking words and the articles, eight words at most, no dangling end.
    assert title_from_query("How do I plan a youth group retreat on a small budget?") == (
        "Plan youth group retreat on small budget"
    )
    assert title_from_query("one two three four five six seven of nine") == (
        "One two three four five six seven"
    )
    assert title_from_query("Grace?") == "About Grace"
    assert title_from_query("   ") == "New chat"
