"""The claimant as a person in a message: age, year (and month) of birth, gender. Pure.

Only what the claimant says of themselves: "我今年58岁", "I'm 58", "1966年3月出生", "born in
1970", "我是女职工", "I'm a woman". Not someone else's ("儿子18岁", "my son is 18", "my husband was
born in 1960"), an age in a rule or a plan ("60岁退休", "满60岁才能领", "when I'm 67"), a decade
("60后" is too loose to compute with), a date that is not a birth ("2020年3月被辞退"), a figure in
an identity number, nor a general question ("女的多少岁退休", "retirement age for a man").
"""
from __future__ import annotations

import re
from typing import Iterator, Optional

from bot.situation.clauses import Clauses
from bot.situation.fact import AGE, BIRTH_YEAR, FEMALE, GENDER, MALE, Fact
from bot.situation.numbers import EN_COUNT, ZH_COUNT, chinese_number, count_value

MIN_AGE, MAX_AGE = 15, 100
FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR = 1920, 2012

# Someone else nearby: the age, birth or gender that follows is theirs.
_ZH_SOMEONE_ELSE = re.compile(r"儿子|女儿|孩子|小孩|娃|宝宝|父亲|母亲|爸|妈|爷|奶|老公|丈夫|妻子|老婆|爱人|媳妇|哥|姐|弟|妹|"
                              r"孙|他|她|老人|婆婆|公公|岳父|岳母|亲戚|朋友|同事|家人|对象|男友|女友|先生|太太|配偶|"
                              r"子女|父母|老伴|别人|员工|职工们|有人|人家")
_EN_SOMEONE_ELSE = re.compile(r"\b(son|daughter|child|children|kid|kids|baby|boy|girl|husband|wife|partner|mum|mom|"
                              r"mother|dad|father|parents?|grandson|granddaughter|grandchild|brother|sister|friend|"
                              r"colleague|he|she|his|her|they|their|someone|people|person|anyone|workers?|employees?)\b")

# ------------------------------------------------------------------------------------------- age
_ZH_AGE = re.compile(rf"(?<![\d.])(?P<n>{ZH_COUNT})\s*(?:周岁|岁)|今年(?:已经|都|也)?(?P<n2>\d{{2}}|[二三四五六七八九]十[一二三四五六七八九]?)(?:了)")
# An age in a rule, a threshold or a plan: "满60岁", "到60岁", "退休年龄是60岁".
_ZH_AGE_NOT_MINE = re.compile(r"到|满|至|年满|超过|不满|未满|不到|低于|高于|大于|小于|退休|年龄|是|在|等|过了|以上|以下|"
                              r"如果|假如|要是|多少|几")
_ZH_AGE_NOT_MINE_AFTER = re.compile(r"^(?:半|多)?(?:退休|才|就|时|的时候|以后|之后|以上|以下|前|后|之前|以前|左右的?人|的人|的话|"
                                    r"开始|起|可以|能|至|到|每月|每个月|领|[-~～])")

_EN_AGE = re.compile(
    rf"\b(?:i'?m|i am)\s+(?:now\s+|currently\s+|nearly\s+|almost\s+|just\s+|already\s+|over\s+)?(?P<n>{EN_COUNT})"
    rf"(?!\s*(?:days?|weeks?|months?|hours?|minutes?|%|percent|pounds?|dollars?|yuan|rmb|k\b|miles?|km|kg|cm|lbs?|"
    rf"times|points?|euros?|quid|grand|th\b|st\b|nd\b|rd\b|short|behind|late|in\b|on\b|at\b|hundred|thousand)|[\d%£$€/:])|"
    rf"\bi\s+(?:just\s+|recently\s+)?turned\s+(?P<n2>{EN_COUNT})\b|"
    rf"\b(?:i'?m|i am)\s+(?:a\s+|an\s+)?(?P<n3>{EN_COUNT})[- ]years?[- ]old\b|"
    rf"(?:^|\b(?:i'?m|i am)\b[^.!?,;]{{0,12}}?)\baged?\s+(?P<n4>{EN_COUNT})\b|"
    rf"\b(?P<n5>{EN_COUNT})[- ]years?[- ]old\s+(?:man|woman|male|female|widow|widower|mother|father|single|myself)\b|"
    rf"\bage\s*[:\-]\s*(?P<n6>\d{{2}})\b")
_EN_AGE_NOT_MINE = re.compile(r"\b(when|until|till|by the time|before|after|once|if|at|will|'ll|would|going to|unless)\s+"
                              r"(?:i'?m|i am|i turn|i'll be)?\s*$|\b(when|until|till|by the time|once|if|unless)\b")


