"""The situation entities (bot/situation/): what the claimant says of themselves, in both
languages, and the sentences that look alike but say nothing about the claimant."""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Tuple

import pytest

from bot.situation.extract import extract
from bot.situation.fact import ENTITIES
from bot.situation.names import NameLexicon, NameLexiconError, load_names, trie_pattern
from bot.situation.numbers import chinese_number, count_value
from core.settings import ROOT
from bot.textnorm import normalise

NAMES = load_names(ROOT / "data" / "lexicons" / "situation")


def facts(message: str) -> List[Tuple[str, Any]]:
    return [(f.entity, f.value) for f in extract(normalise(message).text, NAMES)]


def of(message: str, entity: str) -> List[Any]:
    return [value for name, value in facts(message) if name == entity]


@pytest.mark.parametrize("token,value", [
    ("6", 6), ("4.5", 4), ("5-6", 5), ("十五", 15), ("十", 10), ("二十三", 23), ("二十多", 20), ("十几", 10),
    ("三四", 3), ("两", 2), ("twenty-five", 25), ("six", 6), ("一九六六", None), ("叁", None),
])
def test_counts_never_say_more_than_the_claimant_did(token, value):
    assert count_value(token) == value


def test_years_are_read_digit_by_digit():
    assert chinese_number("一九六六") == 1966 and chinese_number("十五") == 15


# ---------------------------------------------------------------------------- years of contributions

@pytest.mark.parametrize("message,years", [
    ("我交了6年社保，被辞退了，失业金能领多久？", 6),
    ("我社保交了十五年", 15),
    ("男，58岁，缴费二十多年", 20),
    ("单位合同到期不续签，我交了3年失业保险", 3),
    ("养老保险累计缴费满15年了", 15),
    ("社保已经交了一年半", 1),
    ("失业保险交了18个月", 1),
    ("缴费年限16年", 16),
    ("I've paid in for 6 years and was laid off last month", 6),
    ("paid in for 6 years", 6),
    ("I have 12 years of contributions", 12),
    ("I've been paying social insurance for about eight years", 8),
    ("We paid contributions for twenty-two years", 22),
])
def test_years_of_contributions(message, years):
    assert of(message, "contribution_years") == [years]


@pytest.mark.parametrize("message", [
    "我在这家公司干了8年",                      # years of work, not of contributions
    "交满15年才能领养老金吗",                  # the rule, asked about
    "至少要交15年吗",
    "还差3年才够15年",
    "缴费不满1年能领吗",
    "交了6个月社保能领失业金吗",               # months, not years
    "2015年开始交社保，2020年3月被辞退",       # dates
    "社保断了3年",                             # a gap, not contributions
    "三年前交过社保",
    "一年交多少钱社保",
    "Do I need 15 years of contributions to get a pension?",
    "I paid contributions 3 years ago",
    "I have to pay another 3 years of contributions",
    "If I have paid for 10 years, how long can I claim?",
    "I was paid 6 months of contributions",
    "my pension is 1200 yuan a month and I worked 30 years",
])
def test_what_is_not_the_claimants_years_of_contributions(message):
    assert of(message, "contribution_years") == []


def test_years_of_contributions_are_read_in_their_own_clause():
    assert of("我在这家公司干了8年，交了6年社保", "contribution_years") == [6]


# ------------------------------------------------------------------------------------------ age

@pytest.mark.parametrize("message,age", [
    ("我今年58岁，儿子18岁", 58), ("本人女，五十岁", 50), ("58周岁了还能找到工作吗", 58), ("我今年59了", 59),
    ("I'm 58 and my son is 18", 58), ("I am 61 years old", 61), ("I just turned 60", 60),
    ("My husband is 64 and I'm 58", 58), ("I'm a 57-year-old woman", 57), ("aged 59, male", 59),
])
def test_the_claimants_age(message, age):
    assert of(message, "age") == [age]


@pytest.mark.parametrize("message", [
    "我儿子18岁了", "孩子今年8岁", "男的60岁退休吗", "退休年龄是60岁", "满60岁才能领", "到60岁能不能办退休",
    "my son is 18", "when I'm 67 I can claim the state pension", "I'm 7 months pregnant", "I am 500 yuan short",
    "My mother, aged 80, needs care", "I'm 3 days late with the payment",
])
def test_what_is_not_the_claimants_age(message):
    assert of(message, "age") == []


# ----------------------------------------------------------------------------------- birth year

