"""Using what the claimant already said: the answer fitted to their facts, and the pre-checks
starting from them (actions/claimant_facts.py, actions/tailoring.py, actions/eligibility_forms.py).

The conversations here carry the entities the NLU component gives (bot/situation/, run on the
claimant's words); tests/test_conversations.py does the same through the real servers.
"""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import eligibility_forms, topic_answer
from actions.claimant_facts import ClaimantFacts, facts_from_events, known_answers
from actions.eligibility_forms import ValidatePensionForm, ValidateUnemploymentForm
from actions.topic_answer import ActionAnswerTopic
from core.settings import ROOT
from bot.situation.extract import extract
from bot.situation.names import load_names
from bot.textnorm import normalise
from test_actions import DOMAIN, all_text

NAMES = load_names(ROOT / "data" / "lexicons" / "situation")


def said(text: str, intent: str = "inform") -> Dict[str, Any]:
    """The user event Rasa records for `text`, with the situation entities NLU finds in it."""
    clean = normalise(text).text
    entities = [fact.as_entity("SituationEntityExtractor") for fact in extract(clean, NAMES)]
    return {"event": "user", "text": text, "parse_data": {"text": clean, "intent": {"name": intent},
                                                          "entities": entities}}


def conversation(*texts: str, intent: str = "inform", language: str = "en", slots: Optional[Dict[str, Any]] = None,
                 active_loop: Optional[str] = None) -> Tracker:
    events = [{"event": "session_started"}] + [said(t, intent) for t in texts]
    latest = events[-1]["parse_data"] if texts else {}
    return Tracker("t", {"language": language, **(slots or {})}, latest, events, False, None,
                   {"name": active_loop} if active_loop else {}, None)


def starting(form: str, *texts: str, language: str = "en") -> Tracker:
    """The tracker Rasa sends the form's validation action as the form starts after the claimant's
    last message: the form already active, its activation the last events."""
    events = [{"event": "session_started"}] + [said(t) for t in texts] + [
        {"event": "active_loop", "name": form}, {"event": "slot", "name": "requested_slot", "value": None},
        {"event": "action", "name": form}]
    return Tracker("t", {"language": language}, events[-4]["parse_data"], events, False, None, {"name": form}, None)


