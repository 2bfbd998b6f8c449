"""The rules a follow-up suggestion and a title must pass before a person sees them, and what
stands in when the model's fail (deterministic: no model)."""

from __future__ import annotations

import pytest

from emmaus.services.chats.extras_checks import (
    source_suggestions,
    suggestion_problem,
    title_problem,
    topic_words,
    usable_suggestions,
    usable_title,
)

QUERY = "What is grace?"
TOPIC = topic_words(QUERY)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("How does grace change the way I live?", None),
        ("Is grace the same as mercy?", None),
        ("furthermore", "not one question"),
        ("in spite of the challenges", "not one question"),
        ("What is grace? 2. Why is grace free?", "not one question"),
        ("Grace?", "length"),
        ("What " + "grace " * 20 + "?", "length"),
        ("The grace of God is free?", "not a question"),
        ("how does grace work?", "not a question"),  # not a sentence
        ("What is {grace} in Romans?", "debris"),
        ("What did grace mean at 12:30?", "debris"),
        ("How does grace fit into,?", "incomplete"),
        ("How does grace relate to the?", "incomplete"),
        ("What is grace, grace, grace?", "garbled"),
        ("Why is gracefulnessandmercyforall free?", "garbled"),
        ("Who was grace more often thansurelyrepl?", "garbled"),
        ("Why is grace not just about aboutlovingl?", "garbled"),  # glued: 4 WordPiece pieces
        ("Why does grace feel prodigal sometimes?", None),  # a rare real word is fine
        ("What is grace exactly?", "the user's question"),
        ("What is your favorite colour today?", "off topic"),
    ],
)
def test_suggestion_rules(text: str, problem: str | None) -> None:
    assert suggestion_problem(text, QUERY, [], TOPIC) == problem


def test_the_users_own_long_words_are_not_garble() -> None:
    query = "Who was Nebuchadnezzar?"
    topic = topic_words(query)
    assert suggestion_problem("Why did Nebuchadnezzar build it?", query, [], topic) is None
    assert suggestion_problem("Why did Nebuchadnezzarrr build it?", query, [], topic)


def test_a_restatement_is_the_users_question() -> None:
    query = "How do I pray when I don't know what to say?"
    again = "How to Pray when you dont know what to say?"
    assert suggestion_problem(again, query, [], topic_words(query)) == "the user's question"
    query = "What is a good way to memorize scripture?"
    again = "How to memorise scripture?"
    assert suggestion_problem(again, query, [], topic_words(query)) == "the user's question"


def test_suggestions_are_distinct_from_each_other() -> None:
    kept = ["How does grace change the way I live?"]
    assert suggestion_problem("How does grace change how I live?", QUERY, kept, TOPIC) == "repeated"
    assert suggestion_problem("Why is grace called free?", QUERY, kept, TOPIC) is None


def test_usable_suggestions_tidies_and_filters_in_order() -> None:
    got = usable_suggestions(
        ['1. "how is grace received?"', "therefore", "What is grace?", "- Why is grace free?"],
        QUERY,
        TOPIC,
    )
    assert got == ["How is grace received?", "Why is grace free?"]


def test_recent_turns_and_sources_widen_the_topic() -> None:
    question = "Why did he flee to Midian?"
    assert suggestion_problem(question, "Who was Moses?", [], topic_words("Who was Moses?"))
    topic = topic_words("Who was Moses?", ["Moses fled Egypt to Midian after killing"])
    assert suggestion_problem(question, "Who was Moses?", [], topic) is None
    topic = topic_words("Who was Moses?", sources=[{"item_title": "Exodus 2"}])
    assert suggestion_problem("What happens in Exodus 2?", "Who was Moses?", [], topic) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("The meaning of grace", None),
        ("Psalm 23 and grace", None),
        ("graceful", "length"),
        ("A very long title about grace that goes on and on", "length"),
        ("2026-12-01 10:31 grace", "debris"),
        ("123677080091336512149236102387 grace", "debris"),
        ("Grace_and_why_it_matters now", "debris"),
        ("New chat", "placeholder"),
        ("Grace and the", "incomplete"),
        ("Why is grace given after", "incomplete"),
        ("Starting a vegetable garden", "off topic"),
        ("Who gives grace? 3", "debris"),
        ("What does the Lord Christmeanly grace", "garbled"),
    ],
)
def test_title_rules(text: str, problem: str | None) -> None:
    assert title_problem(text, QUERY) == problem


def test_usable_title_tidies_labels_quotes_and_end_punctuation() -> None:
    assert usable_title('re: "the gospel of John."', "Who wrote the Gospel of John?") == (
        "The gospel of John"
    )
    assert usable_title("Titlle einleiten", QUERY) is None
    assert usable_title(None, QUERY) is None and usable_title("  ", QUERY) is None


def test_source_suggestions_from_the_sources_titles() -> None:
    sources = [
        {"item_title": "Romans 5"},
        {"item_title": "romans 5"},  # the same source twice gives one question
        {"item_title": "grace_notes.md"},
        {"item_title": None},
        {"item_title": "A title far too long to make a question out of it"},
    ]
    got = source_suggestions(sources, QUERY, [], 3)
    assert got == ["What is the context of Romans 5?", "What else does grace notes say?"]
    assert source_suggestions([], QUERY, [], 3) == []
    assert source_suggestions(sources, QUERY, [], 1) == ["What is the context of Romans 5?"]
