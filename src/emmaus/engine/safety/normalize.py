"""Text normalisation shared by training, inference and the patterns.

The output is lowercase ASCII words separated by single spaces, with " . " where a sentence or
line ended: Unicode folded (NFKD, accents dropped), apostrophes removed ("don't" -> "dont",
"I'm" -> "im"), leetspeak inside words undone ("k1ll" -> "kill", "$uicide" -> "suicide"),
letters spelled out one by one joined ("s u i c i d e" -> "suicide"), runs of a letter cut to
two, and a small table of misspellings, slang and contractions rewritten to one plain form
("kms" -> "kill myself", "unalive" -> "kill", "sewerslide" -> "suicide", "i am" -> "im").
Everything downstream sees only this form. Each step is one C-level pass (translate, split or
a regular expression), so a 1,000-character message takes a few tens of microseconds."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_OD = re.compile(r"\bo\.?d(?:'d|'ed|ed)\b")
# Digits and symbols standing for letters, only inside a word that also has letters.
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
# Only a digit or symbol touching a letter can be leetspeak ("k1ll", "$uicide"; not "3 months").
_HAS_LEET = re.compile(r"[a-z][0-9@$]|[0-9@$][a-z]")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_LEET_WORD = re.compile(r"[a-z0-9@$]*[0-9@$][a-z0-9@$]*")
_LETTER = re.compile(r"[a-z]")
_NUMBER_UNIT = re.compile(r"\d+[a-z]{0,3}|[a-z]{1,2}\d+")  # 3am, 50mg, 2nd, b12: not leetspeak
# Sentence ends become a marker, every other non-alphanumeric ASCII character a space.
_MARK = "\x00"
_KEEP = set("abcdefghijklmnopqrstuvwxyz0123456789.!?;\n")
_TO_SPACE = str.maketrans({chr(i): " " for i in range(128) if chr(i) not in _KEEP})
_ENDS_TO_DOT = str.maketrans({"!": ".", "?": ".", ";": ".", "\t": " ", "\r": " "})
_PUNCT_TO_SPACE = str.maketrans({".": " "})
# Letters spelled out ("s u i c i d e"), or a letter repeated three times or more.
_TRIPLE = re.compile(r"([a-z])\1\1")
_SINGLES = re.compile(r" [a-z] [a-z] [a-z] [a-z] ")
_SPELLED_OR_REPEATED = re.compile(r"\b(?:[a-z] ){3,}[a-z]\b|([a-z])\1{2,}")

# Whole-word and phrase rewrites (after the steps above). Only forms whose meaning is plain.
_REWRITES: dict[str, str] = {
    "kms": "kill myself",
    "kys": "kill yourself",
    "unalive": "kill",
    "unalived": "killed",
    "unaliving": "killing",
    "unalives": "kills",
    "sewerslide": "suicide",
    "sewer slide": "suicide",
    "suicde": "suicide",
    "sucide": "suicide",
    "suiside": "suicide",
    "suicid": "suicide",
    "suacide": "suicide",
    "suicied": "suicide",
    "sucidal": "suicidal",
    "suicdal": "suicidal",
    "suisidal": "suicidal",
    "suicidle": "suicidal",
    "selfharm": "self harm",
    "selfharming": "self harming",
    "myslef": "myself",
    "mysef": "myself",
    "meself": "myself",
    "off myself": "kill myself",
    "kil": "kill",
    "wanna": "want to",
    "wana": "want to",
    "wnat": "want",
    "gonna": "going to",
    "gunna": "going to",
    "tryna": "trying to",
    "gotta": "got to",
    "u": "you",
    "ur": "your",
    "urself": "yourself",
    "yourslef": "yourself",
    "i m": "im",
    "i am": "im",
    "i ve": "ive",
    "do not": "dont",
    "can not": "cant",
    "cannot": "cant",
    "will not": "wont",
    "pls": "please",
    "plz": "please",
    "rn": "right now",
    "idk": "i dont know",
    "idc": "i dont care",
    "ded": "dead",
    "od": "overdose",
    "oded": "overdosed",
    "ctb": "suicide",
    "bf": "boyfriend",
    "gf": "girlfriend",
    "stepdad": "step dad",
    "stepfather": "step father",
    "stepmom": "step mom",
    "cuz": "because",
    "coz": "because",
    "bc": "because",
    "ppl": "people",
    "abt": "about",
    "thx": "thanks",
    "tho": "though",
    "w": "with",
}
_WORD_REWRITES = {k: v for k, v in _REWRITES.items() if " " not in k}
_PHRASE_REWRITES = {k: v for k, v in _REWRITES.items() if " " in k}
_PHRASE = re.compile(r"\b(?:" + "|".join(re.escape(k) for k in _PHRASE_REWRITES) + r")\b")
# "sh" is self-harm only where it is used as a thing one does or relapses on.
_SH = re.compile(r"\b(relapsed on|relapse on|urge to|urges to|clean from|do|did|doing) sh\b")


def _leet(match: re.Match[str]) -> str:
    word = match.group(0)
    if len(word) < 3 or not _LETTER.search(word) or _NUMBER_UNIT.fullmatch(word):
        return word
    return word.translate(_LEET)


def _maybe_spelled_or_repeated(text: str) -> bool:
    """Cheap tests (a literal-led search is fast) so that the full expression runs only on the
    rare text with a letter three times in a row or one-letter words in a row."""
    return _TRIPLE.search(text) is not None or _SINGLES.search(f" {text} ") is not None


def _spelled_or_repeated(match: re.Match[str]) -> str:
    letter = match.group(1)
    return letter + letter if letter else match.group(0).replace(" ", "")


def _phrase(match: re.Match[str]) -> str:
    return _PHRASE_REWRITES[match.group(0)]


@lru_cache(maxsize=1024)
def normalize(text: str) -> str:
    """The normalised form of `text` (cached: the same context turns are seen many times)."""
    if not text.isascii():
        text = text.translate(_APOSTROPHES)
        text = unicodedata.normalize("NFKD", _INVISIBLE.sub("", text))
        text = _NON_ASCII.sub(" ", _COMBINING.sub("", text))
    text = text.lower()
    if "od'" in text or "oded" in text or "o.d" in text:
        text = _OD.sub("overdosed", text)
    text = text.replace("'", "")  # "don't" -> "dont"; a quote mark elsewhere is noise anyway
    if (any(ch in text for ch in "0123456789@$")) and _HAS_LEET.search(text):
        text = _LEET_WORD.sub(_leet, text)
    # Sentence ends ("." "!" "?" ";" before a space or the end, or a line break) become a mark;
    # any other of those characters (findahelpline.com, 1.5) a space. String operations only.
    text = text.translate(_TO_SPACE).translate(_ENDS_TO_DOT)
    while ".." in text:
        text = text.replace("..", ".")
    text = text.replace(". ", _MARK).replace("\n", _MARK).translate(_PUNCT_TO_SPACE)
    if text.endswith("."):
        text = text[:-1] + _MARK
    text = " ".join(text.replace(_MARK, " . ").split())
    while " . ." in text:
        text = text.replace(" . .", " .")
    while text.startswith(". ") or text == ".":
        text = text[2:]
    if text.endswith(" ."):
        text = text[:-2]
    if _maybe_spelled_or_repeated(text):
        text = _SPELLED_OR_REPEATED.sub(_spelled_or_repeated, text)
    words = text.split(" ")
    if not _WORD_REWRITES.keys().isdisjoint(words):
        rewrite = _WORD_REWRITES.get
        text = " ".join([rewrite(word, word) for word in words])
    if any(phrase in text for phrase in _PHRASE_REWRITES):
        text = _PHRASE.sub(_phrase, text)
    if " sh " in text or text.endswith(" sh"):
        text = _SH.sub(r"\1 self harm", text)
    return text
