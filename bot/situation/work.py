"""The claimant's working life in a message: years of contributions, how the job ended. Pure.

Read only when the claimant says it of themselves and as done: "交了6年社保", "缴费二十多年",
"I've paid in for 6 years", "被辞退了", "I was laid off", "我主动辞职的". Not a rule or a question
("交满15年才能领", "至少要交15年", "do I need 10 years"), a wish or a fear ("想辞职", "if I'm
fired"), something denied ("不是被辞退"), another span of time ("干了8年", "3 years ago", "交了6个
月", "2015年"), nor a date.
"""
from __future__ import annotations

import re
from typing import Iterator, Optional

from bot.situation.clauses import Clauses
from bot.situation.fact import CONTRIBUTION_YEARS, DISMISSED, EMPLOYER_FAULT, JOB_END, RESIGNED, Fact
from bot.situation.numbers import EN_COUNT, ZH_COUNT, count_value

MAX_YEARS = 50

# ------------------------------------------------------------------------- employer at fault
# Resigning because the employer did not pay wages or social insurance counts as involuntary
# (Labour Contract Law art. 38); actions/answer_parsing.py reads answers with the same patterns.
EMPLOYER_FAULT_ZH = re.compile(
    r"欠薪|欠工资|欠我工资|欠缴|欠保|拖欠|克扣|拖(了)?.{0,6}(工资|薪水|薪资)|"
    r"(不|没|没有|未|停)(按时|足额|及时)?(发|给|付|支付)(我)?(工资|薪水|薪资|钱)|"
    r"(工资|薪水|薪资).{0,6}(不|没|没有|未|停)(按时|足额)?(发|给|付)|(工资|薪水|薪资).{0,4}发不出|"
    r"(不|没|没有|未|停)(给|帮|为)?(我)?(缴|交|买|上|办)(纳)?(社保|社会保险|保险|五险)|"
    r"(社保|社会保险|五险).{0,6}(不|没|没有|未|断)(给我)?(缴|交|买|上)")
EMPLOYER_FAULT_EN = re.compile(
    r"\b(unpaid|owed|withheld|stopped paying|didn't pay|did not pay|never paid|wasn't paying|"
    r"weren't paying|not paying|failed to pay|no)\b.{0,40}\b(wages?|salary|pay|social insurance|"
    r"contributions?|insurance)\b|"
    r"\b(wages?|salary|pay|social insurance|contributions?)\b.{0,30}\b(unpaid|not paid|wasn't paid|"
    r"weren't paid|never paid|not being paid|owed|withheld|stopped)\b|"
    r"\b(stopped|never|didn't|did not|wasn't|weren't) (paying|pay) (me|us)\b")
# "单位没有欠薪" / "they did pay my wages": the fault is denied, not claimed.
FAULT_DENIED = re.compile(r"(没有|没|并没|不是因为|并非)(欠薪|拖欠|克扣)|\b(did|always) pay\b|\bpaid (me )?on time\b")


def employer_at_fault(text: str) -> bool:
    """Whether `text` (lower case, Simplified) says the employer did not pay wages or insurance."""
    return not FAULT_DENIED.search(text) and bool(EMPLOYER_FAULT_ZH.search(text) or EMPLOYER_FAULT_EN.search(text))


# ------------------------------------------------------------------ years of contributions
_ZH_YEARS = re.compile(rf"(?<![\d.])(?P<n>{ZH_COUNT})\s*(?:个)?(?:整)?(?P<unit>年|个月)(?:半)?(?:多)?")
# Paying, or the insurance itself, before the number in its clause.
_ZH_PAID_BEFORE = re.compile(r"缴|交|参保|社保|保险|五险|缴费|年限")
_ZH_PAID_AFTER = re.compile(r"^(?:的)?(?:社保|社会保险|保险|失业保险|养老保险|医保|医疗保险|五险|缴费|参保)")
_ZH_INSURANCE = re.compile(r"社保|社会保险|保险|缴费|参保|五险|养老|失业|医保|年限")
# A rule, a condition, a plan or a bound, not what was paid: "至少要交15年", "再交3年", "不满1年".
_ZH_NOT_PAID = re.compile(r"如果|假如|要是|万一|需要|需|(?<!已经)要(?:交|缴|满)|得(?:交|缴)|必须|至少|最少|最低|满足|"
                          r"是否|能否|再|还要|还得|还差|(?<!不)差(?!不多)|补缴|补交|不满|不足|不到|不够|未满|没满|超过|断|停|"
                          r"多少|几|规定|标准|要求|以前的?|之前的?")
