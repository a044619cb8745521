"""CrisisIntentGuard: a crisis message keeps an intent only when the classifier was sure of it."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.crisis_guard import CrisisIntentGuard, weakly_read_crisis


def signals(level: str) -> Dict[str, Any]:
    return {"distress": {"level": level, "evidence": []}, "complexity": {"level": "none", "needs": [], "evidence": []}}


def message(intent: str, confidence: float, level: Optional[str],
            ranking: Optional[List[Dict[str, Any]]] = None) -> Message:
    data: Dict[str, Any] = {"text": "...", "intent": {"name": intent, "confidence": confidence},
                            "intent_ranking": ranking or [{"name": intent, "confidence": confidence}]}
    if level:
        data["signals"] = signals(level)
    return Message(data=data)


def guarded(*messages: Message, minimum: float = 0.5) -> List[Message]:
    return CrisisIntentGuard({"min_confidence": minimum}).process(list(messages))


def test_a_crisis_message_read_weakly_as_an_intent_becomes_a_fallback():
    ranking = [{"name": "stop", "confidence": 0.31}, {"name": "complaint_appeal", "confidence": 0.11}]
    [result] = guarded(message("stop", 0.31, "crisis", ranking))
    assert result.get("intent") == {"name": "nlu_fallback", "confidence": 0.5}
    assert [r["name"] for r in result.get("intent_ranking")] == ["nlu_fallback", "stop", "complaint_appeal"]


def test_a_crisis_message_with_a_clear_topic_keeps_it():
    [result] = guarded(message("ask_unemployment", 0.93, "crisis"))
    assert result.get("intent") == {"name": "ask_unemployment", "confidence": 0.93}


@pytest.mark.parametrize("level", ["urgent", "concern", "none", None])
def test_only_crisis_raises_the_bar(level):
    [result] = guarded(message("stop", 0.31, level))
    assert result.get("intent")["name"] == "stop"


def test_a_fallback_stays_the_fallback_it_was():
    fallback = {"name": "nlu_fallback", "confidence": 0.3}
    assert not weakly_read_crisis(signals("crisis"), fallback, 0.5)
    assert not weakly_read_crisis(None, {"name": "stop", "confidence": 0.1}, 0.5)
    assert weakly_read_crisis(signals("crisis"), {"name": "data_rights", "confidence": 0.49}, 0.5)


def test_the_bar_is_configurable():
    [kept] = guarded(message("request_human", 0.37, "crisis"), minimum=0.35)
    assert kept.get("intent")["name"] == "request_human"
