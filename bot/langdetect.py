"""Which language a claimant is writing in: a pure function, no Rasa.

Claimants mix languages ("我的pension怎么查"), answer with a digit or an emoji, and sometimes ask
outright for the other language. The rule: an explicit request wins; otherwise a message with
Chinese characters in it is Chinese (a Chinese writer borrowing an English word), a message of
English words is English, and anything else (digits, emoji, "ok") keeps the language already in use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from core.language_codes import EN, ZH
from bot.textnorm import cjk_count

_ASK_FOR_EN = re.compile(
    r"(?i)(\b(in|speak|use|reply in|answer in|switch to)\s+english\b|\benglish\s+(please|pls)\b"
    r"|^english$|说英文|说英语|用英文|用英语|英文回答|英语回答|切换.{0,2}英文)"
)
_ASK_FOR_ZH = re.compile(
    r"(?i)(\b(in|speak|use|reply in|answer in|switch to)\s+(chinese|mandarin|putonghua)\b"
    r"|\b(chinese|mandarin)\s+(please|pls)\b|^(chinese|zhongwen)$|说中文|用中文|说普通话|中文回答|切换.{0,2}中文)"
)
# Short English words that are also used alone by Chinese writers ("ok", "hi"): not enough
# to switch a Chinese conversation to English.
_NEUTRAL = {"ok", "okay", "hi", "hello", "yes", "no", "thx", "thanks", "bye", "app", "id"}


@dataclass(frozen=True)
class Detection:
    code: Optional[str]  # None: no evidence either way; keep the current language
    explicit: bool = False  # the claimant asked for this language
    weak: bool = False  # a word like "ok" or "hi": decides only when no language is set yet


def detect_language(text: str) -> Detection:
    if _ASK_FOR_EN.search(text):
        return Detection(EN, explicit=True)
    if _ASK_FOR_ZH.search(text):
        return Detection(ZH, explicit=True)
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", text)]
    chinese = cjk_count(text)
    if chinese:
        # "Can I get 低保?" is English with a borrowed term; "我的pension呢" is the reverse.
        english_sentence = len(words) >= 3 and chinese <= len(words)
        return Detection(EN if english_sentence else ZH)
    if not words:
        return Detection(None)
    # One short fragment ("m", "ID") is not enough evidence to change a conversation's language.
    weak = len(words) == 1 and (words[0] in _NEUTRAL or len(words[0]) < 3)
    return Detection(EN, weak=weak)


def choose_language(detection: Detection, current: Optional[str], default: str = ZH) -> str:
    """The language to answer in, given this message's detection and the conversation's."""
    if detection.code and not (detection.weak and current):
        return detection.code
    return current or default