@pytest.mark.parametrize("message,year,month", [
    ("本人女，1970年3月出生，想问退休年龄", 1970, 3), ("我是1966年的", 1966, None), ("出生于1966年", 1966, None),
    ("一九六六年三月出生", 1966, 3), ("66年生的", 1966, None), ("我是66年的", 1966, None),
    ("born in 1970, I'm a woman", 1970, None), ("I was born in March 1966", 1966, 3),
    ("Date of birth: 1966-03-07", 1966, 3), ("DOB 07/03/1966", 1966, None), ("born in '66", 1966, None),
])
def test_the_claimants_birth_year_and_month(message, year, month):
    found = [f for f in extract(normalise(message).text, NAMES) if f.entity == "birth_year"]
    assert [(f.value, f.extra.get("month")) for f in found] == [(year, month)]


@pytest.mark.parametrize("message", [
    "60后退休年龄", "2020年3月被辞退", "1995年参加工作", "身份证号110101196603071234", "我儿子2005年出生",
    "my son was born in 2010", "I started work in 1985",
])
def test_what_is_not_the_claimants_birth_year(message):
    assert of(message, "birth_year") == []


# --------------------------------------------------------------------------------------- gender

@pytest.mark.parametrize("message,gender", [
    ("我是女的，1970年出生", "female"), ("本人男，58岁", "male"), ("性别：女", "female"), ("我是女职工", "female"),
    ("男，58岁，缴费二十多年", "male"), ("58岁男职工想问退休", "male"), ("作为女工人什么时候退休", "female"),
    ("I'm a woman", "female"), ("I'm a 58-year-old man", "male"), ("As a woman, when do I retire?", "female"),
    ("I am female", "female"), ("I'm a single mum", "female"), ("Gender: male", "male"),
])
def test_the_claimants_gender(message, gender):
    assert of(message, "gender") == [gender]


@pytest.mark.parametrize("message", [
    "女的多少岁退休", "男职工退休年龄是多少", "我女儿今年18岁", "我男朋友被辞退了", "我男人被裁员了",
    "what is the retirement age now for a man", "my wife is a woman worker", "If I were a man would it differ",
])
def test_what_is_not_the_claimants_gender(message):
    assert of(message, "gender") == []


# ------------------------------------------------------------------------------ how the job ended

@pytest.mark.parametrize("message,value,role", [
    ("我交了6年社保，被辞退了", "dismissed", None), ("公司把我辞退了", "dismissed", None),
    ("合同到期单位不续签", "dismissed", None), ("我被裁员了", "dismissed", None),
    ("不是我自己辞职的，是被辞退的", "dismissed", None), ("我是主动辞职的", "resigned", None),
    ("我辞职了，能领失业金吗", "resigned", None), ("公司拖欠工资三个月，我只好辞职了", "resigned", "employer_fault"),
    ("I was laid off last month", "dismissed", None), ("they let me go in March", "dismissed", None),
    ("my contract wasn't renewed", "dismissed", None), ("Laid off after 14 years", "dismissed", None),
    ("I resigned in June", "resigned", None), ("I wasn't fired, I quit", "resigned", None),
    ("I resigned because my wages were unpaid", "resigned", "employer_fault"),
])
def test_how_the_claimants_job_ended(message, value, role):
    found = [f for f in extract(normalise(message).text, NAMES) if f.entity == "job_end"]
    assert [(f.value, f.extra.get("role")) for f in found] == [(value, role)]


@pytest.mark.parametrize("message", [
    "如果被辞退能领失业金吗", "我想辞职，辞职能领失业金吗", "不是被辞退", "我老公被裁员了", "公司辞退员工要赔偿吗",
    "can i get unemployment benefit if i resigned", "I'm worried I'll be fired", "I wasn't fired",
    "My husband was laid off", "I'm thinking of quitting",
])
def test_what_is_not_how_the_claimants_job_ended(message):
    assert of(message, "job_end") == []


# ------------------------------------------------------------------------------- places, benefits

@pytest.mark.parametrize("message,expected", [
    ("广州的失业金怎么领", [("city", "广州"), ("benefit", "失业金")]),
    ("廣州市的失業金", [("city", "广州"), ("benefit", "失业金")]),  # Traditional, folded first
    ("吉林市的低保，吉林省的养老金", [("city", "吉林"), ("benefit", "低保"), ("province", "吉林"), ("benefit", "养老金")]),
    ("我在广西壮族自治区", [("province", "广西")]),
    ("我在中山工作", [("city", "中山")]),
    ("北京医保报销", [("city", "北京"), ("benefit", "医保")]),
    ("I live in Jilin and claim Jobseeker's Allowance", [("province", "Jilin"), ("benefit", "Jobseeker's Allowance")]),
    ("my state pension in Shenzhen", [("benefit", "State Pension"), ("city", "Shenzhen")]),
    ("Can I get JSA?", [("benefit", "JSA")]),
])
def test_places_and_benefits(message, expected):
    assert facts(message) == expected


