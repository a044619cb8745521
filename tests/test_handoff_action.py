"""action_handoff against a real Redis: the ticket, the pause and what the claimant is told."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, Optional

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff as action_module
from actions.handoff import ActionHandoff
from core.settings import ROOT
from handoff.queue import Queue, connect
from handoff.settings import DeskSettings
from handoff.tickets import Priority, State

DOMAIN = Domain.load(str(ROOT / "bot" / "domain")).as_dict()


@pytest.fixture
def queue(redis_server, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.delenv("DESK_HOURS", raising=False)
    action_module.desk_queue.cache_clear()
    client = connect(redis_server.url)
    client.flushdb()
    yield Queue(client, DeskSettings(redis_url=redis_server.url))
    action_module.desk_queue.cache_clear()


def tracker(sender: str, language: str = "zh", intent: str = "request_human",
            slots: Optional[Dict[str, Any]] = None) -> Tracker:
    events = [{"event": "user", "timestamp": time.time(), "text": "我要找人工",
               "parse_data": {"intent": {"name": intent, "confidence": 0.95}}, "input_channel": "web"}]
    latest = {"text": "我要找人工", "intent": {"name": intent, "confidence": 0.95}}
    return Tracker(sender, {"language": language, **(slots or {})}, latest, events, False, None, {},
                   "action_listen")


def run(t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionHandoff().run(dispatcher, t, DOMAIN))
    return "\n".join(m.get("text") or "" for m in dispatcher.messages), events


def test_handoff_queues_a_ticket_with_the_brief_and_pauses(queue):
    queue.agent_online("a1", languages=["zh"])
    text, events = run(tracker("c1", slots={"handoff_priority": "urgent", "handoff_reason": "distress: urgent"}))
    assert {"event": "pause", "timestamp": None} in events
    ticket = queue.open_ticket("c1")
    assert ticket.priority is Priority.URGENT and ticket.reason == "distress: urgent"
    assert ticket.brief["transcript"][0]["text"] == "我要找人工"
    assert ticket.state is State.WAITING
    assert "第1位" in text and "分钟" in text


def test_a_second_handoff_keeps_one_ticket_and_reports_the_place(queue):
    queue.agent_online("a1", languages=["en"])
    run(tracker("c0", language="en"))
    run(tracker("c1", language="en"))
    text, _ = run(tracker("c1", language="en"))
    assert len(queue.waiting_ids("en")) == 2
    assert "number 2" in text


def test_nobody_online_is_said_honestly_with_the_callback_offer(queue):
    text, events = run(tracker("c1", language="en"))
    assert "nobody is online" in text and "phone number" in text
    assert {"event": "pause", "timestamp": None} in events


def test_a_crisis_with_nobody_online_gets_the_crisis_lines(queue):
    text, _ = run(tracker("c1", slots={"handoff_priority": "crisis"}))
    assert "12356" in text and "110" in text and "120" in text
    assert queue.open_ticket("c1").priority is Priority.CRISIS


def test_outside_staffed_hours_is_said(queue, monkeypatch):
    monkeypatch.setenv("DESK_HOURS", "mon-mon 00:00-00:01")
    queue.agent_online("a1", languages=["en"])
    text, _ = run(tracker("c1", language="en"))
    assert "not on duty" in text


def test_without_the_desk_the_phone_line_is_given_and_the_bot_is_not_paused(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    action_module.desk_queue.cache_clear()
    text, events = run(tracker("c1", language="en"))
    assert "12333" in text and not any(e.get("event") == "pause" for e in events)
