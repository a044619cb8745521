"""The actions, run directly with the real domain and knowledge base (no servers)."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import eligibility_forms
from actions.answer_parsing import parse_leaving
from actions.eligibility_forms import (FORM_SLOTS, ActionCorrectAnswer, ActionPensionResult, ActionUnemploymentResult,
                                      ValidatePensionForm, ValidateUnemploymentForm, slot_to_correct,
                                      unemployment_extra_slots)
from actions.fallback import ActionClarify
from actions.handoff import ActionHandoff
from actions.language import ActionSetLanguage
from actions import knowledge
from actions.answer_text import PARTS, available_parts, part_payload
from actions.topic_answer import ActionAnswerPart, ActionAnswerTopic
from core.settings import ROOT, Settings

DOMAIN = Domain.load(str(ROOT / "bot" / "domain")).as_dict()
TOPICS = ["ask_pension", "ask_unemployment", "ask_medical", "ask_work_injury", "ask_maternity",
          "ask_disability_care", "ask_assistance", "ask_social_card", "ask_transfer", "ask_contribution",
          "ask_payment_status", "ask_documents", "report_change", "data_rights"]


def has_chinese(text: str) -> bool:
    """Written in Chinese. English answers may quote a Chinese name in brackets, e.g. (社保中心)."""
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
    return cjk > 0.1 * len(text.replace(" ", "")) if text else False


def tracker(intent: str = "greet", text: str = "", language: Optional[str] = "zh",
            slots: Optional[Dict[str, Any]] = None, events: Optional[List[Dict[str, Any]]] = None,
            ranking: Optional[List[Dict[str, Any]]] = None, active_loop: Optional[str] = None,
            **message: Any) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9},
              "intent_ranking": ranking or [], **message}
    return Tracker("t", {"language": language, **(slots or {})}, latest,
                   events or [], False, None, {"name": active_loop} if active_loop else {}, None)


def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, DOMAIN))
    return dispatcher.messages, events


def all_text(messages) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("intent", TOPICS)
def test_every_topic_is_answered_in_the_claimants_language_with_a_way_onward(intent, language):
    messages, events = run(ActionAnswerTopic(), tracker(intent, language=language))
    text = all_text(messages)
    assert len(text) > 80
    if language == "zh":
        assert has_chinese(text)
    else:
        assert not has_chinese(text), text
        assert sum("\u4e00" <= ch <= "\u9fff" for ch in text) < 0.05 * len(text)
    # Every answer ends with a way onward: buttons on the last message.
    assert messages[-1]["buttons"], messages[-1]
    payloads = [b["payload"] for b in messages[-1]["buttons"]]
    assert "/request_human" in payloads


def test_a_topic_answer_names_its_legal_source():
    messages, _ = run(ActionAnswerTopic(), tracker("ask_unemployment", language="zh"))
    assert "社会保险法" in all_text(messages) or "失业保险条例" in all_text(messages)


def test_the_unemployment_answer_offers_the_pre_check_and_clears_old_answers():
    messages, events = run(ActionAnswerTopic(), tracker("ask_unemployment", language="en"))
    assert {"event": "slot", "timestamp": None, "name": "pending_offer", "value": "unemployment_check"} in events
    assert {e["name"] for e in events if e["value"] is None} >= {"uf_contribution_years", "uf_registered"}
    assert [b["payload"] for b in messages[-1]["buttons"]][:2] == ["/affirm", "/deny"]


# ---------------------------------------------------------------- issue 20: answer briefly first

NOT_A_DECISION = {"zh": "不是对您个人情况的决定", "en": "not a decision on your case"}


def part_tracker(payload: str, language: str = "en", **kwargs: Any) -> Tracker:
    """The tracker Rasa gives the action for a button's payload (parsed as Rasa parses it)."""
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.training_data.message import Message

    parsed = YAMLStoryReader.unpack_regex_message(Message(data={"text": payload}), Domain.from_dict(DOMAIN))
    return tracker(parsed.get("intent")["name"], text=payload, language=language,
                   entities=parsed.get("entities"), **kwargs)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("intent", TOPICS)
