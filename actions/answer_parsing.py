"""Reading claimants' answers to pre-check questions: pure functions.

Answers come as "十二年", "一年半", "18个月", "about 8 years", "1966年3月", "March 1966", "被辞退了",
"I quit", "单位欠薪我才辞职". Each parser returns None when it cannot tell, so the form asks again
rather than guess.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Optional, Tuple

from bot.situation.numbers import chinese_number, to_arabic
from bot.situation.work import EMPLOYER_FAULT_EN, EMPLOYER_FAULT_ZH, FAULT_DENIED
from bot.textnorm import to_simplified

__all__ = ["chinese_number", "parse_birth", "parse_group", "parse_leaving", "parse_years", "parse_yes_no"]

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}


def _clean(text: str) -> str:
    return to_simplified(unicodedata.normalize("NFKC", text or "")).strip().lower()


def parse_years(text: str) -> Optional[float]:
    """A period in years: '3年' 3.0, '一年半' 1.5, '18个月' 1.5, 'about 8 years' 8.0, '没交过' 0."""
    t = _clean(text)
    if re.search(r"没交|没有交|没缴|从来没|never paid|haven't paid|have not paid|^none$|^no$", t):
        return 0.0
    # Halves first: "a" is also the number word for one.
    t = t.replace("half a year", "0.5 years").replace("and a half", "and-half")
    t = to_arabic(t)
    t = re.sub(r"(\d+)\s*and-half", lambda m: f"{int(m.group(1)) + 0.5}", t)
    t = t.replace("半年", "0.5年")
    months = re.search(r"(\d+(?:\.\d+)?)\s*(个多月|个月|月|months?|mos?\b)", t)
    years = re.search(r"(\d+(?:\.\d+)?)\s*(多)?\s*(年|years?|yrs?)", t)
    total = None
    if years:
        total = float(years.group(1))
        if re.search(r"\d\s*年半|years? and-half", t):
            total += 0.5
    if months and not (years and months.start() < years.end()):
        total = (total or 0.0) + float(months.group(1)) / 12
    if total is None:
        bare = re.fullmatch(r"\D{0,6}?(\d+(?:\.\d+)?)\D{0,6}", t)
        if bare:
            total = float(bare.group(1))
    if total is None or total > 60:
        return None
    return round(total, 2)


_NO_ZH = re.compile(r"不是|没有|还没|没|否|不对|不|自己辞|主动辞|辞职|跳槽")
_YES_ZH = re.compile(r"是|对|嗯|有|好|可以|辞退|开除|裁员|解雇|不续签|不再续|到期|登记了|已经")
_NO_EN = re.compile(r"\b(no|nope|nah|not yet|not|haven't|have not|didn't|i resigned|resigned|i quit|quit|left voluntarily|n)\b")
_YES_EN = re.compile(r"\b(yes|yeah|yep|yup|sure|correct|right|i have|i did|i am|y|fired|dismissed|laid off|let go|made redundant|redundant|not renewed|contract ended|registered)\b")


def parse_yes_no(text: str) -> Optional[bool]:
    """True for yes, False for no, None when it is neither or both."""
    t = _clean(text)
    # The employer's choice, even when phrased with a negative ("单位不续签", "not renewed").
    if re.search(r"(不|没|没有|未)续(签|约)|不再续|not renewed|wasn't renewed|did not renew|didn't renew", t):
        return True
    if re.search(r"[\u4e00-\u9fff]", t):
        no, yes = bool(_NO_ZH.search(t)), bool(_YES_ZH.search(t))
        if no and yes:
            # "不是我自己要走" / "没有,被辞退的": the stronger, later clause decides.
            return True if re.search(r"辞退|开除|裁员|解雇|被", t) else False
        return True if yes else False if no else None
    no, yes = bool(_NO_EN.search(t)), bool(_YES_EN.search(t))
    if yes and not no:
        return True
    if no and not yes:
        return False
    if no and yes and re.search(r"fired|dismissed|laid off|let go|redundant", t):
        return True
    return None


# The employer did not pay wages or social insurance: a resignation for that reason counts as
# involuntary (Labour Contract Law art. 38), so it is recognised before any yes/no reading. The
# patterns are shared with the situation entities (bot/situation/work.py).
_UNSURE = re.compile(r"不知道|不清楚|不确定|说不清|\b(not sure|don't know|do not know|no idea)\b")
# "我自己想换工作辞的职" / "by my own choice", unless a dismissal is named too ("不是我自己辞的,是被辞退的").
_OWN_CHOICE = re.compile(r"自己.{0,8}(辞|走|离职)|主动(辞|离)|辞的职|跳槽|"
                         r"\b(own (choice|reasons?|accord)|by choice|voluntar(y|ily))\b")
_NOT_OWN_CHOICE = re.compile(r"(不是|并非|并不是)(我)?自己|"
                             r"\b(not|wasn't|was not) (my|by my) (own )?(choice|decision)\b")
_DISMISSAL = re.compile(r"辞退|开除|裁员|解雇|被|不续|没续|未续|"
                        r"\b(fired|dismissed|laid off|let go|redundan\w*|not renewed|didn't renew|did not renew)\b")

#: How a job ended, as the unemployment pre-check records it (keys of `leaving_reasons` in
#: data/kb/eligibility.yml).
DISMISSED, EMPLOYER_FAULT, RESIGNED = "dismissed", "employer_fault", "resigned"


def parse_leaving(text: str) -> Optional[str]:
    """How the job ended: EMPLOYER_FAULT ('单位欠薪我才辞职', 'I quit because my wages were
    unpaid'), DISMISSED ('是', '被辞退了', 'contract not renewed') or RESIGNED ('不是', 'I quit')."""
    t = _clean(text)
    if not FAULT_DENIED.search(t) and (EMPLOYER_FAULT_ZH.search(t) or EMPLOYER_FAULT_EN.search(t)):
        return EMPLOYER_FAULT
    if _UNSURE.search(t):
        return None
    if _NOT_OWN_CHOICE.search(t):
        return DISMISSED
    if _OWN_CHOICE.search(t) and not _DISMISSAL.search(t):
        return RESIGNED
    answer = parse_yes_no(t)
    return None if answer is None else DISMISSED if answer else RESIGNED


def parse_birth(text: str) -> Optional[Tuple[int, int]]:
    """(year, month) of birth: '1966年3月', '1966-03', '66年3月', 'March 1966', '3/1966'."""
    t = to_arabic(_clean(text))
    m = re.search(r"((?:19|20)?\d{2})\s*(?:年|[-/.])\s*(\d{1,2})\s*(?:月|$|\b)", t)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
    else:
        m = re.search(r"\b([a-z]{3})[a-z]*\.?\s+((?:19|20)\d{2})\b", t)
        m2 = re.search(r"\b(\d{1,2})\s*/\s*((?:19|20)\d{2})\b", t)
        if m and m.group(1) in _MONTHS:
            year, month = int(m.group(2)), _MONTHS[m.group(1)]
        elif m2:
            year, month = int(m2.group(2)), int(m2.group(1))
        else:
            return None
    if year < 100:
        year += 1900
    if not (1900 <= year <= 2015 and 1 <= month <= 12):
        return None
    return year, month


GROUPS = ("male", "female_cadre", "female_worker")


def parse_group(text: str) -> Optional[str]:
    """'男' male; '女干部'/'cadre'/'55' female_cadre; '女工人'/'worker'/'50' female_worker."""
    t = _clean(text)
    if re.search(r"干部|管理|专业技术|cadre|55", t):
        return "female_cadre"
    if re.search(r"女工|工人|worker|50", t) and not re.search(r"^男|\bman\b|\bmale\b", t):
        return "female_worker"
    if re.search(r"男|\b(man|male|men)\b", t) and not re.search(r"woman|female", t):
        return "male"
    return None
