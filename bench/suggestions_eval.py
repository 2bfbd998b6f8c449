"""v1 follow-up suggestions and titles: the share a person would accept, on the embedded model.

    python -m bench.suggestions_eval [--limit 50] [--max-tokens 160] [--label after]
    python -m bench.suggestions_eval --rejudge bench/results/suggestions_eval_before.json

Each first question of `datasets/first_questions.jsonl` (50, written for this benchmark) goes
through `emmaus.services.chats.extras.generate_extras` exactly as the first turn of a v1 chat
asks it (suggestions and a title, the catalog's JSON-capable model: the embedded SmolLM2-135M
when nothing else is configured), and what a user would then be shown is judged by the rules
below (`judge_suggestion`, `judge_title`), written here apart from the service's own checks:

- a suggestion: one question (ends with "?", no other "?"), a sentence (capital first), 3 to
  20 words, complete (does not stop on "the", "of", "and", ...), no markup, code or list
  debris, not the user's question again nor a restatement of it (75% of its content words
  shared), not a repeat of another suggestion;
  Garbled words count against both: longer than 13 letters, or falling apart into four or more
  pieces of the retrieval model's WordPiece vocabulary (a small model's run-together words),
  unless the user wrote them;
- a title: 2 to 8 words, no timestamp, date or number soup (a short number like "Psalm 23" is
  fine), no debris ("re:", braces, underscores), about the topic (shares a content word with
  the question), complete (one phrase, not ending on "and" or a comma), not a placeholder
  ("New chat", "Title").

The title shown is the model's, else the plain one from the question (as the turn does). Writes
`bench/results/suggestions_eval_<label>.json` with every answer, so a sample can be read.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import json
import re
import time
from pathlib import Path
from typing import Any

DATA = Path("datasets/first_questions.jsonl")
RESULTS = Path(__file__).with_name("results")

_DANGLING = {
    "a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "with", "about", "from",
    "by", "is", "are", "was", "that", "this", "my", "your", "his", "her", "their", "its", "but",
}  # fmt: skip
_STOP = _DANGLING | {
    "what", "who", "how", "why", "when", "where", "which", "do", "does", "did", "can", "could",
    "should", "would", "i", "me", "we", "our", "you", "it", "be", "mean", "say", "tell",
    "explain", "some", "there", "if", "at", "as", "so", "not", "no", "yes", "between", "way",
}  # fmt: skip
_PLACEHOLDERS = {"new chat", "title", "conversation", "untitled", "chat", "question"}
_JUNK = re.compile(r"[{}\[\]<>|\\`*#_=~^]|https?://|\.\.\.|…|^\s*(re|title|subject)\s*:", re.I)
_NUMBER_SOUP = re.compile(r"\d{5,}|\d{1,2}:\d{2}|\d{4}-\d{2}|(\d+\D+){3}\d")
_WORD = re.compile("[A-Za-z][A-Za-z'\u2019-]*")


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _content(text: str) -> set[str]:
    words = (re.sub("['\u2019]s?$", "", w) for w in _WORD.findall(text.lower()))
    return {w[:5] for w in words if w not in _STOP and len(w) > 2}


def _restates(text: str, other: str) -> bool:
    mine, theirs = _content(text), _content(other)
    if not mine or not theirs:
        return _norm(text) == _norm(other)
    return len(mine & theirs) / len(mine | theirs) >= 0.75


@functools.cache
def _pieces() -> Any:
    from tokenizers import Tokenizer

    from emmaus.grounding.embedder import model_files

    tokenizer = Tokenizer.from_file(str(model_files()[1]))
    tokenizer.no_padding()
    return tokenizer


def _garbled(text: str, question: str) -> bool:
    asked = set(_WORD.findall(question.lower()))
    for word in _WORD.findall(text.lower()):
        if word in asked:
            continue
        if len(word) > 13 or len(_pieces().encode(word, add_special_tokens=False).tokens) >= 4:
            return True
    return False


def judge_suggestion(text: str, question: str, others: list[str]) -> str | None:
    """None when usable, else why not."""
    stripped = text.strip()
    words = stripped.split()
    if not stripped.endswith("?") or stripped.count("?") > 1:
        return "not a question"
    if not 3 <= len(words) <= 20:
        return f"{len(words)} words"
    if _JUNK.search(stripped):
        return "debris"
    last = _WORD.findall(stripped.lower())
    if not last or last[-1] in _DANGLING:
        return "incomplete"
    if not stripped[0].isupper():
        return "not a sentence"
    if _garbled(stripped, question):
        return "garbled"
    if _restates(stripped, question):
        return "the user's question"
    if any(_restates(stripped, other) for other in others):
        return "repeated"
    return None


def judge_title(text: str | None, question: str) -> str | None:
    if not text or not text.strip():
        return "none"
    words = text.split()
    if not 2 <= len(words) <= 8:
        return f"{len(words)} words"
    if _NUMBER_SOUP.search(text) or _JUNK.search(text):
        return "digits or debris"
    if _garbled(text, question):
        return "garbled"
    if _norm(text) in _PLACEHOLDERS:
        return "placeholder"
    body = text.strip().rstrip("?.!").rstrip()
    words = _WORD.findall(body.lower())
    if "?" in body or not words or not body[-1].isalnum() or words[-1] in _DANGLING:
        return "incomplete"
    if not _content(text) & _content(question):
        return "off topic"
    return None


def judge(question: str, suggestions: list[str], title: str | None) -> dict[str, Any]:
    verdicts = []
    for index, suggestion in enumerate(suggestions):
        verdicts.append(judge_suggestion(suggestion, question, suggestions[:index]))
    return {
        "suggestions": [
            {"text": s, "problem": v} for s, v in zip(suggestions, verdicts, strict=True)
        ],
        "title": {"text": title, "problem": judge_title(title, question)},
    }


async def run(limit: int, max_tokens: int) -> dict[str, Any]:
    from emmaus.catalog import load_catalog
    from emmaus.config import get_settings
    from emmaus.services.chats import extras as extras_module
    from emmaus.system import Engine

    settings = get_settings()
    engine = Engine.build(settings, load_catalog(settings.models))
    lines = DATA.read_text().splitlines()  # noqa: ASYNC240 (once, before anything runs)
    rows = [json.loads(line) for line in lines if line.strip()][:limit]
    accepts = inspect.signature(extras_module.generate_extras).parameters
    calls = 0
    complete = engine.completions.complete

    async def counted(*args: Any, **kwargs: Any) -> Any:  # model calls per turn, for the cost
        nonlocal calls
        calls += 1
        return await complete(*args, **kwargs)

    engine.completions.complete = counted  # type: ignore[method-assign]
    results = []
    started = time.perf_counter()
    try:
        for row in rows:
            question = row["question"]
            kwargs: dict[str, Any] = {
                "want_suggestions": True,
                "want_title": True,
                "max_tokens": max_tokens,
            }
            if "sources" in accepts:
                kwargs["sources"] = []  # no library: the eval judges what the model writes
            extras = await extras_module.generate_extras(engine.completions, question, [], **kwargs)
            title = extras.title or extras_module.title_from_query(question)
            verdict = judge(question, extras.suggestions, title)
            verdict.update(question=question, model_title=extras.title)
            results.append(verdict)
    finally:
        await engine.aclose()
    return {"seconds": time.perf_counter() - started, "results": results, "calls": calls}


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    shown = [s for r in results for s in r["suggestions"]]
    usable = [s for s in shown if s["problem"] is None]
    turns = len(results)
    good_sets = sum(
        1
        for r in results
        if r["suggestions"] and all(s["problem"] is None for s in r["suggestions"])
    )
    no_junk = sum(1 for r in results if all(s["problem"] is None for s in r["suggestions"]))
    titles = sum(1 for r in results if r["title"]["problem"] is None)
    model_titles = sum(1 for r in results if r["model_title"])
    problems: dict[str, int] = {}
    for s in shown:
        if s["problem"]:
            key = s["problem"] if "words" not in s["problem"] else "length"
            problems[key] = problems.get(key, 0) + 1
    return {
        "turns": turns,
        "suggestions_shown": len(shown),
        "suggestions_usable": len(usable),
        "share_usable_suggestions": len(usable) / len(shown) if shown else None,
        "turns_with_usable_suggestions_only": good_sets / turns,
        "turns_shown_no_nonsense": no_junk / turns,
        "turns_without_suggestions": sum(1 for r in results if not r["suggestions"]) / turns,
        "share_usable_titles": titles / turns,
        "titles_from_model": model_titles / turns,
        "suggestion_problems": problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=160, help="the v1 default")
    parser.add_argument("--label", default="run", help="results file suffix (before, after)")
    parser.add_argument("--rejudge", type=Path, help="score a results file again (no model)")
    args = parser.parse_args()
    if args.rejudge:
        saved = json.loads(args.rejudge.read_text())
        outcome = {
            "seconds": saved["summary"]["seconds"],
            "calls": saved["summary"].get("model_calls"),
            "results": [],
        }
        for old in saved["results"]:
            texts = [s["text"] for s in old["suggestions"]]
            verdict = judge(old["question"], texts, old["title"]["text"])
            verdict.update(question=old["question"], model_title=old["model_title"])
            outcome["results"].append(verdict)
        args.label = args.rejudge.stem.removeprefix("suggestions_eval_")
    else:
        outcome = asyncio.run(run(args.limit, args.max_tokens))
    summary = summarise(outcome["results"])
    summary["seconds"] = round(outcome["seconds"], 1)
    summary["model_calls"] = outcome["calls"]
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"suggestions_eval_{args.label}.json"
    path.write_text(json.dumps({"summary": summary, "results": outcome["results"]}, indent=1))
    for key, value in summary.items():
        print(f"{key:36} {value:.2f}" if isinstance(value, float) else f"{key:36} {value}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