_ZH_NOT_PAID_AFTER = re.compile(r"^(?:半|多)?(?:以上|以下|以内|之内|内|前|后|以后|之后|以前|之前|的话|才|就能|就可以|代|级|"
                                r"底|初|末|度|份|期|龄|金|的人|或|到|至|交|缴|多少|几|[-~～])")
# "这三年的社保" names years, without saying they were paid.
_ZH_THESE = re.compile(r"[这那]$")
_ZH_DONE = re.compile(r"了|已|过|一共|总共|累计|共|有")

_EN_YEARS = re.compile(
    rf"\b(?P<n>{EN_COUNT}|an?)\+?(?:\s+and\s+a\s+half)?\s*(?:-\s*)?(?P<unit>years?|yrs?|months?)\b(?!\s*old|-old)",
    re.IGNORECASE)
_EN_SELF = re.compile(r"\b(i|i'?ve|i'?d|i'?m|me|my|we|we'?ve|our)\b")
_EN_PAID_BEFORE = re.compile(r"\b(paid|paying|pay|contributed|contributing|contributions?|insured|social insurance|"
                             r"national insurance|unemployment insurance|pension insurance|ni)\b")
_EN_PAID_AFTER = re.compile(r"^\s*(?:of\s+)?(?:\w+\s+){0,2}?(contributions?|paid|payments|social insurance|insurance|"
                            r"credits|ni)\b")
# A rule, a question, a plan or another span of time: "need 15 years", "another 3 years", "3 years ago".
_EN_NOT_PAID = re.compile(r"\b(if|whether|need|needs|needed|must|minimum|at least|required?|requires|would|should|"
                          r"how many|how long|qualify|until|less than|fewer than|ago|gap|back ?pay|make up|catch up|"
                          r"missing|missed|was paid|got paid|get paid)\b")
_EN_NOT_PAID_NEAR = re.compile(r"\b(in|within|next|another|more|further|extra|additional|every|per|each|under|"
                               r"after|first)\s+(?:the\s+)?$")
_EN_NOT_PAID_AFTER = re.compile(r"^\s*(ago|later|from now|time|before|after|old|or more|or less|to go|left|"
                                r"(?:that )?(?:i|we) missed|(?:are|is|were|was) (?:missing|not|unpaid)|missing|unpaid|"
                                r"(?:\w+ )?(?:and|but) (?:never|didn't|did not|not) pa(?:y|id))\b")
# Someone else's contributions: "my husband paid into CPP for 20 years".
_EN_SOMEONE_ELSE = re.compile(r"\b(husband|wife|partner|son|daughter|mum|mom|mother|dad|father|he|she|brother|sister|"
                              r"friend|colleague)\b")
_EN_FRAGMENT = re.compile(r"^\s*(?:and\s+)?(?:have\s+|had\s+|been\s+)?(?:paid|paying|contributed|contributing)\b")


