"""Redaction of claimants' identifiers: valid ones found, look-alikes (dates, amounts, order
numbers with a wrong checksum) left alone, in Chinese, English and mixed text.

Check characters are computed here by helpers written independently of core.privacy.redaction
(from the published definitions), or taken from hand-verified examples.
"""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.privacy.redaction import find_identifiers, is_hkid, is_mainland_id, is_taiwan_id, luhn_valid, mask, mask_value, redact, redact_structure


# ---------------------------------------------------------------- independent reference helpers

def gb11643_check(first17: str) -> str:
    """GB 11643-1999: weights 2^(17-i) mod 11, check value (12 - sum mod 11) mod 11, 10 -> X."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def make_id(region: str = "440106", birth: str = "19900307", seq: str = "123") -> str:
    first17 = region + birth + seq
    return first17 + gb11643_check(first17)


def wrong_check(valid: str) -> str:
    """The same number with another (wrong) last character."""
    for candidate in "0123456789X":
        if candidate != valid[-1]:
            return valid[:-1] + candidate
    raise AssertionError


def luhn_complete(partial: str) -> str:
    """Append the digit that makes `partial` pass Luhn (computed by brute force over 0-9)."""
    for digit in "0123456789":
        number = partial + digit
        doubled = [int(c) * (2 if i % 2 else 1) for i, c in enumerate(reversed(number))]
        if sum(d // 10 + d % 10 for d in doubled) % 10 == 0:
            return number
    raise AssertionError


def kinds(text: str):
    return [(found.kind, text[found.start:found.end]) for found in find_identifiers(text)]


# ------------------------------------------------------------------------ hand-verified facts

def test_reference_helper_agrees_with_published_example():
    # The example of GB 11643-1999 itself: 11010519491231002X.
    assert gb11643_check("11010519491231002") == "X"
    assert is_mainland_id("11010519491231002X")
    assert is_mainland_id("11010519491231002x")
    assert not is_mainland_id("110105194912310021")


def test_hong_kong_check_digit_examples():
    # A123456(3) is the example every HKID description uses; (4) is wrong.
    assert is_hkid("A", "123456", "3")
    assert not is_hkid("A", "123456", "4")
    # Two letters: AB987654(2): 9*10+8*11+7*9+6*8+5*7+4*6+3*5+2*4 = 371, 371 % 11 = 8, 11-8 = 3.
    assert is_hkid("AB", "987654", "3")
    assert not is_hkid("AB", "987654", "2")


def test_taiwan_examples():
    # A123456789 is the textbook valid example (A=10: 1*1+0*9+8+14+18+20+20+18+14+8+9 = 130).
    assert is_taiwan_id("A123456789")
    assert not is_taiwan_id("A123456788")
    assert not is_taiwan_id("A323456789")  # second digit must be 1, 2, 8 or 9


def test_luhn_examples():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("6222021234567890128")
    assert not luhn_valid("4111111111111112")


# ----------------------------------------------------------------------- valid identifiers found

@pytest.mark.parametrize("text, kind, value", [
    (f"我的身份证号是{make_id()}，请查一下", "ID_NUMBER", make_id()),
    (f"My ID number is {make_id('310115', '20000229', '007')}.", "ID_NUMBER",
     make_id("310115", "20000229", "007")),
    ("身份证：11010519491231002X。", "ID_NUMBER", "11010519491231002X"),
    (f"ID {make_id()[:6]} {make_id()[6:14]} {make_id()[14:]} thanks", "ID_NUMBER",
     f"{make_id()[:6]} {make_id()[6:14]} {make_id()[14:]}"),
    ("旧身份证号码 110105491231002 还能用吗", "ID_NUMBER", "110105491231002"),
    ("香港身份证A123456(3)", "HK_ID", "A123456(3)"),
    ("HKID: AB987654(3), please", "HK_ID", "AB987654(3)"),
    ("香港身份證 A１２３４５６（３）", "HK_ID", "A１２３４５６（３）"),
    ("澳门身份证 1234567(8)", "MACAU_ID", "1234567(8)"),
    ("Macau BIR 5/123456/7", "MACAU_ID", "5/123456/7"),
    ("台湾身份证A123456789", "TW_ID", "A123456789"),
    ("passport E12345678 expires soon", "PASSPORT", "E12345678"),
    ("护照号码：EA1234567", "PASSPORT", "EA1234567"),
    ("my passport number is 512345678", "PASSPORT", "512345678"),
    ("回乡证H12345678", "PASSPORT", "H12345678"),
    ("电话13812345678", "PHONE", "13812345678"),
    ("手机 138 1234 5678 联系我", "PHONE", "138 1234 5678"),
    ("call +86 139-1234-5678 today", "PHONE", "+86 139-1234-5678"),
    ("call (+86) 15912345678", "PHONE", "(+86) 15912345678"),
    ("0086 18612345678", "PHONE", "0086 18612345678"),
    ("座机020-87654321", "PHONE", "020-87654321"),
    ("office (0755) 1234567 ext", "PHONE", "(0755) 1234567"),
    ("Hong Kong +852 9123 4567", "PHONE", "+852 9123 4567"),
    ("全角１３８１２３４５６７８", "PHONE", "１３８１２３４５６７８"),
    ("银行卡6222021234567890128", "BANK_CARD", "6222021234567890128"),
    ("card 4111 1111 1111 1111 please", "BANK_CARD", "4111 1111 1111 1111"),
    ("卡号 6222-0212-3456-7890-128", "BANK_CARD", "6222-0212-3456-7890-128"),
    ("邮箱zhang.san@example.com.cn谢谢", "EMAIL", "zhang.san@example.com.cn"),
    ("write to li_si+claims@mail.example.org.", "EMAIL", "li_si+claims@mail.example.org"),
])
def test_identifier_found(text, kind, value):
    assert kinds(text) == [(kind, value)]
    assert value not in redact(text)
    assert f"[{kind}]" in redact(text)


def test_several_identifiers_in_one_mixed_message():
    text = f"我叫张三, ID {make_id()}, 手机13912345678, email a.b@example.com, 卡号4111111111111111"
    assert [k for k, _ in kinds(text)] == ["ID_NUMBER", "PHONE", "EMAIL", "BANK_CARD"]
    assert redact(text) == "我叫张三, ID [ID_NUMBER], 手机[PHONE], email [EMAIL], 卡号[BANK_CARD]"


def test_date_before_phone_does_not_swallow_it():
    assert kinds("2024-01-15 13812345678") == [("PHONE", "13812345678")]


# ------------------------------------------------------------------- look-alikes left alone

@pytest.mark.parametrize("text", [
    "我1990年3月7日出生，2024年退休",
    "born 19900307, retired in 2024",
    "日期：2024-01-15，金额：12,345.67元",
    "The amount was 123456789012345678 fen",  # 18 digits, fails the ID check
    f"订单号 {wrong_check(make_id())}",  # an ID with a wrong check character
    f"order {make_id()[:-1]}",  # 17 digits
    "reference 4111111111111112",  # fails Luhn
    "流水号 1234567890123456",  # Luhn-looking length but begins with 1
    "12345678901 is an 11-digit count",  # begins 12: not a mobile
    "1381234567 has only ten digits",
    "138123456789 has twelve",
    "香港身份证A123456(4)",  # wrong HK check digit
    "Taiwan A123456788",  # wrong TW checksum
    "pi is 3.14159265358979323",
    "call 12333 or 95518",  # service hotlines
    "price 6,222,021,234,567,890",
    "护照有效期20300101",
    "",
])
def test_look_alikes_not_redacted(text):
    assert find_identifiers(text) == []
    assert redact(text) == text


def test_wrong_check_characters_all_rejected():
    valid = make_id("110101", "19850615", "042")
    for candidate in "0123456789X":
        number = valid[:-1] + candidate
        assert is_mainland_id(number) == (candidate == valid[-1])


# --------------------------------------------------------------------------------- masking

def test_mask_keeps_prefix_and_suffix():
    number = make_id("440106", "19900307", "123")
    assert mask(f"ID {number}") == f"ID 4401**********{number[-4:]}"
    assert mask("手机138 1234 5678") == "手机138****5678"
    assert mask("tel +86 138-1234-5678") == "tel +86 138****5678"
    assert mask("座机020-87654321") == "座机020-****4321"
    assert mask("card 6222021234567890128") == "card 6222***********0128"
    assert mask("mail zhang@example.com") == "mail z***@example.com"
    assert mask("nothing here 2024") == "nothing here 2024"


def test_mask_value_hides_the_middle_of_every_kind():
    assert mask_value("HK_ID", "A123456(3)") == "A1*****3"
    assert mask_value("TW_ID", "A123456789") == "A1*****789"
    assert mask_value("PASSPORT", "E12345678") == "E*****678"
    assert mask_value("MACAU_ID", "1234567(8)") == "1******8"
    assert mask_value("BANK_CARD", "4111 1111 1111 1111") == "4111********1111"
    assert mask_value("PHONE", "(+86) 13912345678") == "+86 139****5678"
    assert mask_value("PHONE", "+852 9123 4567") == "+852****4567"


# ------------------------------------------------------------------------ structures

def test_redact_structure_walks_json_like_values():
    event = {"event": "user", "text": "电话13812345678", "timestamp": 1700000000.5,
             "parse_data": {"entities": [{"entity": "phone", "value": "13812345678"}],
                            "intent": {"name": "inform", "confidence": 0.9}},
             "metadata": {"phone_as_number": 13812345678, "count": 2024, "flag": True},
             "pair": ("a@b.example.com", None)}
    out = redact_structure(event)
    assert out["text"] == "电话[PHONE]"
    assert out["parse_data"]["entities"][0] == {"entity": "phone", "value": "[PHONE]"}
    assert out["parse_data"]["intent"] == {"name": "inform", "confidence": 0.9}
    assert out["metadata"] == {"phone_as_number": "[PHONE]", "count": 2024, "flag": True}
    assert out["pair"] == ("[EMAIL]", None)
    assert out["timestamp"] == 1700000000.5
    assert event["text"] == "电话13812345678"  # the input is not changed


def test_find_identifiers_rejects_non_text():
    with pytest.raises(TypeError):
        find_identifiers(b"13812345678")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties

_births = st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2020, 12, 31))
_regions = st.sampled_from(["110101", "310115", "440106", "510107", "650102", "810000"])
_seqs = st.integers(0, 999).map(lambda n: f"{n:03d}")
_valid_ids = st.builds(lambda r, b, s: make_id(r, b.strftime("%Y%m%d"), s), _regions, _births, _seqs)
_mobiles = st.builds(lambda p, n: f"1{p}{n:09d}", st.sampled_from("3456789"), st.integers(0, 10 ** 9 - 1))
_cards = st.builds(lambda p, n, length: luhn_complete((p + f"{n:018d}")[:length - 1]),
                   st.sampled_from(["62", "4", "5", "35"]), st.integers(0, 10 ** 18 - 1),
                   st.integers(16, 19))
_context = st.text(alphabet=st.sampled_from(list("请帮我查一下社保 the of,.:，。！？\n")), max_size=12)
_any_text = st.text(alphabet=st.sampled_from(list("0123456789 -+()@.xXAEH身份证电话abc，。")), max_size=60)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(_valid_ids, _context, _context)
def test_property_valid_ids_are_always_redacted(number, before, after):
    text = before + number + after
    assert ("ID_NUMBER", number) in kinds(text)
    assert number not in redact(text)


@settings(max_examples=200)
@given(_valid_ids, st.sampled_from("0123456789X"))
def test_property_one_wrong_character_is_not_an_id(number, replacement):
    candidate = number[:-1] + replacement
    assert is_mainland_id(candidate) == (candidate == number)


@settings(max_examples=200)
@given(_mobiles, _context, _context)
def test_property_mobiles_are_masked_to_prefix_and_suffix(number, before, after):
    masked = mask(before + number + after)
    assert f"{number[:3]}****{number[-4:]}" in masked
    assert number not in masked


@settings(max_examples=200)
@given(_cards, _context)
def test_property_luhn_cards_are_redacted(number, before):
    text = before + number + " 谢谢"
    assert number not in redact(text)


@settings(max_examples=300)
@given(_any_text)
def test_property_redaction_is_total_and_idempotent(text):
    redacted = redact(text)
    assert redact(redacted) == redacted
    assert find_identifiers(redacted) == []
    for found in find_identifiers(text):
        assert 0 <= found.start < found.end <= len(text)


@settings(max_examples=200)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)),
       st.integers(0, 10 ** 7).map(lambda n: f"{n / 100:.2f}"))
def test_property_dates_and_amounts_survive(day, amount):
    text = f"{day.isoformat()} {day:%Y%m%d} {day.year}年{day.month}月 ¥{amount}"
    assert redact(text) == text


# ----------------------------------------------------------------------------- context (issue 14)

@pytest.mark.parametrize("text, number", [
    ("银行卡号 6222021234567890124", "6222021234567890124"),  # fails Luhn, right after the label
    ("我的卡號是：6222 0212 3456 7891", "6222 0212 3456 7891"),
    ("账号 12345678", "12345678"),
    ("card number 4111 1111 1111 1112", "4111 1111 1111 1112"),
    ("my account no. 12345678", "12345678"),
    ("身份证号码 440106199003071230", "440106199003071230"),  # wrong check character
    ("身份證 44010619900307123X", "44010619900307123X"),
    ("my SSN is 123456789", "123456789"),
    ("手机 1381234567", "1381234567"),  # ten digits: a typo, still a phone
    ("call me on 07700 900123", "07700 900123"),
])
def test_a_number_after_its_label_is_masked_whatever_its_checksum(text, number):
    masked = mask(text)
    assert number not in masked and number.replace(" ", "") not in masked.replace(" ", "")
    assert "*" in masked
    assert "[" in redact(text)


@pytest.mark.parametrize("text", [
    "6222021234567890124 这是我的",  # 19 digits, card-shaped, fails Luhn
    "my number 4401061990030712319 thanks",
    "440106199002301234",  # ID-shaped, 30 February
    "44010619900307123X",  # ID-shaped, wrong check character
])
def test_a_long_card_or_id_shaped_run_is_masked_without_a_label(text):
    assert "*" in mask(text) and "[" in redact(text)


@pytest.mark.parametrize("text", [
    "账号余额 3000 元",  # the label, but an amount of four digits
    "订单号 440106199003071230",  # another label names it
    "reference 4111111111111112",
    "我交了15年，每月3000元，2024年退休",
    "phone me about my 2019 claim",
])
def test_labels_do_not_mask_amounts_years_or_other_references(text):
    assert mask(text) == text
