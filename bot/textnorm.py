"""Normalising claimant text before NLU: pure functions, no Rasa.

What claimants send is messy: full-width Latin letters from Chinese input methods, Traditional
characters, control characters pasted from documents, and now and then a whole letter. NLU sees
one clean form; the tracker keeps the claimant's own words untouched.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Tuple

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
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\x85\u2028\u2029]")


@dataclass(frozen=True)
class Normalised:
    text: str
    original_length: int
    truncated: bool
    has_words: bool
    #: Offsets in `text` where the claimant started a new line (the line break itself became a
    #: space): where a sentence may end without a full stop (bot/sentences.py).
    breaks: Tuple[int, ...] = ()


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
    cleaned = _clean(raw)
    truncated = len(cleaned) > max_chars
    if truncated:
        cleaned = cleaned[:max_chars]
    cleaned = to_simplified(cleaned)
    has_words = bool(_WORDISH.search(cleaned))
    return Normalised(text=cleaned, original_length=len(raw), truncated=truncated, has_words=has_words,
                      breaks=_line_starts(raw, cleaned))


def _clean(raw: str) -> str:
    """Control and zero-width characters dropped, full-width forms folded, white space collapsed."""
    cleaned = _CONTROL.sub(" ", _INVISIBLE.sub("", _ANSI_ESCAPE.sub("", raw)))
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", cleaned)).strip()


def _line_starts(raw: str, text: str) -> Tuple[int, ...]:
    """Where each of `raw`'s lines after the first starts in `text` (its normalised form). Each
    line is cleaned as `normalise` cleans the whole; the lines joined with a space are the text
    (cut at its length); if a character folded across a line's end they are not, and no offsets
    are given rather than wrong ones."""
    if not _LINE_BREAK.search(raw):
        return ()
    lines = [line for line in map(_clean, _LINE_BREAK.split(raw)) if line]
    starts, position = [], 0
    for line in lines[:-1]:
        position += len(line) + 1
        if position >= len(text):
            break
        starts.append(position)
    joined = " ".join(lines)[:len(text)]
    return tuple(starts) if len(joined) == len(text) and to_simplified(joined) == text else ()


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))
