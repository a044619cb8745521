"""The brief built from a tracker shaped like Rasa's GET /conversations/<id>/tracker."""
from __future__ import annotations

import json

import pytest

from handoff.brief import build_brief
from handoff.exceptions import BriefError


def user(text, intent, confidence, at, signals=None, language="zh"):
    parse = {"text": text, "intent": {"name": intent, "confidence": confidence},
             "language": {"code": language}}
    if signals:
        parse["signals"] = signals
    return {"event": "user", "timestamp": at, "text": text, "parse_data": parse, "input_channel": "web"}


def bot(text, at, **metadata):
    return {"event": "bot", "timestamp": at, "text": text, "metadata": metadata}


TRACKER = {
    "sender_id": "c-42",
    "latest_input_channel": "web",
    "slots": {"language": "zh", "city": "杭州", "pending_offer": None, "requested_slot": None,
              "uf_contribution_years": 3, "handoff_reason": "distress: urgent",
              "handoff_priority": "urgent", "id_number": "11010519491231002X"},
    "latest_message": {"intent": {"name": "request_human"}},
    "active_loop": {},
    "events": [
        {"event": "action", "name": "action_session_start", "timestamp": 100.0},
        user("你好", "greet", 0.98, 101.0),
        {"event": "action", "name": "utter_greet", "timestamp": 101.1},
        bot("您好,我是人本助手。", 101.2),
        user("失业金怎么领?我的卡号6222020200112233446", "ask_unemployment", 0.91, 110.0),
        {"event": "action", "name": "action_answer_topic", "timestamp": 110.1},
        bot("领取失业保险金需要……", 110.2),
        user("房东要赶我走,我已经两天没吃饭了", "ask_assistance", 0.55, 120.0, signals={
            "distress": {"level": "urgent", "evidence": [{"text": "两天没吃饭", "rule": "zh.hunger.3"},
                                                          {"text": "赶我走", "rule": "zh.eviction.1"}]},
            "complexity": {"level": "some", "needs": ["housing"], "evidence": [{"text": "房东", "rule": "zh.housing.1"}]},
        }),
        {"event": "slot", "name": "handoff_priority", "value": "urgent", "timestamp": 120.1},
        bot("我明白了,我马上请工作人员来帮您。", 120.3, agent_id="li.wei"),
    ],
}


def test_the_brief_holds_the_whole_transcript_with_speakers_and_times():
    brief = build_brief(TRACKER, waiting_since=121.0)
    assert [(t.speaker, t.at) for t in brief.transcript] == [
        ("claimant", 101.0), ("bot", 101.2), ("claimant", 110.0), ("bot", 110.2),
        ("claimant", 120.0), ("agent:li.wei", 120.3)]
    assert brief.language == "zh" and brief.channel == "web"
    assert brief.waiting_since == 121.0
    assert brief.reason == "distress: urgent" and brief.priority == "urgent"


def test_topics_with_confidence_and_no_conversation_moves():
    brief = build_brief(TRACKER, waiting_since=121.0)
    assert [(t["intent"], t["confidence"]) for t in brief.topics] == [
        ("ask_unemployment", 0.91), ("ask_assistance", 0.55)]


def test_signals_keep_their_evidence_and_the_turn_they_came_from():
    brief = build_brief(TRACKER, waiting_since=121.0)
    distress = [s for s in brief.signals if s.kind == "distress"]
    assert len(distress) == 1 and distress[0].level == "urgent" and distress[0].turn == 4
    assert [e["rule"] for e in distress[0].evidence] == ["zh.hunger.3", "zh.eviction.1"]
    complexity = [s for s in brief.signals if s.kind == "complexity"][0]
    assert complexity.needs == ["housing"]
    assert brief.highest_distress == "urgent"