@pytest.mark.parametrize("message", [
    "中山路上的社保局在哪", "德州扑克", "开封信封", "大同小异", "三明治", "I had a snap decision", "pip install",
])
def test_everyday_words_are_not_places_or_benefits(message):
    assert facts(message) == []


def test_every_fact_keeps_its_span_and_the_text_it_came_from():
    text = normalise("我今年58岁，交了二十多年社保，上个月被辞退了，在广州").text
    found = extract(text, NAMES)
    assert {f.entity for f in found} == {"age", "contribution_years", "job_end", "city"}
    for fact in found:
        assert text[fact.start:fact.end] == fact.text
        entity = fact.as_entity("SituationEntityExtractor")
        assert entity["start"] == fact.start and entity["end"] == fact.end and entity["text"] == fact.text
        assert entity["entity"] in ENTITIES


def test_a_long_letter_is_read_in_full():
    letter = "我在厂里干了很多年，日子很难。" * 80 + "我交了6年社保，被辞退了。"
    text = normalise(letter).text
    assert len(text) == 2000 or len(letter) <= 2000
    assert [f.entity for f in extract(text, NAMES)][-2:] == ["contribution_years", "job_end"]


# ---------------------------------------------------------------------------------- the name lists

def test_the_trie_pattern_matches_every_name_and_prefers_the_longest():
    import re
    pattern = re.compile(trie_pattern(["失业金", "失业保险", "失业保险金", "低保"]))
    assert [m.group() for m in pattern.finditer("失业保险金和失业金、低保")] == ["失业保险金", "失业金", "低保"]


def test_the_names_survive_a_round_trip_through_the_model():
    again = NameLexicon.from_dict(NAMES.to_dict())
    assert again.names == NAMES.names


def _write(tmp_path: Path, places: str, benefits: str = "benefits:\n  zh: [失业金]\n") -> Path:
    (tmp_path / "places.yml").write_text(places, encoding="utf-8")
    (tmp_path / "benefits.yml").write_text(benefits, encoding="utf-8")
    return tmp_path


def test_a_strict_name_no_province_lists_is_an_error_naming_the_file(tmp_path):
    folder = _write(tmp_path, "strict: [火星]\nprovinces:\n  广东: {en: Guangdong, cities: {广州: Guangzhou}}\n")
    with pytest.raises(NameLexiconError) as error:
        load_names(folder)
    assert "火星" in str(error.value) and "places.yml" in str(error.value)


def test_a_city_listed_twice_is_an_error_naming_its_line(tmp_path):
    folder = _write(tmp_path, "provinces:\n  广东:\n    en: Guangdong\n    cities: {广州: Guangzhou}\n"
                              "  广西:\n    en: Guangxi\n    cities: {广州: Guangzhou}\n")
    with pytest.raises(NameLexiconError) as error:
        load_names(folder)
    assert error.value.line == 7 and "twice" in error.value.problem


def test_editing_a_list_changes_the_components_training_fingerprint(tmp_path):
    # Rasa's training cache keys a component by its config and training data; the lists are
    # neither, so without this a retrained model would keep the names of an earlier training.
    from bot.components.situation_entities import SituationEntityExtractor

    folder = _write(tmp_path, "provinces:\n  广东: {en: Guangdong, cities: {广州: Guangzhou}}\n")
    before = SituationEntityExtractor.fingerprint_addon({"lexicon_path": str(folder)})
    _write(tmp_path, "provinces:\n  广东: {en: Guangdong, cities: {广州: Guangzhou, 深圳: Shenzhen}}\n")
    assert SituationEntityExtractor.fingerprint_addon({"lexicon_path": str(folder)}) != before


def test_the_story_tests_mark_what_the_extractor_finds():
    # `make test-stories` checks entities through the trained model; this says which line drifted
    # in a second, without one.
    import json
    import re

    import yaml

    annotation = re.compile(r"\[([^\]]+)\]\{([^}]*)\}")
    for path in sorted((ROOT / "tests").glob("test_*.yml")):
        for story in yaml.safe_load(path.read_text(encoding="utf-8")).get("stories", []):
            for step in story["steps"]:
                line = str(step.get("user") or "").strip()
                if not line or line.startswith("/"):
                    continue
                marked, plain, position = [], "", 0
                for match in annotation.finditer(line):
                    plain += line[position:match.start()]
                    data = json.loads("{" + match.group(2) + "}")
                    marked.append((data["entity"], data["value"], len(plain), len(plain) + len(match.group(1))))
                    plain += match.group(1)
                    position = match.end()
                plain += line[position:]
                found = [(f.entity, str(f.value), f.start, f.end) for f in extract(normalise(plain).text, NAMES)]
                assert found == marked, f"{path.name}: {line}"
