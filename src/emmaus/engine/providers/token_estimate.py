"""A calibrated token estimate for models whose tokenizer we do not hold (remote upstreams).

The rule: ASCII letters and spaces cost 1/4 token each (OpenAI's "~4 characters per token" for
English), digits and punctuation 1/2 (BPE vocabularies merge them poorly), text with any
non-ASCII character is taken as non-English (its letters cost 1/3), and every UTF-8 byte past a
character's first costs 0.6 (Cyrillic ~0.6 token per character, CJK ~1.2). A word is at least
one token. Everything is counted with C-speed string methods: no loop over characters.

Measured against the SmolLM2 BPE tokenizer (49k vocabulary: an English-centric, pessimistic
reference; GPT-4-class vocabularies need fewer tokens), estimate / real tokens: English prose
1.3, chat 1.0, lists of short words 1.0, Python source 1.0, JSON 1.0, French and Spanish 0.85,
German without umlauts 0.7, Russian 0.7, Chinese 0.6, digit runs 0.5 (SmolLM2 splits every
digit; GPT-4 groups three). Context budgets should keep a margin of ~20% for non-English text.
"""

from __future__ import annotations

import string

PER_MESSAGE_TOKENS = 4  # role and separators a chat template adds to every message
_PLAIN = str.maketrans("", "", string.ascii_letters + " \t\n\r")


def estimate_tokens(text: str | None) -> int:
    if not text:
        return 0
    length = len(text)
    others = len(text.translate(_PLAIN))  # digits, punctuation and non-ASCII characters
    if text.isascii():
        estimate = (length - others) / 4 + others / 2
    else:
        ascii_count = len(text.encode("ascii", "ignore"))
        wide = length - ascii_count
        extra_bytes = len(text.encode()) - length
        symbols = others - wide
        estimate = (ascii_count - symbols) / 3 + symbols / 2 + extra_bytes * 0.6
    return max(int(estimate + 0.999), len(text.split()), 1)
