"""Normalising claimant text before NLU: pure functions, no Rasa.

What claimants send is messy: full-width Latin letters from Chinese input methods, Traditional
characters, control characters pasted from documents, and now and then a whole letter. NLU sees
one clean form; the tracker keeps the claimant's own words untouched.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import zhconv

#: Longest message NLU reads, in characters. Longer messages are read up to here and the claimant
#: is told; the whole message still goes into the tracker. Documented in docs/bad-input.md.
MAX_NLU_CHARS = 2000

# Terminal colour codes pasted with text ("\x1b[31m"): the whole sequence, not only the ESC.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\ufffd]")  # zero-width, BOM, undecodable bytes
_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORDISH = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)


@dataclass(frozen=True)
class Normalised:
    text: str
    original_length: int
    truncated: bool
    has_words: bool


def to_simplified(text: str) -> str:
    """Traditional characters to Simplified; everything else unchanged."""
    return zhconv.convert(text, "zh-cn")


def normalise(text: str | None, *, max_chars: int = MAX_NLU_CHARS) -> Normalised:
    """The form of `text` that NLU reads.

    Control and zero-width characters are dropped, full-width forms folded (NFKC), Traditional
    characters made Simplified, white space collapsed, and the result cut at `max_chars`.
    `has_words` is False for messages of only emoji, punctuation or space.
    """
    raw = text or ""
    cleaned = _CONTROL.sub(" ", _INVISIBLE.sub("", _ANSI_ESCAPE.sub("", raw)))
    cleaned = unicodedata.normalize("NFKC", cleaned)
    cleaned = _SPACE.sub(" ", cleaned).strip()
    truncated = len(cleaned) > max_chars
    if truncated:
        cleaned = cleaned[:max_chars]
    cleaned = to_simplified(cleaned)
    has_words = bool(_WORDISH.search(cleaned))
    return Normalised(text=cleaned, original_length=len(raw), truncated=truncated, has_words=has_words)


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))
