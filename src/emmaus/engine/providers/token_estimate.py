"""A calibrated token estimate for models whose tokenizer we do not hold (remote upstreams).

Calibration (BPE tokenizers of the GPT-4 / Llama-3 / SmolLM2 kind, measured on English prose,
chat turns, code and JSON): English averages ~4 characters per token, and a word is at least one
token, so `max(chars / 4, words)` is close for prose and does not undercount lists of short words
or numbers. Text outside ASCII costs more: accented Latin letters and CJK characters take one or
more tokens each, so every non-ASCII character counts as 1/1.5 of a token on top of its share of
the ASCII rate. The estimate is meant for context-window budgets, where erring high is safe.
"""

from __future__ import annotations

CHARS_PER_TOKEN = 4.0
NON_ASCII_TOKENS_PER_CHAR = 1 / 1.5
PER_MESSAGE_TOKENS = 4  # role and separators a chat template adds to every message


def estimate_tokens(text: str | None) -> int:
    if not text:
        return 0
    length = len(text)
    words = len(text.split())
    if text.isascii():
        by_chars = length / CHARS_PER_TOKEN
    else:
        wide = sum(1 for ch in text if ord(ch) > 127)
        by_chars = (length - wide) / CHARS_PER_TOKEN + wide * NON_ASCII_TOKENS_PER_CHAR
    return max(int(by_chars + 0.999), words, 1)
