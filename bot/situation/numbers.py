"""Numbers as claimants write them: digits, Chinese numerals and English number words. Pure.

Two readings. `chinese_number` reads a numeral exactly: '十五' 15, '二十三' 23, '一九六六' 1966 (digit
by digit, as years are written). `count_value` reads a count said loosely, as a whole number that
never says more than the claimant did: '二十多' 20 and 'over 20' 20 ("more than" counts as its lower
bound), '三四' 3 and '5-6' 5 (a range counts as its lower end), '4.5' 4 (completed units only).
"""
from __future__ import annotations

import re
from typing import Optional

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}

#: A Chinese numeral, as a regex character class run.
ZH_NUMERAL = r"[零〇一二两三四五六七八九十]+"
_ZH_NUMERAL = re.compile(ZH_NUMERAL)

EN_NUMBERS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
           "ninety": 90}
_UNITS = "|".join(sorted((w for w, n in EN_NUMBERS.items() if 1 <= n <= 9), key=len, reverse=True))
_TENS = "|".join(EN_TENS)
_TEENS = "|".join(sorted((w for w, n in EN_NUMBERS.items() if n == 0 or n >= 10), key=len, reverse=True))

#: An English count: digits (a decimal or a range too: '4.5', '5-6') or number words ('twenty-five').
EN_COUNT = (rf"(?:\d+(?:\.\d+)?(?:\s*(?:-|–|to|or)\s*\d+)?"
            rf"|(?:{_TENS})(?:[- ](?:{_UNITS}))?|{_TEENS}|{_UNITS})")
#: A Chinese count: digits or a numeral, with 多/几/来 ("and more") after it: '二十多', '十几', '6'.
ZH_COUNT = rf"(?:\d+(?:\.\d+)?(?:\s*[-~～到至]\s*\d+)?|{ZH_NUMERAL})(?:多|几|来)?"


def chinese_number(numeral: str) -> Optional[int]:
    """'十五' -> 15, '二十' -> 20, '三' -> 3, '一九六六' -> 1966 (digit by digit); None otherwise."""
    if not numeral or any(ch not in _DIGITS and ch != "十" for ch in numeral):
        return None
    if "十" not in numeral:
        value = 0
        for ch in numeral:
            value = value * 10 + _DIGITS[ch]
        return value
    tens, _, ones = numeral.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)


def count_value(token: str) -> Optional[int]:
    """A loosely said count as a whole number that never overstates it (see the module's note):
    '6' 6, '4.5' 4, '5-6' 5, '十五' 15, '二十多' 20, '十几' 10, '三四' 3, 'twenty-five' 25."""
    t = token.strip().lower()
    t = re.sub(r"[多几来]$", "", t)
    digits = re.match(r"(\d+)(?:\.\d+)?", t)
    if digits:
        return int(digits.group(1))
    if t in EN_NUMBERS:
        return EN_NUMBERS[t]
    compound = re.fullmatch(rf"({_TENS})(?:[- ]({_UNITS}))?", t)
    if compound:
        return EN_TENS[compound.group(1)] + (EN_NUMBERS[compound.group(2)] if compound.group(2) else 0)
    if not t or not _ZH_NUMERAL.fullmatch(t):
        return None
    if "十" in t:
        return chinese_number(t)
    if len(t) == 2 and _DIGITS[t[0]] + 1 == _DIGITS[t[1]] or t in ("一两",):  # 三四 = three or four
        return _DIGITS[t[0]]
    return _DIGITS[t] if len(t) == 1 else None


def to_arabic(text: str) -> str:
    """`text` with Chinese numerals and English number words (one to forty) written in digits."""
    text = _ZH_NUMERAL.sub(lambda m: str(chinese_number(m.group()) or m.group()), text)
    words = {**EN_NUMBERS, "none": 0, "a": 1, "twenty": 20, "thirty": 30, "forty": 40}
    return re.sub(r"\b(" + "|".join(sorted(words, key=len, reverse=True)) + r")\b",
                  lambda m: str(words[m.group()]), text)
