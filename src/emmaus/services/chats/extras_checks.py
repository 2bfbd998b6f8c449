"""What makes a follow-up suggestion or a chat title fit to show, and what stands in when the
model gives none that is: a title taken from the first question, suggestions from the
retrieved sources' titles. Pure functions (no model), so every rule is tested directly.

A suggestion is shown when it is one real question (it opens like one and ends with "?"),
3 to 20 words, complete (it does not stop on "the", "of", ...), free of markup debris and
garbled words, about the conversation (it shares a content word with the question, the recent
turns or the sources), and neither the user's question again nor a repeat of another one. A
title is 2 to 8 words about the question's topic, with no timestamp, number soup or debris."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from typing import Any

MAX_SUGGESTION_WORDS = 20
MIN_SUGGESTION_WORDS = 3
MAX_TITLE_WORDS = 8
MIN_TITLE_WORDS = 2
MAX_TITLE_CHARS = 60
_SIMILAR = 0.66  # share of content words two questions hold in common to be the same question


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


QUESTION_OPENERS = _set(
    "what how why who whom whose when where which is are was were do does did can could "
    "should would will has have may might in according"
)
_DANGLING = _set(
    "a an the of and or to in on for with about from by is are was that this these my your "
    "his her their its but as at into than if after before over under between through"
)
_FILLER = _set(
    "what how why who when where which is are was were do does did can could should would "
    "will i me we you my our it be there please tell explain"
)
_STOP = _DANGLING | _FILLER | _set("say mean means some not no yes way exactly really simply")
_PLACEHOLDERS = frozenset({"new chat", "title", "untitled", "conversation", "chat", "question"})
_DEBRIS = re.compile(r"[{}\[\]<>|\\`*#_=~^@]|https?://|\.\.|…")
_NUMBER_SOUP = re.compile(r"\d{5,}|\d{1,2}:\d{2}|\d{4}-\d{2}|(?:\d+\D+){3}\d")
_LABEL = re.compile(r"^\s*(?:re|title|subject|topic)\s*:\s*", re.IGNORECASE)
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")
_WORD = re.compile("[^\\W\\d_][\\w'\u2019-]*")
_LONGEST_WORD = 13  # longer is mostly a small model's glued garble ("thansurelyrepl")
_GLUED_PIECES = 4
_CLOSERS = ")'\"\u2019\u201d"  # what may stand before the final "?"


def words_of(text: str) -> list[str]:
    """Lower-case words without a possessive "'s" or inner apostrophes ("don't" = "dont")."""
    words = (re.sub("['\u2019]s?$", "", w) for w in _WORD.findall(text.lower()))
    return [re.sub("['\u2019]", "", w) for w in words]


def content_words(text: str) -> set[str]:
    """Lower-case stems (first five letters) of the words that carry the topic."""
    return {w[:5] for w in words_of(text) if w not in _STOP and len(w) > 2}


def topic_words(query: str, recent: Iterable[str] = (), sources: Iterable[Any] = ()) -> set[str]:
    """What the conversation is about: the question, the recent turns, the sources' titles."""
    found = content_words(query)
    for text in recent:
        found |= content_words(text)
    for source in sources:
        title = source.get("item_title") if isinstance(source, dict) else None
        if isinstance(title, str):
            found |= content_words(title)
    return found


def same_question(one: str, other: str) -> bool:
    mine, theirs = content_words(one), content_words(other)
    if not mine or not theirs:
        return words_of(one) == words_of(other)
    return len(mine & theirs) / len(mine | theirs) >= _SIMILAR


def _tidy(text: str) -> str:
    text = _LIST_MARK.sub("", " ".join(str(text).split())).strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'\u201c\u201d":
        text = text[1:-1].strip()
    return text


@functools.cache
def _wordpiece() -> Any | None:
    """The retrieval model's WordPiece tokenizer (30k English pieces), or None without it."""
    try:
        from tokenizers import Tokenizer

        from emmaus.grounding.embedder import model_files

        tokenizer = Tokenizer.from_file(str(model_files()[1]))
    except Exception:  # not installed: the other rules still apply
        return None
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _glued(word: str, query_words: set[str]) -> bool:
    """A small model's run-together garble ("aboutlovingl", "derechoalcab") falls apart into
    four or more WordPiece pieces; real words rarely do (a rare name the user wrote is fine)."""
    tokenizer = _wordpiece()
    if tokenizer is None or len(word) < 8 or word in query_words:
        return False
    return len(tokenizer.encode(word, add_special_tokens=False).tokens) >= _GLUED_PIECES


def _garbled(words: Sequence[str], query: str = "") -> bool:
    query_words = set(words_of(query))  # the user's own long or rare words are fine
    if any(len(w) > _LONGEST_WORD and w not in query_words for w in words):
        return True
    if any(_glued(w, query_words) for w in words):
        return True
    if any(a == b for a, b in itertools.pairwise(words)):
        return True  # "grace, grace, grace"
    return any(words.count(w) > 3 for w in set(words))