def contribution_years(text: str, lowered: str, clauses: Clauses) -> Iterator[Fact]:
    """Completed years of contributions the claimant says they have paid. `lowered` is `text` in
    lower case (same offsets)."""
    for match in _ZH_YEARS.finditer(text):
        value = _years(match.group("n"), match.group("unit"))
        if value is None or not _ZH_INSURANCE.search(text):
            continue
        before, after = clauses.before(match.start(), 14), clauses.after(match.end(), 10)
        paid = _ZH_PAID_BEFORE.search(before) or _ZH_PAID_AFTER.match(after)
        if not paid or _ZH_NOT_PAID.search(before) or _ZH_NOT_PAID_AFTER.match(after) or _ZH_THESE.search(before):
            continue
        if "满" in before and not (_ZH_DONE.search(before) or after.startswith("了")):
            continue  # "交满15年" alone is the rule more often than the claimant's record
        yield Fact(CONTRIBUTION_YEARS, value, match.start(), match.end(), text[match.start():match.end()])
    for match in _EN_YEARS.finditer(lowered):
        value = _years("1" if match.group("n") in ("a", "an") else match.group("n"), match.group("unit"))
        if value is None:
            continue
        clause_text = clauses.clause(match.start())
        before, after = clauses.before(match.start(), 60), clauses.after(match.end(), 40)
        near = _EN_NOT_PAID_NEAR.search(before)
        if near and near.group(1) == "after" and _EN_PAID_AFTER.match(after):
            near = None  # "after 12 years of paying contributions" says what was paid
        if _EN_NOT_PAID.search(before[-40:]) or near or _EN_NOT_PAID_AFTER.match(after):
            continue
        said_by_self = (_EN_SELF.search(clause_text) and not _EN_SOMEONE_ELSE.search(before)) or _EN_FRAGMENT.match(before)
        paid = _EN_PAID_BEFORE.search(before) or _EN_PAID_AFTER.match(after)
        if said_by_self and paid:
            yield Fact(CONTRIBUTION_YEARS, value, match.start(), match.end(), text[match.start():match.end()])


def _years(number: str, unit: str) -> Optional[int]:
    count = count_value(number)
    if count is None:
        return None
    if unit.startswith("月") or unit.startswith("个月") or unit.lower().startswith("month"):
        count = count // 12 if count >= 12 else None  # "交了6个月" is not a year
        if count is None:
            return None
    return count if 0 < count <= MAX_YEARS else None


# ------------------------------------------------------------------------------ how the job ended
_ZH_DISMISSED = re.compile(
    r"被(?:公司|单位|老板|厂里|厂子|领导|企业|用人单位)?(?:辞退|裁员|裁掉|裁了|裁|开除|解雇|炒鱿鱼|炒了|劝退|优化|解聘|辞(?!职))|"
    r"(?:公司|单位|老板|厂里|企业)(?:把我|将我)(?:给)?(?:辞退|开除|解雇|裁|炒|辞)|"
    r"(?:公司|单位|老板|厂里|企业)(?:辞退|开除|解雇|裁)(?:了)?我|"
    r"(?:劳动)?合同(?:已经)?到期(?:后|了)?\s*[，,]?\s*(?:公司|单位|老板|厂里)?(?:不|没有?|不再|没再)(?:跟我|和我|与我)?续(?:签|约)|"
    r"(?:单位|公司|老板)(?:不|没有?|不再)(?:跟我|和我|与我)?续(?:签|约)|下岗了|我(?:也)?下岗")
_ZH_RESIGNED = re.compile(
    r"(?:主动|自己|自愿|个人原因)(?:提出)?(?:辞职|离职|辞的职|辞了职|离的职|走的)|"
    r"我(?:已经|是|就)?(?:辞职|离职|辞了职|裸辞)(?:了|的)|(?<![想要])辞职了|裸辞了|我辞职|我辞了")
# A wish, a plan, a fear, a condition or a denial: "想辞职", "如果被辞退", "不是被辞退".
_ZH_NOT_DONE = re.compile(r"如果|假如|要是|万一|想|打算|准备|考虑|要不要|能不能|是否|会不会|可不可以|怕|担心|"
                          r"不是|没有|并非|没|不|别|被迫")
_ZH_NOT_DONE_AFTER = re.compile(r"^(?:的话|会|能不能|能否|可以吗|算不算|算吗|属不属于|是不是)")