def test_a_topic_answer_leads_with_its_short_answer_its_source_and_not_a_decision(intent, language):
    messages, _ = run(ActionAnswerTopic(Settings()), tracker(intent, language=language))
    entry = knowledge.load()[intent]
    text = entry.text(language)
    first = messages[0]["text"]
    assert str(text["short"]).strip() in first
    assert entry.source_titles(language)[0] in first and NOT_A_DECISION[language] in first
    shown = all_text(messages)
    assert max(text["steps"], key=len) not in shown and str(text["answer"]).strip() not in shown  # behind buttons
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        part_payload(intent, part) for part in available_parts(entry, language)]
    assert {"steps", "sources"} <= set(available_parts(entry, language))
    full = run(ActionAnswerTopic(Settings(answer_style="full")), tracker(intent, language=language))[0]
    assert len(all_text(messages)) < 0.6 * len(all_text(full))


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("part", PARTS)
def test_each_part_button_shows_that_part_then_offers_the_others_and_a_person(part, language):
    entry = knowledge.load()["ask_unemployment"]
    text = entry.text(language)
    messages, events = run(ActionAnswerPart(), part_tracker(part_payload("ask_unemployment", part), language))
    shown = messages[0]["text"]
    expected = {"details": str(text["answer"]).strip(), "steps": text["steps"][-1], "documents": text["documents"][0],
                "where": text["where"]["online"], "local": str(text["local"]).strip(),
                "sources": entry.sources[-1].url}[part]
    assert expected in shown and shown.startswith(text["title"])
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert part_payload("ask_unemployment", part) not in payloads and payloads[-1] == "/request_human"
    assert len(payloads) == len(PARTS)  # the five other parts and a person
    assert events == []  # an offer made with the answer still stands; a form keeps its place


def test_the_local_part_names_the_city_the_claimant_mentioned():
    payload = part_payload("ask_unemployment", "local")
    shown = run(ActionAnswerPart(), part_tracker(payload, "en", slots={"city": "Shenzhen"}))[0][0]["text"]
    assert "You mentioned Shenzhen" in shown


@pytest.mark.parametrize("language, sorry", [("zh", "找不到这部分内容"), ("en", "cannot find that part")])
@pytest.mark.parametrize("payload", [
    part_payload("ask_nothing", "steps"),
    part_payload("complaint_appeal", "local"),  # the same everywhere: it has no local part
    '/show_answer_part{"answer_topic":"ask_pension"}',
    "/show_answer_part",
])
def test_a_part_that_is_not_there_gets_a_polite_answer_and_a_person(payload, language, sorry):
    messages, events = run(ActionAnswerPart(), part_tracker(payload, language))
    assert sorry in messages[0]["text"] and events == []
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/request_human"]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_full_answer_setting_sends_the_whole_entry_without_part_buttons(language):
    messages, _ = run(ActionAnswerTopic(Settings(answer_style="full")), tracker("ask_unemployment", language=language))
    text = knowledge.load()["ask_unemployment"].text(language)
    everything = all_text(messages)
    assert str(text["answer"]).strip() in everything and text["steps"][-1] in everything
    assert text["documents"][0] in everything and NOT_A_DECISION[language] in everything
    assert not any(b["payload"].startswith("/show_answer_part") for m in messages for b in m.get("buttons") or [])


def test_the_answer_style_comes_from_the_action_servers_settings():
    from core import settings as core_settings

    steps = knowledge.load()["ask_medical"].text("en")["steps"][0]
    action = ActionAnswerTopic()  # as rasa_sdk makes it: no arguments
    core_settings.install(Settings.from_env({"RENBEN_ANSWER_STYLE": "full"}))  # what main() does
    assert steps in all_text(run(action, tracker("ask_medical", language="en"))[0])
    core_settings.install(Settings.from_env({}))
    assert steps not in all_text(run(action, tracker("ask_medical", language="en"))[0])


def test_a_long_message_gets_the_truncation_notice_first():
    t = tracker("ask_medical", language="en", input={"truncated": True, "max_chars": 2000})
    messages, _ = run(ActionAnswerTopic(), t)
    assert "2000" in messages[0]["text"]


