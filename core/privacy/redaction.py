"""Find, redact and mask personal identifiers in claimants' text (Chinese, English or mixed).

Call `redact` on every text that leaves the live conversation (logs, exports, the review inbox,
reports, saved benchmark output) and `redact_structure` on JSON-like exports; call `mask` where a
person may need to recognise the identifier (the agent's brief) and reveal it only through
`core.privacy.audit.record_reveal`.

What is found (docs/privacy.md has the full rules):

    ID_NUMBER  mainland resident ID: 18 characters, region, a real birth date, ISO 7064 MOD 11-2
               check character (0-9 or X); the old 15-digit form only right after a word for
               "identity card"
    HK_ID      Hong Kong identity card: 1-2 letters, 6 digits, check digit/A (mod 11), `A123456(3)`
    MACAU_ID   Macau identity card: 1/5/7 + 6 digits + a digit in brackets or after a slash
    TW_ID      Taiwan national ID / new resident certificate: letter, 1/2/8/9, 8 digits, checksum
    PASSPORT   passport and travel-permit numbers: E/G/D/S/P/H/K/M + 7-10 digits shapes, or any
               letter-digit number right after the word passport/护照/通行证
    PHONE      mainland mobile (1[3-9] + 9 digits, +86/0086 allowed), landline with area code
               (0xx-xxxxxxxx, (0xx) xxxxxxxx), any number written with an international `+` prefix
    BANK_CARD  13-19 digits beginning 3-6 that pass the Luhn check
    EMAIL      an e-mail address

Context decides too: a number of 6 or more digits right after a card, ID or phone label
(`银行卡号`, `身份证`, `手机`, `card number`, `ID`, `phone`...) is that kind whatever its checksum,
and a run of 15-19 digits (or 17 and an X) is a card or an ID even with a wrong checksum: a
claimant's typo must not put their number in a log.

Digits may be typed in groups (`138 1234 5678`, `6222-0212-3456-7890`) and in full width
(`１３８…`). A run of digits that fails every check (a date, an amount, a year, an order number
whose checksum is wrong) is left as it is: redaction must not destroy the facts a claimant gives.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

KINDS = ("ID_NUMBER", "HK_ID", "MACAU_ID", "TW_ID", "PASSPORT", "PHONE", "BANK_CARD", "EMAIL")


class Identifier(NamedTuple):
    """One identifier found in a text: `text[start:end]` is it, `kind` one of KINDS."""

    kind: str
    start: int
    end: int


def placeholder(kind: str) -> str:
    """The text that replaces an identifier of this kind in redacted output: `[PHONE]`."""
    return f"[{kind}]"


# ----------------------------------------------------------------------------- checksums

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def mainland_check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def is_mainland_id(value: str) -> bool:
    """True for an 18-character resident ID with a real birth date and the right check character."""
    value = value.upper()
    if not re.fullmatch(r"[1-9]\d{16}[\dX]", value):
        return False
    year, month, day = int(value[6:10]), int(value[10:12]), int(value[12:14])
    if not 1900 <= year <= dt.date.today().year or not _valid_date(year, month, day):
        return False
    return mainland_check_character(value[:17]) == value[17]


def is_old_mainland_id(value: str) -> bool:
    """True for the 15-digit first-generation form (no check digit): region + YYMMDD + 3 digits."""
    if not re.fullmatch(r"[1-9]\d{14}", value):
        return False
    return _valid_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))


def _letter_value(letter: str) -> int:
    return ord(letter) - ord("A") + 10


def hkid_check_character(letters: str, digits: str) -> str:
    """The check character (0-9 or A) of a Hong Kong ID from its 1-2 letters and 6 digits."""
    letters = letters.upper()
    values = ([36] if len(letters) == 1 else []) + [_letter_value(c) for c in letters]
    values += [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1)))
    check = (11 - total % 11) % 11
    return "A" if check == 10 else str(check)


def is_hkid(letters: str, digits: str, check: str) -> bool:
    """True when `check` is the right check character for these letters and digits."""
    return hkid_check_character(letters, digits) == check.upper()


# Taiwan's letter codes are not alphabetical (I, O, W, X, Y, Z were added later).
_TW_CODES = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36)))


def is_taiwan_id(value: str) -> bool:
    """True for a Taiwan national ID or new-format resident certificate number with its checksum."""
    value = value.upper()
    if not re.fullmatch(r"[A-Z][1289]\d{8}", value):
        return False
    code = _TW_CODES[value[0]]
    digits = [code // 10, code % 10] + [int(d) for d in value[1:]]
    weights = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)
    return sum(d * w for d, w in zip(digits, weights)) % 10 == 0


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check used by payment cards."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# ----------------------------------------------------------------------------- scanning

# Full-width forms map one character to one character, so offsets found in the folded text are
# offsets in the original text.
_FOLD = {0xFF10 + i: ord("0") + i for i in range(10)}
_FOLD.update({0xFF21 + i: ord("A") + i for i in range(26)})
_FOLD.update({0xFF41 + i: ord("a") + i for i in range(26)})
_FOLD.update({ord(a): ord(b) for a, b in zip("（）＋－—＠．　：", "()+--@. :")})

_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_ALNUM_AFTER = r"(?![A-Za-z0-9])"
_SEP = r"(?:[ \t]?-[ \t]?|[ \t])"

# A run of digit groups; decimals and thousands separators do not start or continue one. Letters
# may touch it (`tel13812345678`): the checks, not the surroundings, decide.
_DIGIT_RUN = re.compile(r"(?<![0-9+])(?<!\d[.,])(\+?\d+(?:" + _SEP + r"\d+)*[Xx]?)(?![0-9])(?![.,]\d)")
_GROUP = re.compile(r"\+?\d+[Xx]?")

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
    r"(?![A-Za-z0-9-])"
)
_HKID = re.compile(_ALNUM_BEFORE + r"([A-Za-z]{1,2})(\d{6}) ?(?:\(([0-9Aa])\)|([0-9Aa]))" + _ALNUM_AFTER)
_MACAU = re.compile(r"(?<![A-Za-z0-9/])[1578](?:\d{6}\(\d\)|/\d{6}/\d)(?![A-Za-z0-9/])")
_TWID = re.compile(_ALNUM_BEFORE + r"[A-Za-z][1289]\d{8}" + _ALNUM_AFTER)
_PASSPORT_SHAPE = re.compile(_ALNUM_BEFORE + r"(?:[EeGgDdSsPpKk][A-Za-z]?\d{7,8}|[HhMm]\d{8}(?:\d{2})?)" + _ALNUM_AFTER)
_PASSPORT_WORD = re.compile(
    r"(?:passport|travel\s+permit|permit|护照|護照|通行证|通行證|回乡证|回鄉證|台胞证|台胞證)"
    r"(?:[^A-Za-z0-9\n]|(?:no|number|num|is|was|id)(?![A-Za-z])){0,16}?"
    r"(?<![A-Za-z0-9])([A-Za-z]{1,2}\d{6,10}|\d{8,10})" + _ALNUM_AFTER,
    re.IGNORECASE,
)
_OLD_ID_WORD = re.compile(r"(?:身份证|身份證|证件|證件|identity|\bID\b|I\.D\.)[^A-Za-z0-9\n]{0,12}$", re.IGNORECASE)
# A label, then only linking words and punctuation, then the number: the label names its kind.
_LINK = r"(?:[\s:：#=,，(（-]|是|为|為|号码|號碼|号|號|no\.?|num|number|is|was|of|on|at)*$"
_LABELS = (
    (
        "BANK_CARD",
        r"银行卡|銀行卡|卡号|卡號|储蓄卡|儲蓄卡|信用卡|借记卡|借記卡|账号|賬號|帐号|帳號|银行账户|銀行賬戶|"
        r"社保卡|医保卡|醫保卡|\bcard|\baccount|\bIBAN|\bsort code",
    ),
    (
        "ID_NUMBER",
        r"身份证|身份證|证件|證件|社会保障号|社會保障號|社保号|社保號|\bID\b|I\.D\.|\bidentity|"
        r"\bSSN\b|social security number|\bNINO?\b|national insurance|\bSIN\b|\bTFN\b|\bPPSN?\b",
    ),
    (
        "PHONE",
        r"手机|手機|电话|電話|联系方式|聯繫方式|联系电话|座机|座機|微信号|\bphone|\bmobile|\bcell|\btel\b|"
        r"\btelephone|\bcall me|\breach me|\btext me",
    ),
)
#: Labels that say a long number is something else: an order, a reference, an amount.
_OTHER_LABEL = re.compile(
    r"(?:订单|訂單|单号|單號|流水号|流水號|编号|編號|金额|金額|\border|\breference|\bref\b|"
    r"\binvoice|\btracking|\bamount|\bprice|\btotal)(?:\s*\w{0,8})?" + _LINK,
    re.IGNORECASE,
)
_LABEL_BEFORE = [(kind, re.compile(f"(?:{words}){_LINK}", re.IGNORECASE)) for kind, words in _LABELS]
#: Fewest digits a number needs to be masked for its label alone (amounts and years are shorter).
LABELLED_MIN_DIGITS = 6

_LANDLINE_BRACKETS = re.compile(r"\((0[1-9]\d{1,2})\) ?(\d{7,8})" + _ALNUM_AFTER)
_COUNTRY_BRACKETS = re.compile(r"\(\+?(\d{2,3})\) ?$")

# Lower wins when two candidates of the same length overlap.
_PRIORITY = {
    kind: rank
    for rank, kind in enumerate(("ID_NUMBER", "HK_ID", "TW_ID", "MACAU_ID", "BANK_CARD", "PHONE", "PASSPORT", "EMAIL"))
}


def find_identifiers(text: str) -> List[Identifier]:
    """Every identifier in `text`, in order, none overlapping. Never raises on a str."""
    if not isinstance(text, str):
        raise TypeError(f"find_identifiers needs a str, not {type(text).__name__}")
    folded = text.translate(_FOLD)
    candidates = list(_candidates(folded))
    candidates.sort(key=lambda c: (-(c.end - c.start), _PRIORITY[c.kind], c.start))
    chosen: List[Identifier] = []
    for candidate in candidates:
        if all(candidate.end <= kept.start or candidate.start >= kept.end for kept in chosen):
            chosen.append(candidate)
    return sorted(chosen, key=lambda c: c.start)


def _candidates(text: str) -> Iterator[Identifier]:
    for match in _EMAIL.finditer(text):
        yield Identifier("EMAIL", match.start(), match.end())
    for match in _HKID.finditer(text):
        check = match.group(3) or match.group(4)
        if is_hkid(match.group(1), match.group(2), check):
            yield Identifier("HK_ID", match.start(), match.end())
    for match in _MACAU.finditer(text):
        yield Identifier("MACAU_ID", match.start(), match.end())
    for match in _TWID.finditer(text):
        if is_taiwan_id(match.group()):
            yield Identifier("TW_ID", match.start(), match.end())
    for match in _PASSPORT_SHAPE.finditer(text):
        yield Identifier("PASSPORT", match.start(), match.end())
    for match in _PASSPORT_WORD.finditer(text):
        number = match.group(1)
        if not (number.isdigit() and len(number) == 8 and _looks_like_date(number)):
            yield Identifier("PASSPORT", match.start(1), match.end(1))
    for match in _LANDLINE_BRACKETS.finditer(text):
        yield Identifier("PHONE", match.start(), match.end())
    for match in _DIGIT_RUN.finditer(text):
        yield from _classify_run(text, match.start(1), match.group(1))


def _looks_like_date(digits: str) -> bool:
    return _valid_date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def _classify_run(text: str, offset: int, run: str) -> Iterator[Identifier]:
    """Identifiers made of consecutive groups of one digit run, longest from the left first."""
    groups: List[Tuple[int, int, str]] = [
        (offset + g.start(), offset + g.end(), g.group()) for g in _GROUP.finditer(run)
    ]
    i = 0
    while i < len(groups):
        for j in range(min(len(groups), i + 8), i, -1):
            parts = [g[2] for g in groups[i:j]]
            start, end = groups[i][0], groups[j - 1][1]
            kind = _classify_digits(parts, text[:start])
            if kind:
                start = _extend_country_code(text, start) if kind == "PHONE" else start
                yield Identifier(kind, start, end)
                i = j
                break
        else:
            i += 1


def _classify_digits(parts: Sequence[str], before: str) -> Optional[str]:
    """The kind of identifier these digit groups form together, or None."""
    compact = "".join(parts)
    if compact.startswith("+"):
        digits = compact[1:]
        return "PHONE" if digits.isdigit() and 8 <= len(digits) <= 15 else None
    if compact[-1] in "Xx":  # a resident ID's check character, even when it is wrong
        return "ID_NUMBER" if len(compact) == 18 and compact[:17].isdigit() else None
    lengths = [len(p) for p in parts]
    if len(compact) == 18 and is_mainland_id(compact):
        return "ID_NUMBER"
    if _is_mobile(compact, lengths) or _is_landline(compact, lengths):
        return "PHONE"
    if 13 <= len(compact) <= 19 and compact[0] in "3456" and luhn_valid(compact) and _card_grouping(lengths):
        return "BANK_CARD"
    if len(compact) == 15 and is_old_mainland_id(compact) and _OLD_ID_WORD.search(before):
        return "ID_NUMBER"
    return _kind_from_context(compact, lengths, before)


def _kind_from_context(compact: str, lengths: List[int], before: str) -> Optional[str]:
    """The kind a label before the number names, or that a long card- or ID-shaped run has."""
    if not compact.isdigit() or len(compact) < LABELLED_MIN_DIGITS:
        return None
    tail = before[-40:]
    if _OTHER_LABEL.search(tail):
        return None
    for kind, pattern in _LABEL_BEFORE:
        if pattern.search(tail):
            return kind
    if len(compact) == 18 and not _looks_like_date(compact[:8]):
        return "ID_NUMBER"
    if 15 <= len(compact) <= 19 and _card_grouping(lengths):
        return "BANK_CARD"
    return None


def _is_mobile(compact: str, lengths: List[int]) -> bool:
    for code in ("0086", "86", ""):
        if compact.startswith(code) and re.fullmatch(r"1[3-9]\d{9}", compact[len(code) :]):
            if code == "86" and lengths[0] != 2:
                return False  # a bare 86 glued to the number is too ambiguous
            rest = lengths[1:] if code and lengths[0] == len(code) else lengths
            return rest in ([11], [3, 4, 4], [3, 8], [7, 4], [3, 3, 5])
    return False


def _is_landline(compact: str, lengths: List[int]) -> bool:
    if not re.fullmatch(r"0[1-9]\d{8,10}", compact):
        return False
    area = 3 if compact[1] in "12" else 4
    local = len(compact) - area
    if len(lengths) == 1:
        return local in (7, 8)
    return lengths[0] == area and local in (7, 8) and all(n >= 3 for n in lengths[1:])


def _card_grouping(lengths: List[int]) -> bool:
    if len(lengths) == 1:
        return True
    return all(n == 4 for n in lengths[:-1]) or lengths in ([4, 6, 5], [4, 6, 4], [6, 13])


def _extend_country_code(text: str, start: int) -> int:
    """Include a bracketed country code `(+86) ` written before a phone number."""
    match = _COUNTRY_BRACKETS.search(text[max(0, start - 8) : start])
    return start - len(match.group()) if match else start


# ----------------------------------------------------------------------------- outputs


def redact(text: str) -> str:
    """`text` with each identifier replaced by its placeholder (`[ID_NUMBER]`, `[PHONE]`...)."""
    return _replace(text, lambda found, value: placeholder(found.kind))


def mask(text: str) -> str:
    """`text` with each identifier masked but recognisable: `4401**********1234`, `138****5678`."""
    return _replace(text, lambda found, value: mask_value(found.kind, value))


def _replace(text: str, render: Callable[[Identifier, str], str]) -> str:
    pieces, last = [], 0
    for found in find_identifiers(text):
        pieces.append(text[last : found.start])
        pieces.append(render(found, text[found.start : found.end]))
        last = found.end
    pieces.append(text[last:])
    return "".join(pieces)


def mask_value(kind: str, value: str) -> str:
    """One identifier of `kind`, masked: a few leading and trailing characters kept, stars between."""
    value = value.translate(_FOLD)
    if kind == "EMAIL":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    compact = re.sub(r"[^A-Za-z0-9+]", "", value).upper()
    if kind == "PHONE":
        return _mask_phone(value)
    head, tail = {
        "ID_NUMBER": (4, 4),
        "BANK_CARD": (4, 4),
        "HK_ID": (2, 1),
        "MACAU_ID": (1, 1),
        "TW_ID": (2, 3),
        "PASSPORT": (1, 3),
    }.get(kind, (1, 1))
    return _keep(compact, head, tail)


def _mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    for code in ("0086", "86", ""):
        if digits.startswith(code) and re.fullmatch(r"1[3-9]\d{9}", digits[len(code) :]):
            return ("+86 " if code else "") + _keep(digits[len(code) :], 3, 4)
    if digits.startswith("0") and not digits.startswith("00"):
        area = 3 if digits[1:2] in ("1", "2") else 4
        return digits[:area] + "-" + _keep(digits[area:], 0, 4)
    international = value.lstrip().startswith(("+", "00"))  # else a number known by its label alone
    return ("+" if international else "") + _keep(digits.lstrip("0") if international else digits, 3, 4)


def _keep(compact: str, head: int, tail: int) -> str:
    if len(compact) <= head + tail:
        return "*" * len(compact)
    return compact[:head] + "*" * (len(compact) - head - tail) + compact[len(compact) - tail :]


def redact_structure(obj: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, tuples, strings, numbers) with every string
    redacted, and every integer that is by itself an identifier (a phone stored as a number)
    replaced by its placeholder. Keys are kept; other values are returned unchanged."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {key: redact_structure(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [redact_structure(value) for value in obj]
    if isinstance(obj, tuple):
        return tuple(redact_structure(value) for value in obj)
    if isinstance(obj, int) and not isinstance(obj, bool):
        found = find_identifiers(str(obj))
        if len(found) == 1 and found[0].end - found[0].start == len(str(obj)):
            return placeholder(found[0].kind)
    return obj