_EN_DISMISSAL = r"(?:fired|dismissed|laid off|let go|made redundant|sacked|terminated|given the sack|redundant)"
_EN_DISMISSED = re.compile(
    rf"\b(?:i|we)(?:\s*'(?:ve|m|d)|\s+(?:have|had|was|were|got|get|just|recently|been|am|then|later|eventually|"
    rf"finally|also|too|all))*\s+{_EN_DISMISSAL}\b|"
    rf"\b(?:and|but|then)\s+(?:was|got|been|were)\s+{_EN_DISMISSAL}\b|"  # "I'm 58 and got laid off"
    r"\b(?:they|the company|my employer|my boss|the firm|the employer|my company|my manager)\b[^.!?;]{0,20}?"
    r"\b(?:(?:fired|dismissed|sacked|terminated)\s+me|laid\s+me\s+off|let\s+me\s+go)\b|"
    r"\bmy\s+(?:fixed[- ]term\s+|temporary\s+|employment\s+|work\s+)?contract\b[^.!?;]{0,40}?"
    r"\b(?:was not|wasn't|was never|not|isn't|is not|won't be) (?:renewed|extended)\b|"
    rf"^\s*(?:(?:just|recently|was|got|been)\s+)*{_EN_DISMISSAL}\b")
_EN_RESIGNED = re.compile(
    r"\bi\b[^.!?,;]{0,15}?\b(?:resigned|quit|handed in my notice|gave (?:my )?notice|walked out|"
    r"left (?:my job|the job|work) (?:voluntarily|by choice|of my own accord))\b")
_EN_NOT_DONE = re.compile(r"\b(if|whether|might|may|could|would|will|going to|gonna|afraid|worried|scared|"
                          r"in case|before|thinking|want|wanted|planning|plan|considering|can|should|"
                          r"unless|about to)\b")
_EN_NEGATION = re.compile(r"n[’']t\b|\b(not|never|no longer)\b")
_EN_NOT_DONE_AFTER = re.compile(r"^\s*(?:\?|or\b)")
_ZH_SAID_DONE = re.compile(r"[了的]|^我")
_ZH_BY_ME = re.compile(r"我|本人|已经|已")
# Someone else's job: "我老公被辞退了", "my husband was laid off".
_ZH_SOMEONE_ELSE = re.compile(r"老公|丈夫|老婆|妻子|爱人|媳妇|儿子|女儿|孩子|父亲|母亲|爸|妈|他|她|同事|朋友|家人|哥|姐|弟|妹")
_EN_SOMEONE_ELSE = re.compile(r"\b(husband|wife|partner|son|daughter|mum|mom|mother|dad|father|he|she|friend|colleague|"
                              r"brother|sister|boyfriend|girlfriend|they)\b")


def job_end(text: str, lowered: str, clauses: Clauses) -> Iterator[Fact]:
    """How the claimant's own job ended, when they say it happened: DISMISSED or RESIGNED (with
    the role EMPLOYER_FAULT when they resigned because wages or insurance went unpaid)."""
    fault = employer_at_fault(lowered)
    for pattern, value, english in ((_ZH_DISMISSED, DISMISSED, False), (_ZH_RESIGNED, RESIGNED, False),
                                    (_EN_DISMISSED, DISMISSED, True), (_EN_RESIGNED, RESIGNED, True)):
        for match in pattern.finditer(lowered):
            span = lowered[match.start():match.end()]
            after = clauses.after(match.end(), 8)
            if english:
                before = clauses.before(match.start(), 40)
                said = before[-12:] + " " + ("" if re.search(r"renew|extend", span) else span)  # "wasn't renewed" is the fact
                if _EN_NOT_DONE.search(before[-25:] + " " + span) or _EN_NEGATION.search(said) \
                        or _EN_NOT_DONE_AFTER.match(after) or _EN_SOMEONE_ELSE.search(before):
                    continue
            else:
                before = clauses.before(match.start(), 8)
                forced = "被迫" in before
                if (_ZH_NOT_DONE.search(before[-6:]) and not (forced and fault)) or _ZH_NOT_DONE_AFTER.match(after) \
                        or _ZH_SOMEONE_ELSE.search(before):
                    continue
                if value == RESIGNED and not (_ZH_SAID_DONE.search(span + after[:1]) or _ZH_BY_ME.search(before)):
                    continue  # "主动辞职可以领吗" asks about resigning in general
            extra = {"role": EMPLOYER_FAULT} if value == RESIGNED and fault else {}
            yield Fact(JOB_END, value, match.start(), match.end(), text[match.start():match.end()], extra)
