"""Reading answers to pre-check questions."""
import pytest

from actions.answer_parsing import (chinese_number, parse_birth, parse_group, parse_leaving, parse_years,
                                    parse_yes_no)


@pytest.mark.parametrize("numeral,value", [("十五", 15), ("十", 10), ("二十", 20), ("三", 3), ("两", 2),
                                           ("二十三", 23), ("一九六六", 1966)])
def test_chinese_numbers(numeral, value):
    assert chinese_number(numeral) == value


@pytest.mark.parametrize("text,years", [
    ("3年", 3), ("三年", 3), ("十五年", 15), ("一年半", 1.5), ("两年多", 2), ("18个月", 1.5),
    ("大概10年吧", 10), ("4年零6个月", 4.5), ("about 8 years", 8), ("eighteen months", 1.5),
    ("12 and a half years", 12.5), ("12", 12), ("没交过", 0), ("never paid", 0), ("叁年", None),
    ("不知道", None), ("I don't know", None), ("500 years", None),
])
def test_years(text, years):
    assert parse_years(text) == years


@pytest.mark.parametrize("text,answer", [
    ("是", True), ("是的", True), ("对", True), ("被辞退了", True), ("合同到期单位不续签", True),
    ("不是", False), ("没有", False), ("还没有", False), ("我自己辞职的", False),
    ("不是我自己要走,是被辞退的", True),
    ("yes", True), ("yeah I was laid off", True), ("my contract was not renewed", True),
    ("no", False), ("not yet", False), ("I resigned", False), ("maybe", None), ("嗯……这个", True),
])
def test_yes_no(text, answer):
    assert parse_yes_no(text) is answer


@pytest.mark.parametrize("text,birth", [
    ("1966年3月", (1966, 3)), ("1966-03", (1966, 3)), ("66年3月", (1966, 3)), ("一九六六年三月", (1966, 3)),
    ("March 1966", (1966, 3)), ("born in may 1970", (1970, 5)), ("3/1966", (1966, 3)),
    ("1966", None), ("1966年13月", None), ("昨天", None),
])
def test_birth(text, birth):
    assert parse_birth(text) == birth


@pytest.mark.parametrize("text,group", [
    ("男", "male"), ("man", "male"), ("女干部", "female_cadre"), ("woman cadre", "female_cadre"),
    ("女工人", "female_worker"), ("woman worker", "female_worker"), ("原来55岁退休", "female_cadre"),
    ("女", None), ("woman", None),
])
def test_group(text, group):
    assert parse_group(text) == group


# Resigning because the employer did not pay wages or social insurance counts as not by one's own
# choice (Labour Contract Law art. 38): it is recognised before any yes/no reading of "辞职"/"quit".
@pytest.mark.parametrize("text,reason", [
    ("公司三个月没发工资，我辞职了", "employer_fault"), ("单位不给我交社保我就走了", "employer_fault"),
    ("拖欠工资", "employer_fault"), ("社保断交了，我辞职", "employer_fault"),
    ("單位欠薪我才辭職", "employer_fault"),
    ("I quit because my wages were not paid", "employer_fault"),
    ("they stopped paying my social insurance so I left", "employer_fault"),
    ("the company owed me three months of salary", "employer_fault"),
    ("是", "dismissed"), ("被辞退了", "dismissed"), ("合同到期单位不续签", "dismissed"),
    ("yes", "dismissed"), ("I was laid off", "dismissed"), ("my contract was not renewed", "dismissed"),
    ("不是", "resigned"), ("我自己辞职的", "resigned"), ("单位没有欠薪，我自己辞职的", "resigned"),
    ("no", "resigned"), ("I quit", "resigned"), ("I resigned for my own reasons", "resigned"),
    ("公司拖了三个月工资，我就辞职了", "employer_fault"), ("工资发不出来我才走的", "employer_fault"),
    ("quit because the boss stopped paying me", "employer_fault"),
    ("不是我自己要走", "dismissed"), ("不是我自己辞的职，是被辞退的", "dismissed"), ("合同到期公司没续签", "dismissed"),
    ("it was not my choice", "dismissed"),
    ("我自己想换工作辞的职", "resigned"), ("I left by my own choice", "resigned"),
    ("不知道", None), ("not sure", None), ("说不清", None),
])
def test_how_the_job_ended(text, reason):
    assert parse_leaving(text) == reason
