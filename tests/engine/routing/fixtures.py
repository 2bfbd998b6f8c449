"""A small labelled set written for the tests (not taken from datasets/routing): enough rows
of each tier for training to run its cross-validation quickly."""

from __future__ import annotations

TIER_1 = [
    "hello!",
    "thanks a lot",
    "good evening, friend",
    "Who wrote the book of Acts?",
    "How many books are in the Old Testament?",
    "What year did the Titanic sink?",
    "What does 'selah' mean?",
    "How do you spell Nebuchadnezzar?",
    "Is Easter always on a Sunday?",
    "ok got it",
]
TIER_2 = [
    "Explain the parable of the mustard seed.",
    "Write a short blessing for a couple's anniversary.",
    "Give me three ideas for a youth group game night.",
    "Summarize the story of Joseph in a paragraph.",
    "What's the difference between a psalm and a hymn?",
    "How can I encourage a friend who lost her job?",
    "Draft a brief email reminding volunteers about Saturday's cleanup.",
    "Why do Christians celebrate Pentecost?",
    "What is 18% of 250?",
    "Suggest a few verses about patience.",
]
TIER_3 = [
    "Write a 10-week discipleship curriculum with objectives and readings for each week.",
    "Prove that there are infinitely many prime numbers.",
    "Debug this Python: def add(a, b): return a - b  # tests fail for add(2, 3)",
    "Write a full sermon on Romans 8 with an outline, illustrations and application.",
    "Do an exegesis of the Greek aorist verbs in Ephesians 2:1-10.",
    "Implement a binary search tree in Rust with insert and delete.",
    "Draft a child protection policy for our church with sections on reporting and training.",
    "Compare the Reformed, Catholic and Orthodox views of justification in depth.",
    "Solve x^2 - 5x + 6 = 0 step by step and verify the roots.",
    "Design a step-by-step plan to launch a food pantry, with budget and timeline.",
]


def rows() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for tier, texts in ((1, TIER_1), (2, TIER_2), (3, TIER_3)):
        for i, text in enumerate(texts):
            out.append({"id": f"t{tier}-{i}", "query": text, "tier": tier})
    return out