def age(text: str, lowered: str, clauses: Clauses) -> Iterator[Fact]:
    """The claimant's age in whole years."""
    for match in _ZH_AGE.finditer(text):
        value = count_value(match.group("n") or match.group("n2"))
        if value is None or not MIN_AGE <= value <= MAX_AGE:
            continue
        before, after = clauses.before(match.start(), 8), clauses.after(match.end(), 6)
        if _ZH_SOMEONE_ELSE.search(before):
            continue
        done = re.search(r"已经?满", before) or after.startswith("了")
        if _ZH_AGE_NOT_MINE.search(before[-4:]) and not done or _ZH_AGE_NOT_MINE_AFTER.match(after):
            continue
        yield Fact(AGE, value, match.start(), match.end(), text[match.start():match.end()])
    for match in _EN_AGE.finditer(lowered):
        number = next(g for g in (match.group(f"n{i}" if i else "n") for i in ("", 2, 3, 4, 5, 6)) if g)
        value = count_value(number)
        if value is None or not MIN_AGE <= value <= MAX_AGE:
            continue
        before = clauses.before(match.start(), 30)
        if _EN_AGE_NOT_MINE.search(before):
            continue
        if match.group("n4") or match.group("n5") or match.group("n6"):  # no "I'm" in the match itself
            clause = lowered[clauses.bounds(match.start())[0]:match.end()]
            if _EN_SOMEONE_ELSE.search(clause) or match.group("n5") and not re.search(r"\b(i'?m|i am|me|myself)\b", clause):
                continue
        yield Fact(AGE, value, match.start(), match.end(), text[match.start():match.end()])


# ------------------------------------------------------------------------------------ birth year
_ZH_YEAR = r"(?P<y>(?:19|20)\d{2}|[一二][九〇零][〇零一二三四五六七八九]{2}|\d{2})"
_ZH_BIRTH = re.compile(
    rf"(?<![\d.]){_ZH_YEAR}\s*年(?:\s*(?P<m>\d{{1,2}}|十[一二]?|[一二三四五六七八九])\s*月)?"
    rf"(?:\s*(?:\d{{1,2}}|[一二三]?十?[一二三四五六七八九十])\s*[日号])?(?![\d])")
_ZH_BORN_AFTER = re.compile(r"^(?:的)?(?:出生|生人|生的|生)")
_ZH_BORN_BEFORE = re.compile(r"(?:出生于|出生在|生于|出生日期|出生年月|出生年份|出生时间|出生)\s*(?:是|为|在|于)?\s*[:：]?\s*$")
_ZH_I_AM = re.compile(r"(?:我|本人)(?:是)\s*$")
_ZH_OF_MINE_AFTER = re.compile(r"^(?:的|出生的)(?:$|人|[，,。！!？?；;\s])")

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_EN_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_EN_BIRTH = re.compile(
    rf"\bborn\s+(?:in\s+|on\s+)?(?:(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?(?P<m>{_EN_MONTH})\.?\s+(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s+)?"
    rf"(?:of\s+|in\s+)?)?(?P<y>(?:19|20)\d{{2}}|'\d{{2}})\b|"
    rf"\b(?:date of birth|birth ?date|birth year|year of birth|dob|d\.o\.b\.?)\s*(?:is|was|:|-)?\s*"
    rf"(?:(?P<iso>(?:19|20)\d{{2}})-(?P<isom>\d{{1,2}})(?:-\d{{1,2}})?|(?:\d{{1,2}}[/.]){{1,2}}(?P<y2>(?:19|20)\d{{2}})|"
    rf"(?P<m2>{_EN_MONTH})\.?\s+(?P<y3>(?:19|20)\d{{2}})|(?P<y4>(?:19|20)\d{{2}}))\b")


def birth_year(text: str, lowered: str, clauses: Clauses) -> Iterator[Fact]:
    """The claimant's year of birth, with `month` beside it when they gave one."""
    for match in _ZH_BIRTH.finditer(text):
        year = _year(match.group("y"))
        if year is None:
            continue
        before, after = clauses.before(match.start(), 10), clauses.after(match.end(), 6)
        two_digits = len(match.group("y")) == 2
        born = _ZH_BORN_AFTER.match(after) or (not two_digits and _ZH_BORN_BEFORE.search(before))
        mine = _ZH_I_AM.search(before) and _ZH_OF_MINE_AFTER.match(after)
        if not (born or mine) or _ZH_SOMEONE_ELSE.search(before):
            continue
        month = _zh_month(match.group("m"))
        yield Fact(BIRTH_YEAR, year, match.start(), match.end(), text[match.start():match.end()],
                   {"month": month} if month else {})
    for match in _EN_BIRTH.finditer(lowered):
        raw = next(g for g in (match.group(n) for n in ("y", "iso", "y2", "y3", "y4")) if g)
        year = _year(raw.lstrip("'"))
        if year is None:
            continue
        start = clauses.bounds(match.start())[0]
        if _EN_SOMEONE_ELSE.search(lowered[start:match.start()]):
            continue
        month_word = match.group("m") or match.group("m2")
        month = _MONTHS.index(month_word[:3]) + 1 if month_word else (int(match.group("isom")) if match.group("isom") else None)
        yield Fact(BIRTH_YEAR, year, match.start(), match.end(), text[match.start():match.end()],
                   {"month": month} if month and 1 <= month <= 12 else {})