def run(action, tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


@pytest.fixture
def june_2026(monkeypatch):
    monkeypatch.setattr(topic_answer, "this_month", lambda: (2026, 6))
    monkeypatch.setattr(eligibility_forms, "this_month", lambda: (2026, 6))


def slot_values(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


# ------------------------------------------------------------------------------- the facts

def test_the_latest_of_each_fact_wins_and_a_new_session_forgets():
    events = [said("我交了6年社保"), said("不对，我交了7年社保，我是1966年3月出生的"), said("I'm a man")]
    facts = facts_from_events(events)
    assert (facts.contribution_years, facts.birth, facts.gender) == (7, (1966, 3), "male")
    assert facts_from_events(events + [{"event": "session_started"}]) == ClaimantFacts()


def test_a_resignation_over_unpaid_wages_is_the_employer_fault_answer():
    facts = facts_from_events([said("公司拖欠工资三个月，我只好辞职了，在广州，失业金怎么领")])
    assert (facts.job_end, facts.city, facts.benefits) == ("employer_fault", "广州", ("失业金",))
    assert known_answers("unemployment_form", facts) == {"uf_involuntary": "employer_fault"}


def test_a_birth_year_without_its_month_and_a_woman_answer_no_pre_check_question():
    facts = facts_from_events([said("I'm a woman, born in 1970, and I've paid in for 20 years")])
    assert known_answers("pension_form", facts) == {"pf_contribution_years": 20}


# ------------------------------------------------------------------------- fitted answers

@pytest.mark.parametrize("language,text,fitted", [
    ("en", "I've paid in for 6 years and I was laid off. How long can I get unemployment benefit?",
     ["With 6 years of contributions, you can get unemployment benefit for up to 18 months",
      "counts as not leaving by your own choice"]),
    ("zh", "我交了6年社保，被辞退了，失业金能领多久？", ["缴费满6年,最长可领18个月", "属于非本人意愿中断就业"]),
    ("en", "I quit my job after 12 years of paying contributions. Can I get unemployment benefit?",
     ["for up to 24 months", "Leaving a job by your own choice usually does not qualify"]),
])
def test_the_unemployment_answer_leads_with_the_claimants_own_figure(language, text, fitted):
    messages, _ = run(ActionAnswerTopic(), conversation(text, intent="ask_unemployment", language=language))
    first = messages[0]["text"]
    for line in fitted:
        assert line in first
    # Still not a decision, and local rules vary.
    assert ("not a decision" in first and "local rules vary" in first) if language == "en" else \
        ("不是正式决定" in first and "各地具体规定也有不同" in first)
    assert all_text(messages).count("More on this" if language == "en" else "想了解更多") == 1


def test_the_fitted_line_comes_before_the_general_answer():
    messages, _ = run(ActionAnswerTopic(), conversation("我交了6年社保，失业金能领多久", intent="ask_unemployment",
                                                        language="zh"))
    first = messages[0]["text"].splitlines()
    assert first[0] == "失业保险金" and first[1].startswith("缴费满6年,最长可领18个月")


def test_without_facts_the_answer_is_the_general_one():
    with_facts, _ = run(ActionAnswerTopic(), conversation("我交了6年社保，失业金能领多久", intent="ask_unemployment",
                                                          language="zh"))
    without, _ = run(ActionAnswerTopic(), conversation("失业金能领多久", intent="ask_unemployment", language="zh"))
    assert "最长可领18个月" in with_facts[0]["text"] and "最长可领" not in without[0]["text"]
    assert "不是正式决定" not in without[0]["text"]


def test_a_man_born_in_march_1966_is_told_his_retirement_age_and_his_minimum(june_2026):
    messages, _ = run(ActionAnswerTopic(), conversation(
        "I'm a man, born in March 1966. I've paid pension contributions for 12 years. When can I get my pension?",
        intent="ask_pension"))
    first = messages[0]["text"]
    # Men born January to April 1966: 60 years and 4 months (State Council Measures, annex 1).
    assert "man, born 1966-03: statutory retirement age 60 years 4 months, reached in 2026-07" in first
    assert "about 3 years short of the minimum of 15 years for a monthly pension (for reaching retirement age in 2026)" \
        in first


def test_a_woman_who_gives_her_age_is_told_both_womens_ages_and_who_decides_which(june_2026):
    messages, _ = run(ActionAnswerTopic(), conversation("我是女的，今年52岁，什么时候能退休", intent="ask_pension",
                                                        language="zh"))
    first = messages[0]["text"]
    assert "女干部,今年52岁:按出生月份,法定退休年龄在" in first and "女工人,今年52岁" in first
    assert "由经办机构根据档案核定" in first and "不是正式决定" in first


def test_years_alone_answer_the_minimum_with_when_it_rises(june_2026):
    messages, _ = run(ActionAnswerTopic(), conversation("我养老保险交了20年，以后能领养老金吗", intent="ask_pension",
                                                        language="zh"))
    assert "缴费20年,已经够按月领养老金的最低缴费年限15年(2029年底前到龄;2030年起逐步提高)" in messages[0]["text"]


def test_the_full_answer_style_leads_with_the_fitted_line_too():
    from core.settings import Settings

    messages, _ = run(ActionAnswerTopic(Settings(answer_style="full")),
                      conversation("I've paid in for 6 years. How do I claim unemployment benefit?",
                                   intent="ask_unemployment"))
    assert "for up to 18 months" in messages[0]["text"].splitlines()[1]


# ------------------------------------------------------------------------ pre-filled pre-checks

def test_a_fresh_unemployment_check_takes_what_was_said_and_asks_only_what_is_missing():
    tracker = starting("unemployment_form",
                       "I've paid in for 6 years and I was laid off. How long can I get unemployment benefit?", "yes")
    messages, events = run(ValidateUnemploymentForm(), tracker)
    values = slot_values(events)
    assert values["uf_contribution_years"] == 6 and values["uf_involuntary"] == "dismissed"
    assert values["requested_slot"] == "uf_registered"
    assert messages[0]["text"].startswith(
        "From your message: 6 years of contributions, dismissed, laid off or not renewed. If any of this is wrong")


def test_the_chinese_pre_check_says_what_it_took_in_chinese():
    messages, events = run(ValidateUnemploymentForm(), starting("unemployment_form", "我交了6年社保，上个月被辞退了", "好的",
                                                                language="zh"))
    assert messages[0]["text"].startswith("根据您前面说的:缴费6年、被辞退、裁员或合同到期不续签。")
    assert slot_values(events)["requested_slot"] == "uf_registered"


def test_a_pension_check_answered_in_full_asks_nothing():
    tracker = starting("pension_form", "我是男的，1966年3月出生，养老保险交了20年", "好的", language="zh")
    messages, events = run(ValidatePensionForm(), tracker)
    assert slot_values(events) == {"pf_group": "male", "pf_birth": "1966-03", "pf_contribution_years": 20}
    assert "男职工" in messages[0]["text"] and "1966-03出生" in messages[0]["text"]


@pytest.mark.parametrize("slots,active_loop", [
    ({"uf_contribution_years": 6.0, "uf_involuntary": "dismissed", "uf_registered": True}, None),  # re-opened to correct
    ({}, "unemployment_form"),  # already running: its own answers only
])
def test_a_check_that_is_not_fresh_takes_nothing(slots, active_loop):
    tracker = conversation("I've paid in for 6 years and I was laid off", "I made a mistake", slots=slots,
                           active_loop=active_loop)
    messages, events = run(ValidateUnemploymentForm(), tracker)
    assert not any(m.get("text", "").startswith("From your message") for m in messages)
    assert "uf_contribution_years" not in slot_values(events) or slots


def test_rasa_may_call_the_validation_once_more_as_the_form_starts_with_the_tracker_from_before():
    tracker = conversation("I've paid in for 6 years and I was laid off", "yes")  # no active form yet
    assert slot_values(run(ValidateUnemploymentForm(), tracker)[1])["uf_contribution_years"] == 6


def test_nothing_said_nothing_taken():
    messages, events = run(ValidateUnemploymentForm(), starting("unemployment_form",
                                                                "how do I claim unemployment benefit", "yes"))
    assert messages == [] and slot_values(events) == {"requested_slot": "uf_contribution_years"}