def suggestion_problem(
    text: str, query: str, kept: Sequence[str], topic: set[str] | None = None
) -> str | None:
    """Why `text` cannot be shown as a follow-up to `query` beside `kept`; None when it can."""
    words = text.split()
    lowered = words_of(text)
    if not text.endswith("?") or text.count("?") != 1:
        return "not one question"
    if not MIN_SUGGESTION_WORDS <= len(words) <= MAX_SUGGESTION_WORDS:
        return "length"
    if not lowered or lowered[0] not in QUESTION_OPENERS or not text[0].isupper():
        return "not a question"
    if _DEBRIS.search(text) or _NUMBER_SOUP.search(text):
        return "debris"
    if (not text[-2].isalnum() and text[-2] not in _CLOSERS) or lowered[-1] in _DANGLING:
        return "incomplete"
    if _garbled(lowered, query):
        return "garbled"
    if same_question(text, query):
        return "the user's question"
    if any(same_question(text, other) for other in kept):
        return "repeated"
    if topic is not None and not content_words(text) & topic:
        return "off topic"
    return None


def usable_suggestions(
    candidates: Iterable[str], query: str, topic: set[str], kept: Sequence[str] = ()
) -> list[str]:
    """The candidates (tidied) that pass, after `kept`, in order."""
    chosen = list(kept)
    for candidate in candidates:
        text = _tidy(candidate)
        if text:
            text = text[0].upper() + text[1:]
        if text and suggestion_problem(text, query, chosen, topic) is None:
            chosen.append(text)
    return chosen[len(kept) :]


def title_problem(text: str, query: str) -> str | None:
    words = text.split()
    lowered = words_of(text)
    if not MIN_TITLE_WORDS <= len(words) <= MAX_TITLE_WORDS or len(text) > MAX_TITLE_CHARS:
        return "length"
    if _DEBRIS.search(text) or _NUMBER_SOUP.search(text) or not text[0].isalnum() or "?" in text:
        return "debris"
    if not lowered or _garbled(lowered, query):
        return "garbled"
    if " ".join(lowered) in _PLACEHOLDERS:
        return "placeholder"
    if lowered[-1] in _DANGLING:
        return "incomplete"
    if not content_words(text) & content_words(query):
        return "off topic"
    return None


def usable_title(text: str | None, query: str) -> str | None:
    """The model's title, tidied ("re:", quotes, end punctuation), if it passes."""
    if not text:
        return None
    title = _tidy(_LABEL.sub("", _tidy(text))).rstrip(" .,:;!?")
    if not title:
        return None
    title = title[0].upper() + title[1:]
    return title if title_problem(title, query) is None else None


def title_from_query(query: str) -> str:
    """An extractive title from the first question: its words (without the asking ones, or
    the articles, when it is long), at most eight, never ending on "of" or "the"."""
    words = [w.strip(".,;:!?\"'\u201c\u201d()") for w in query.split()]
    words = [w for w in words if w and not _DEBRIS.search(w)]
    if len(words) > MAX_TITLE_WORDS:
        while len(words) > 2 and words[0].lower() in _FILLER:
            words = words[1:]
    if len(words) > MAX_TITLE_WORDS:
        words = [w for w in words if w.lower() not in ("a", "an", "the")]
    words = words[:MAX_TITLE_WORDS]
    while len(words) > 1 and words[-1].lower() in _DANGLING:
        words = words[:-1]
    if not words:
        return "New chat"
    if len(words) == 1:
        words = ["About", words[0]]
    title = " ".join(words)[:MAX_TITLE_CHARS].rstrip()
    return title[0].upper() + title[1:]


_SOURCE_QUESTIONS = ("What is the context of {title}?", "What else does {title} say?")


def source_suggestions(
    sources: Iterable[Any], query: str, kept: Sequence[str], limit: int
) -> list[str]:
    """Follow-ups from the retrieved sources' titles, when the model wrote none usable."""
    titles: list[str] = []
    for source in sources:
        title = source.get("item_title") if isinstance(source, dict) else None
        if not isinstance(title, str):
            continue
        title = re.sub(r"\.(md|txt|pdf|html?|docx?)$", "", " ".join(title.split()), flags=re.I)
        title = title.replace("_", " ").strip()
        if title and len(title.split()) <= 6 and title.lower() not in {t.lower() for t in titles}:
            titles.append(title)
    questions = [
        _SOURCE_QUESTIONS[index % len(_SOURCE_QUESTIONS)].format(title=title)
        for index, title in enumerate(titles)
    ]
    topic = topic_words(query, sources=sources)
    return usable_suggestions(questions, query, topic, kept)[:limit]