def _year(raw: str) -> Optional[int]:
    year = int(raw) if raw.isdigit() else chinese_number(raw)
    if year is None:
        return None
    if year < 100:
        year += 1900 if year >= 30 else 2000
    return year if FIRST_BIRTH_YEAR <= year <= LAST_BIRTH_YEAR else None


def _zh_month(raw: Optional[str]) -> Optional[int]:
    if not raw:
        return None
    month = int(raw) if raw.isdigit() else chinese_number(raw)
    return month if month and 1 <= month <= 12 else None


# ----------------------------------------------------------------------------------------- gender
_ZH_GENDER = re.compile(
    r"(?:(?P<self>我|本人)(?P<is>是|系|为)?(?:一[名个位])?|性别\s*[:：]?\s*(?:是|为)?\s*|作为(?:一[名个位])?)"
    r"(?P<g>男|女)(?P<suffix>性|的|人|生|士|职工|工人|干部|同志|员工|农民工|同胞|老师|教师|司机|工|)"
    r"(?!儿|朋友|友|婿|孩|子|方|厕|装|鞋|篮|足|排|乒|单|双)|"
    r"(?:^|(?<=[，,。；;\s]))(?P<g2>男|女)(?:性|职工|工人|干部)?(?=[，,、；;\s]*(?:\d{2}|[二三四五六七八九]十)[一二三四五六七八九]?(?:周)?岁"
    r"(?!退休|才|就|还是|或|以上|以下|前|后)|[，,、；;\s]*(?:19|20)\d{2}\s*年)|"
    r"(?:\d{2}|[二三四五六七八九]十[一二三四五六七八九]?)(?:周)?岁(?:的)?(?P<g3>男|女)(?:性|职工|工人|干部|同志|的)(?!儿|朋友|友|孩)|"
    r"(?:19|20)\d{2}\s*年(?:\d{1,2}月)?(?:出生|生)(?:的)?(?P<g4>男|女)(?:性|职工|工人|干部|同志|的)(?!儿|朋友|友|孩)")
_EN_GENDER = re.compile(
    r"\b(?:i'?m|i am)\s+(?:a|an)\s+(?:(?:\d{2}[- ]years?[- ]old|single|retired|working|divorced|married|disabled|"
    r"self-employed|widowed|older|young|british|chinese|irish|foreign)\s+)*(?P<g>man|woman|male|female|lady|guy|"
    r"gentleman|mother|mum|mom|father|dad|widow|widower|grandmother|grandfather|grandma|grandpa|housewife)\b|"
    r"\b(?:i'?m|i am)\s+(?P<g2>male|female)\b|"
    r"\bas\s+an?\s+(?:\w+\s+)?(?P<g3>man|woman|mother|father|mum|mom|dad|widow|widower|"
    r"male|female)\b|"
    r"\b(?:gender|sex)\s*[:\-]?\s*(?:is\s+)?(?P<g4>male|female|m|f)\b")
_ZH_GENDER_NOT_MINE = re.compile(r"如果|假如|要是|对于|关于")
_GENDER_VALUE = {"男": MALE, "女": FEMALE, "man": MALE, "male": MALE, "guy": MALE, "gentleman": MALE, "father": MALE,
                 "dad": MALE, "widower": MALE, "grandfather": MALE, "grandpa": MALE, "m": MALE,
                 "woman": FEMALE, "female": FEMALE, "lady": FEMALE, "mother": FEMALE, "mum": FEMALE, "mom": FEMALE,
                 "widow": FEMALE, "grandmother": FEMALE, "grandma": FEMALE, "housewife": FEMALE, "f": FEMALE}


def gender(text: str, lowered: str, clauses: Clauses) -> Iterator[Fact]:
    """The claimant's own gender, where they say it of themselves."""
    for match in _ZH_GENDER.finditer(text):
        said = match.group("g") or match.group("g2") or match.group("g3") or match.group("g4")
        if match.group("g") and match.group("self") and not match.group("is") and match.group("suffix") in ("人", "") \
                and match.group("self") != "本人":
            continue  # "我男人" is "my husband"; "我女" alone is too short to trust
        before = clauses.before(match.start(), 8)
        if _ZH_SOMEONE_ELSE.search(before) or _ZH_GENDER_NOT_MINE.search(before):
            continue
        yield Fact(GENDER, _GENDER_VALUE[said], match.start(), match.end(), text[match.start():match.end()])
    for match in _EN_GENDER.finditer(lowered):
        said = match.group("g") or match.group("g2") or match.group("g3") or match.group("g4")
        start = clauses.bounds(match.start())[0]
        if _EN_SOMEONE_ELSE.search(lowered[start:match.start()]) or re.search(r"\bif\b", lowered[start:match.start()]):
            continue
        yield Fact(GENDER, _GENDER_VALUE[said], match.start(), match.end(), text[match.start():match.end()])