def test_a_foreign_employee_is_answered_about_foreign_employees():
    t = tracker("ask_pension", text="I am a foreign employee in Shanghai, do I need to pay pension?", language="en")
    text = all_text(run(ActionAnswerTopic(), t)[0])
    assert "agreement" in text.lower()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_clarify_offers_the_two_best_topic_guesses_and_a_person(language):
    ranking = [{"name": "nlu_fallback", "confidence": 0.7}, {"name": "affirm", "confidence": 0.2},
               {"name": "ask_pension", "confidence": 0.2}, {"name": "ask_contribution", "confidence": 0.1},
               {"name": "ask_medical", "confidence": 0.05}]
    messages, events = run(ActionClarify(), tracker("nlu_fallback", text="x", language=language, ranking=ranking))
    payloads = [b["payload"] for b in messages[-1]["buttons"]]
    assert payloads == ["/ask_pension", "/ask_contribution", "/request_human"]
    assert has_chinese(all_text(messages)) == (language == "zh")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_clarify_never_offers_an_intent_a_claimant_cannot_click(language):
    """A rating or an answer part has no title: offered, it would crash the action (the turn then
    fails and the claimant is asked to send the message again, as a phone number once was)."""
    ranking = [{"name": "nlu_fallback", "confidence": 0.6}, {"name": "csat_rate", "confidence": 0.25},
               {"name": "show_answer_part", "confidence": 0.1}, {"name": "ask_pension", "confidence": 0.05}]
    messages, _ = run(ActionClarify(), tracker("nlu_fallback", text="x", language=language, ranking=ranking))
    assert [b["payload"] for b in messages[-1]["buttons"]] == ["/ask_pension", "/request_human"]


