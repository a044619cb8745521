"""The custom NLU components, seen through the real server's /model/parse."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.stack


def test_mixed_chinese_english_is_tokenised_without_whitespace_tokens(client):
    result = client.parse("我的pension什么时候到账 please help")
    assert result["language"]["code"] == "zh"
    assert result["intent"]["name"] in ("ask_payment_status", "ask_pension")


def test_traditional_text_is_normalised_before_featurising(client):
    simplified = client.parse("养老保险交满多少年才能领")
    traditional = client.parse("養老保險交滿多少年才能領")
    assert traditional["intent"]["name"] == simplified["intent"]["name"]
    assert abs(traditional["intent"]["confidence"] - simplified["intent"]["confidence"]) < 1e-6


def test_input_facts_and_language_are_in_the_parse_result(client):
    result = client.parse("hello, how do I apply for the minimum living allowance?")
    assert result["language"] == {"code": "en", "explicit": False, "weak": False}
    assert result["input"]["has_words"] and not result["input"]["truncated"]


def test_no_words_is_a_fallback_with_full_confidence(client):
    result = client.parse("🙏🙏？")
    assert result["intent"]["name"] == "nlu_fallback" and result["intent"]["confidence"] == 1.0
    assert result["input"]["has_words"] is False


def test_a_city_is_extracted(client):
    result = client.parse("广州的失业金怎么领")
    assert {"entity": "city", "value": "广州"}.items() <= result["entities"][0].items()


def test_the_situation_entities_keep_their_span_and_text(client):
    result = client.parse("我今年58岁，交了二十多年社保，上个月被辞退了，在廣州")
    found = {e["entity"]: e for e in result["entities"]}
    assert {k: e["value"] for k, e in found.items()} == {"age": 58, "contribution_years": 20, "job_end": "dismissed",
                                                         "city": "广州"}
    for entity in found.values():  # offsets into the normalised text, the parse result's `text`
        assert result["text"][entity["start"]:entity["end"]] == entity["text"]


def test_someone_elses_age_and_a_date_are_not_the_claimants(client):
    result = client.parse("my son is 18 and I started paying in 2015")
    assert result["entities"] == []