def test_what_the_bot_answered_and_the_slots_without_bookkeeping():
    brief = build_brief(TRACKER, waiting_since=121.0)
    assert [a["action"] for a in brief.answered] == ["utter_greet", "action_answer_topic"]
    assert "pending_offer" not in brief.slots and "requested_slot" not in brief.slots
    assert brief.slots["city"] == "杭州" and brief.slots["uf_contribution_years"] == 3


def test_identifiers_are_masked_by_default_and_only_on_request_shown():
    brief = build_brief(TRACKER, waiting_since=121.0)
    text = json.dumps(brief.as_dict(), ensure_ascii=False)
    assert "6222020200112233446" not in text and "11010519491231002X" not in text
    assert "6222" in brief.transcript[2].text and "3446" in brief.transcript[2].text
    plain = build_brief(TRACKER, waiting_since=121.0, mask_identifiers=False)
    assert "6222020200112233446" in plain.transcript[2].text


def test_reason_defaults_from_the_last_intent_and_language_from_the_messages():
    tracker = {"sender_id": "c", "slots": {}, "latest_message": {"intent": {"name": "complaint_appeal"}},
               "events": [user("I want to appeal", "complaint_appeal", 0.9, 5.0, language="en")]}
    brief = build_brief(tracker, waiting_since=6.0)
    assert brief.reason == "complaint or appeal" and brief.priority == "requested"
    assert brief.language == "en" and brief.topics[0]["intent"] == "complaint_appeal"


@pytest.mark.parametrize("bad", [None, [], {"events": "x", "sender_id": "c"}, {"events": []}])
def test_a_non_tracker_is_a_typed_error(bad):
    with pytest.raises(BriefError):
        build_brief(bad, waiting_since=0.0)


def test_the_brief_is_json_ready():
    data = build_brief(TRACKER, waiting_since=121.0).as_dict()
    assert json.loads(json.dumps(data))["transcript"][0]["text"] == "你好"


def test_a_card_number_with_a_typo_is_masked_in_the_brief_after_its_label():
    """Issue 14: a number failing Luhn was shown whole, right after 银行卡号."""
    tracker = {"sender_id": "web-card", "slots": {}, "events": [
        user("我的银行卡号 6222021234567890124 没收到钱", "ask_payment_status", 0.9, 1.0),
        user("my card number is 4111 1111 1111 1112", "ask_payment_status", 0.9, 2.0, language="en")]}
    text = json.dumps(build_brief(tracker, waiting_since=3.0).as_dict(), ensure_ascii=False)
    assert "6222021234567890124" not in text and "4111 1111 1111 1112" not in text
    assert "6222***********0124" in text


def test_a_long_letters_secondary_topics_reach_the_brief_apart_from_the_topics_asked():
    letter = user("我爸去年退休了，养老金一直没发……现在我被辞退了，怎么领失业金？", "ask_unemployment", 0.8, 130.0)
    letter["parse_data"]["secondary_topics"] = [
        {"intent": "ask_pension", "confidence": 0.91, "start": 0, "end": 15},
        {"intent": "ask_unemployment", "confidence": 0.7, "start": 16, "end": 20},  # also asked: a topic already
        {"intent": "greet", "confidence": 0.99, "start": 0, "end": 2},  # a move, never a topic
        "not a mapping"]
    later = user("医保断了怎么办", "ask_medical", 0.9, 140.0)
    later["parse_data"]["secondary_topics"] = [{"intent": "ask_pension", "confidence": 0.6}]
    brief = build_brief({**TRACKER, "events": TRACKER["events"] + [letter, later]}, waiting_since=141.0)
    assert brief.secondary_topics == [{"intent": "ask_pension", "confidence": 0.91, "at": 130.0, "turn": 6}]
    assert "ask_unemployment" in [t["intent"] for t in brief.topics]
    assert json.loads(json.dumps(brief.as_dict()))["secondary_topics"][0]["intent"] == "ask_pension"
    assert build_brief(TRACKER, waiting_since=121.0).secondary_topics == []