def test_clarify_offers_a_person_after_two_failed_turns_in_a_row():
    failed = {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    understood = {"event": "user", "parse_data": {"intent": {"name": "greet"}}}
    _, events = run(ActionClarify(), tracker("nlu_fallback", events=[understood, failed]))
    assert events[0]["value"] is None
    messages, events = run(ActionClarify(), tracker("nlu_fallback", events=[failed, failed]))
    assert events[0]["value"] == "handoff"
    assert [b["payload"] for b in messages[-1]["buttons"]] == ["/affirm", "/deny"]


def test_clarify_asks_for_words_when_there_were_none():
    messages, _ = run(ActionClarify(), tracker("nlu_fallback", text="???", language="en",
                                                input={"has_words": False}))
    assert "/request_human" in [b["payload"] for b in messages[-1]["buttons"]]
    assert not has_chinese(all_text(messages))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_handoff_gives_the_phone_line_and_the_appeal_route(language):
    text = all_text(run(ActionHandoff(), tracker("complaint_appeal", language=language))[0])
    assert "12333" in text
    assert has_chinese(text) == (language == "zh")
    assert ("复议" in text) if language == "zh" else ("reconsideration" in text.lower())


@pytest.mark.parametrize("current, detected, expected", [
    (None, {"code": "en"}, ["en"]),
    ("zh", {"code": "en"}, ["en"]),
    ("en", {"code": "en"}, []),
    ("zh", {"code": "en", "weak": True}, []),
])
def test_set_language_follows_the_message(current, detected, expected):
    t = Tracker("t", {"language": current}, {"language": detected}, [], False, None, {}, None)
    _, events = run(ActionSetLanguage(), t)
    assert [e["value"] for e in events] == expected


def test_unemployment_result_lists_each_rule_says_not_a_decision_and_how_to_appeal():
    slots = {"uf_contribution_years": 3.0, "uf_involuntary": True, "uf_registered": True}
    messages, events = run(ActionUnemploymentResult(), tracker(language="zh", slots=slots))
    text = all_text(messages)
    assert text.count("✓") == 3 and "✗" not in text
    assert "12个月" in text  # 1 to 5 years of contributions: up to 12 months (Social Insurance Law, Art. 46)
    assert "不是" in text and "决定" in text
    assert "复议" in text or "申诉" in text
    assert {"event": "slot", "timestamp": None, "name": "last_check", "value": "unemployment"} in events


def test_unemployment_result_shows_which_rule_is_not_met():
    slots = {"uf_contribution_years": 0.5, "uf_involuntary": False, "uf_registered": True}
    text = all_text(run(ActionUnemploymentResult(), tracker(language="en", slots=slots))[0])
    marks = [line[0] for line in text.splitlines() if line[:1] in "✓✗"]
    assert marks == ["✗", "✗", "✓"]
    assert "not a decision" in text.lower()


def test_pension_result_applies_the_2025_reform():
    slots = {"pf_group": "male", "pf_birth": "1966-03", "pf_contribution_years": 20.0}
    text = all_text(run(ActionPensionResult(), tracker(language="en", slots=slots))[0])
    # Born March 1966: one month later for every 4 months of birth from January 1965, so
    # 60 years and 4 months, reached in July 2026 (State Council Measures, 2024, Annex 1).
    assert "60 years 4 months" in text and "2026-07" in text
    assert "✓" in text


def test_pension_result_states_the_gap_in_contribution_years():
    slots = {"pf_group": "female_worker", "pf_birth": "1978-05", "pf_contribution_years": 10.0}
    text = all_text(run(ActionPensionResult(), tracker(language="zh", slots=slots))[0])
    assert "✗" in text


def test_validating_a_birth_date_asks_again_when_it_cannot_be_read():
    dispatcher = CollectingDispatcher()
    result = ValidatePensionForm().validate_pf_birth("不记得了", dispatcher, tracker(), DOMAIN)
    assert result == {"pf_birth": None}
    assert dispatcher.messages and dispatcher.messages[0]["response"] == "utter_invalid_birth"
    result = ValidatePensionForm().validate_pf_birth("1966年3月", dispatcher, tracker(), DOMAIN)
    assert result == {"pf_birth": "1966-03"}


def test_correcting_clears_the_named_answer_or_else_the_last_one():
    given = [{"event": "slot", "name": "pf_group", "value": "male"},
             {"event": "slot", "name": "pf_birth", "value": "1966-03"}]
    _, events = run(ActionCorrectAnswer(), tracker("correct_answer", text="我说错了", events=given,
                                                   active_loop="pension_form"))
    assert [(e["name"], e["value"]) for e in events] == [("pf_birth", None)]
    _, events = run(ActionCorrectAnswer(), tracker("correct_answer", text="I'm a woman, not a man",
                                                   events=given, active_loop="pension_form"))
    assert [(e["name"], e["value"]) for e in events] == [("pf_group", None)]


@pytest.mark.parametrize("text, slot", [
    ("我说错了，不是两年", "uf_contribution_years"),
    ("not 2 years, sorry", "uf_contribution_years"),
    ("刚才说错了", "uf_registered"),  # names nothing: the last answer given
])
def test_a_correction_naming_a_number_of_years_clears_the_years(text, slot):
    given = [{"event": "slot", "name": "uf_contribution_years", "value": 2},
             {"event": "slot", "name": "uf_registered", "value": True}]
    assert slot_to_correct(text, FORM_SLOTS["unemployment_form"], given) == slot


def test_a_calendar_year_is_not_taken_for_a_number_of_years():
    given = [{"event": "slot", "name": "pf_contribution_years", "value": 20},
             {"event": "slot", "name": "pf_group", "value": "male_worker"}]
    assert slot_to_correct("不是1966年", FORM_SLOTS["pension_form"], given) == "pf_group"


# ---------------------------------------------------------------- issue 19: the corrected pre-check rules

MET = {"uf_contribution_years": 3.0, "uf_involuntary": "dismissed", "uf_registered": True}


@pytest.fixture
def december_2026(monkeypatch):
    """Claims made in December 2026, so that months to retirement age do not move with the clock."""
    monkeypatch.setattr(eligibility_forms, "this_month", lambda: (2026, 12))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_resigning_because_wages_or_insurance_were_unpaid_meets_the_rule_and_says_why(language):
    slots = {**MET, "uf_involuntary": "employer_fault"}
    text = all_text(run(ActionUnemploymentResult(), tracker(language=language, slots=slots))[0])
    assert text.count("✓") == 3 and "✗" not in text
    assert ("劳动合同法" in text) if language == "zh" else ("Labour Contract Law" in text)
    assert ("12个月" in text) if language == "zh" else ("12 months" in text)
    assert has_chinese(text) == (language == "zh")


@pytest.mark.parametrize("language, choice, reason", [
    ("zh", 0, "dismissed"), ("zh", 1, "employer_fault"), ("zh", 2, "resigned"),
    ("en", 0, "dismissed"), ("en", 1, "employer_fault"), ("en", 2, "resigned"),
])
def test_the_how_did_it_end_question_offers_the_unpaid_wages_case_and_its_buttons_parse(language, choice, reason):
    variations = DOMAIN["responses"]["utter_ask_uf_involuntary"]
    variation = variations[0] if language == "en" else variations[1]
    assert ("工资" in variation["text"] and "社保" in variation["text"]) if language == "zh" else \
        ("wages" in variation["text"] and "social insurance" in variation["text"])
    button = variation["buttons"][choice]
    assert parse_leaving(button["payload"]) == reason
    dispatcher = CollectingDispatcher()
    assert ValidateUnemploymentForm().validate_uf_involuntary(button["payload"], dispatcher, tracker(), DOMAIN) == \
        {"uf_involuntary": reason}


def test_an_unreadable_answer_to_how_the_job_ended_is_asked_again():
    dispatcher = CollectingDispatcher()
    assert ValidateUnemploymentForm().validate_uf_involuntary("说不清", dispatcher, tracker(), DOMAIN) == \
        {"uf_involuntary": None}
    assert dispatcher.messages[0]["response"] == "utter_invalid_leaving"


@pytest.mark.parametrize("slots, extra", [
    ({**MET, "uf_registered": False}, []),                     # not met: no months, nothing more to ask
    ({**MET, "uf_contribution_years": "三年"}, []),              # not validated yet
    (MET, ["uf_birth"]),
    ({**MET, "uf_birth": "1995-01"}, ["uf_birth"]),             # retirement age is decades away
    ({**MET, "uf_birth": "1976-12"}, ["uf_birth", "uf_group"]),  # it may fall within the months
    ({**MET, "uf_birth": "1976年12月"}, ["uf_birth", "uf_group"]),  # as typed, while being validated
])
def test_the_birth_month_and_the_group_are_asked_only_when_they_can_change_the_months(slots, extra):
    found = unemployment_extra_slots(slots, claim=(2026, 12), figures=eligibility_forms._figures("unemployment"),
                                     pension=eligibility_forms._figures("pension"))
    assert found == extra


@pytest.mark.parametrize("language", ["zh", "en"])
def test_less_than_a_year_from_retirement_age_when_the_months_end_is_paid_until_that_age(language, december_2026):
    # A woman worker born June 1977 reaches statutory retirement age (51 years 3 months) in September
    # 2028, 21 months after the claim: 9 months short when the usual 12 end.
    slots = {**MET, "uf_birth": "1977-06", "uf_group": "female_worker"}
    text = all_text(run(ActionUnemploymentResult(), tracker(language=language, slots=slots))[0])
    assert "2028-09" in text and "21" in text
    assert ("21个月" in text) if language == "zh" else ("21 months" in text)
    assert has_chinese(text) == (language == "zh")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_retirement_age_within_the_months_stops_the_benefit_at_the_pension(language, december_2026):
    slots = {**MET, "uf_birth": "1976-12", "uf_group": "female_worker"}  # retirement age in December 2027
    text = all_text(run(ActionUnemploymentResult(), tracker(language=language, slots=slots))[0])
    assert "2027-12" in text
    assert ("养老金" in text) if language == "zh" else ("pension" in text)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_far_from_retirement_age_the_result_says_the_usual_maximum_applies(language, december_2026):
    slots = {**MET, "uf_birth": "1995-01"}
    text = all_text(run(ActionUnemploymentResult(), tracker(language=language, slots=slots))[0])
    assert "1995-01" in text
    assert ("12个月" in text) if language == "zh" else ("12 months" in text)


@pytest.mark.parametrize("result, slots", [
    (ActionUnemploymentResult, MET),
    (ActionPensionResult, {"pf_group": "male", "pf_birth": "1966-03", "pf_contribution_years": 20.0}),
])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_benefit_decision_is_appealed_by_reconsideration_first(result, slots, language):
    # Administrative Reconsideration Law (2023), art. 23(1)(3) with art. 11(12): a benefit not paid
    # goes to reconsideration before any court; art. 20: 60 days from when the claimant knew.
    messages, _ = run(result(), tracker(language=language, slots=slots))
    appeal = messages[-1]["text"]
    assert {b["payload"] for b in messages[-1]["buttons"]} >= {"/correct_answer", "/request_human"}
    if language == "zh":
        assert "先申请行政复议" in appeal and "知道" in appeal and "60日" in appeal
        assert "6个月" not in appeal and "收到决定" not in appeal
    else:
        assert "first apply for administrative reconsideration" in appeal and "learned" in appeal
        assert "60 days" in appeal and "6 months" not in appeal and "of receiving it, or" not in appeal


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_next_step_asks_for_no_employer_certificate(language):
    text = all_text(run(ActionUnemploymentResult(), tracker(language=language, slots=MET))[0])
    if language == "zh":
        assert "不需要单位开的离职证明" in text and "社会保障卡或身份证" in text
    else:
        assert "do not need a certificate from your employer" in text and "social security card or ID card" in text


@pytest.mark.parametrize("slots, required", [
    ({**MET, "uf_registered": False}, ["uf_contribution_years", "uf_involuntary", "uf_registered"]),
    (MET, ["uf_contribution_years", "uf_involuntary", "uf_registered", "uf_birth"]),
    ({**MET, "uf_birth": "1976-12"}, ["uf_contribution_years", "uf_involuntary", "uf_registered", "uf_birth",
                                     "uf_group"]),
])
def test_the_form_drops_the_extra_questions_that_cannot_change_the_answer(slots, required, december_2026):
    form = DOMAIN["forms"]["unemployment_form"]["required_slots"]
    found = asyncio.run(ValidateUnemploymentForm().required_slots(form, CollectingDispatcher(),
                                                                  tracker(slots=slots), DOMAIN))
    assert found == required


def _answer(slots: Dict[str, Any], slot: str, text: str) -> List[Dict[str, Any]]:
    """The form's validation action run on one answer, as Rasa calls it after extracting it."""
    events = [{"event": "action", "name": "action_listen"}, {"event": "slot", "name": slot, "value": text}]
    t = Tracker("t", {"language": "zh", **slots, slot: text, "requested_slot": slot}, {"text": text}, events,
                False, None, {"name": "unemployment_form"}, None)
    return asyncio.run(ValidateUnemploymentForm().run(CollectingDispatcher(), t, DOMAIN))


def test_the_form_asks_the_birth_month_then_the_group_then_ends(december_2026):
    unanswered = {k: v for k, v in MET.items() if k != "uf_registered"}
    asked = [e["value"] for e in _answer(unanswered, "uf_registered", "是") if e["name"] == "requested_slot"]
    assert asked == ["uf_birth"]
    # With all five questions needed the SDK leaves the choice to Rasa's form, which asks the first
    # unanswered slot of the domain's list: uf_group, then none.
    events = _answer(MET, "uf_birth", "1976年12月")
    assert {"event": "slot", "timestamp": None, "name": "uf_birth", "value": "1976-12"} in events
    assert [e for e in events if e["name"] == "requested_slot"] == []
    assert DOMAIN["forms"]["unemployment_form"]["required_slots"][-1] == "uf_group"
    events = _answer({**MET, "uf_birth": "1976-12"}, "uf_group", "女工人")
    assert {"event": "slot", "timestamp": None, "name": "uf_group", "value": "female_worker"} in events
    # Far from retirement age: no group question, the form ends after the birth month.
    assert [e["value"] for e in _answer(MET, "uf_birth", "1995年1月") if e["name"] == "requested_slot"] == [None]
    # A rule not met: no months to give, so no birth month either.
    assert [e["value"] for e in _answer(unanswered, "uf_registered", "还没有") if e["name"] == "requested_slot"] == [None]
