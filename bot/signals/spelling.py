"""Spelling normalisation before matching: what people write to get past filters, or in dialect.

- Listed variants (`spelling.yml` per language): online euphemisms and homophones (紫砂 -> 自杀,
  kms -> kill myself), Cantonese forms (唔 -> 不, 冇 -> 没, 咗 -> 了), pinyin initials (bxhl).
  Chinese variants are replaced wherever they occur; English ones as whole words.
- English letters hidden by symbols: letters split by `*`, `.`, `-`, `_` or spaces
  ("k-i-l-l", "s.u.i.c.i.d.e") are joined, and digits or symbols inside a word are read as the
  letters they stand for ("su1c1de", "k!ll", "$uicide"); in a message with more words written
  so, also at a word's edge ("1 w4nt t0 d13").
The result is what the matchers and the model read; evidence quotes it.
"""
from __future__ import annotations

import re
from typing import Dict, Mapping, Optional, Pattern

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
# A word with a digit or symbol between letters ("su1c1de", "k!ll") or a symbol first ("$uicide");
# form codes ("ESA50", "P45") end in digits and are left alone.
_LEET_WORD = re.compile(r"(?<![\w@$!])(?:[a-z][a-z0-9@$!]*[013457@$!][a-z0-9@$!]*[a-z]|[$@][a-z]{2,})(?![\w@$!])",
                        re.IGNORECASE)
# In a message with one such word and more written so, also words that begin or end with a digit ("t0", "d13",
# "3nd1ng", "m3") and a lone "1" (I). Alone, "P45", "ESA50" and "1099" stay form codes.
_LEET_EDGE = re.compile(r"(?<![\w@$!])(?:[0-9@$!]*[a-z][a-z0-9@$!]*[0-9@$!]|[0-9@$!]+[a-z][a-z0-9@$!]*|1)(?![\w@$!])",
                        re.IGNORECASE)
# Single letters joined by one separator each: "k-i-l-l", "s.u.i.c.i.d.e", "d i e" (3+ letters).
_SPLIT_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z](?:[*.\-_ ][A-Za-z]){2,}(?![A-Za-z])")
# A star or similar standing for one letter inside a word: "s*icide", "k*ll myself".
_STARRED = re.compile(r"(?<![A-Za-z])([A-Za-z]+)\*+([A-Za-z]+)")
_STAR_FILL = {"s*icide": "suicide", "k*ll": "kill", "d*e": "die", "su*cide": "suicide", "suic*de": "suicide",
              "c*tting": "cutting", "c*t": "cut", "c*ts": "cuts", "h*ng": "hang", "k*lling": "killing"}


_SPACED_CJK = re.compile(r"(?<=[\u4e00-\u9fff])[ \u3000]+(?=[\u4e00-\u9fff])")


class Speller:
    """Built once from the spelling lists; `normalise` is then pure."""

    def __init__(self, spelling: Mapping[str, Mapping[str, str]]):
        zh = dict(spelling.get("zh", {}))
        # Chinese variants in Latin letters (pinyin initials: "bxhl") match as whole words, like English ones
        self.zh = {variant: meant for variant, meant in zh.items() if not variant.isascii()}
        self.en = {**{variant: meant for variant, meant in zh.items() if variant.isascii()}, **spelling.get("en", {})}
        self._zh = _alternation(self.zh, words=False)
        self._en = _alternation(self.en, words=True)

    def normalise(self, text: str) -> str:
        if not text:
            return text
        text = _SPACED_CJK.sub("", text)  # "安 眠 药", "自 杀": characters split to dodge a filter
        if self._zh is not None:
            text = self._zh.sub(lambda m: self.zh[m.group().lower()], text)
        if any("a" <= ch <= "z" for ch in text.lower()):
            text = _STARRED.sub(lambda m: _STAR_FILL.get(m.group().lower(), m.group()), text)
            text = _SPLIT_WORD.sub(_join_split, text)
            inside = len(_LEET_WORD.findall(text))
            if inside and inside + len(_LEET_EDGE.findall(text)) >= 3:  # written in digits: "1 w4nt t0 d13"
                text = _LEET_EDGE.sub(lambda m: m.group().translate(_LEET), text)
            text = _LEET_WORD.sub(lambda m: m.group().translate(_LEET), text)
            if self._en is not None:
                text = self._en.sub(lambda m: self.en[m.group().lower()], text)
        return text


def _join_split(match: "re.Match[str]") -> str:
    separators = set(re.findall(r"[*.\-_ ]", match.group()))
    letters = re.sub(r"[*.\-_ ]", "", match.group())
    # one kind of separator only; letters split by spaces ("a b c" lists) only from five letters
    if len(separators) != 1 or (separators == {" "} and len(letters) < 5):
        return match.group()
    return letters


def _alternation(mapping: Dict[str, str], *, words: bool) -> Optional[Pattern[str]]:
    if not mapping:
        return None
    body = "|".join(re.escape(v) for v in sorted(mapping, key=len, reverse=True))
    if words:
        return re.compile(rf"(?<![A-Za-z0-9])(?:{body})(?![A-Za-z0-9])", re.IGNORECASE)
    return re.compile(body, re.IGNORECASE)
