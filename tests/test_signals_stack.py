"""Signals through the real stack: /model/parse, a crisis inside a form and during a fallback.

Needs a model trained with the signal component and policy (config lines in docs/signals.md);
until config.yml has them, run with RENBEN_TEST_MODEL pointing at such a model.
"""
from __future__ import annotations

import pytest

from conftest import has_chinese

pytestmark = pytest.mark.stack

FORM_QUESTION_ZH = "问题(共3个)"


def test_parse_returns_signals_with_evidence(client):
    result = client.parse("我真的不想活了")
    assert result["signals"]["distress"]["level"] == "crisis"
    assert result["signals"]["distress"]["evidence"][0] == {"text": "不想活", "rule": "zh.crisis.want_to_die"}
    calm = client.parse("How do I claim my state pension?")
    assert calm["signals"]["distress"] == {"level": "none", "evidence": []}


def test_signals_are_kept_in_the_tracker(client, sender):
    client.say(sender, "I'm a full-time carer for my mum and we are behind on the rent")
    latest = client.tracker(sender)["latest_message"]
    assert set(latest["signals"]["complexity"]["needs"]) >= {"caring", "housing"}


def test_a_crisis_inside_a_form_gets_the_contacts_and_no_form_question(client, sender):
    client.say(sender, "失业金怎么领")
    first = client.texts(sender, "好的")
    assert FORM_QUESTION_ZH in first  # the pre-check form is asking
    text = client.texts(sender, "我不想活了")
    assert "12356" in text and "110" in text and "120" in text
    assert FORM_QUESTION_ZH not in text and has_chinese(text)
    tracker = client.tracker(sender)
    assert not (tracker.get("active_loop") or {}).get("name")
    assert tracker["slots"]["handoff_priority"] == "crisis"
    assert "zh.crisis.want_to_die" in tracker["slots"]["handoff_reason"]
    actions = [e["name"] for e in tracker["events"] if e["event"] == "action"]
    assert actions[-2:] == ["action_crisis_response", "action_handoff"]
    assert tracker["paused"]  # with a person now: the bot predicts nothing more


def test_a_crisis_during_a_fallback_gets_the_contacts_not_a_clarification(client, sender):
    client.say(sender, "qwzx plmk")
    text = client.texts(sender, "I took an overdose last night")
    assert "12356" in text
    assert "understand" not in text.lower() and "understood" not in text.lower()
    assert not has_chinese(text.replace("12356", ""))
    assert client.tracker(sender)["slots"]["handoff_priority"] == "crisis"
