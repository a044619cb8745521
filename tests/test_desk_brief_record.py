"""The brief stored with a ticket (handoff/brief_record.py, issue 18): made once, by the handoff
action, from the tracker; brought up to date from the event stream; the desk reads the tracker only
for a reveal. Over real WebSockets on loopback, a real Redis, and Rasa's HTTP API faked
(test_desk_assist.TrackerRasa, which counts the trackers it serves)."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from actions.handoff import enqueue as action_enqueue
from core import redis_keys as k
from core.privacy.redaction import mainland_check_character
from handoff import agents, brief_record
from handoff.tickets import Priority

from test_agent_assist import CONVERSATION, user
from test_desk_assist import TrackerRasa, login, queue, settings, user_event  # noqa: F401 - fixtures
from test_desk_server import started

pytestmark = pytest.mark.timeout(120)
FIRST17 = "44010619900101123"
ID_NUMBER = FIRST17 + mainland_check_character(FIRST17)


@pytest.fixture
def rasa():
    tracker = json.loads(json.dumps({**CONVERSATION, "sender_id": "c1"}))
    tracker["events"].append(user(f"我的身份证号是{ID_NUMBER}", "inform", 130))
    fake = TrackerRasa({"c1": tracker})
    yield fake
    fake.close()


def test_claim_view_and_reveal_read_the_tracker_once_and_the_brief_follows_the_stream(settings, queue, rasa):
    tracker = rasa.trackers["c1"]
    ticket, _, _ = action_enqueue(queue, tracker, language="zh", priority=Priority.URGENT, reason="urgent: 撑不下去")
    assert ID_NUMBER not in json.dumps(queue.get(ticket.id).brief, ensure_ascii=False)  # stored masked
    token = agents.add_agent(queue.redis, "li", languages=["zh"])

    async def scenario():
        desk = await started(settings)
        try:
            holder, _ = await login(desk.port, token)
            assert (await holder.ask("claim", ticket_id=ticket.id))["type"] == "ok"
            claimed = (await holder.next("claimed"))["ticket"]
            assert rasa.fetches == 0  # claimed: the brief made with the ticket
            queue.redis.xadd(k.EVENTS_STREAM, user_event("c1", "我在宁波交了五年", "inform"))
            deadline = time.monotonic() + 10
            while len(queue.get(ticket.id).brief["transcript"]) == len(claimed["brief"]["transcript"]):
                assert time.monotonic() < deadline, "the stream worker never added the message to the brief"
                await asyncio.sleep(0.05)
            await holder.socket.send(json.dumps({"type": "brief", "ticket_id": ticket.id, "ref": "b"}))
            viewed = (await holder.next("brief"))["ticket"]
            turn = next(i for i, x in enumerate(viewed["brief"]["transcript"]) if "身份证" in x["text"])
            shown = await holder.ask("reveal", ticket_id=ticket.id, turn=turn)
            return claimed, viewed, shown
        finally:
            await desk.stop()

    claimed, viewed, shown = asyncio.run(scenario())
    assert rasa.fetches == 1  # claim 0, view 0, reveal 1: the unmasked words are only in the tracker
    assert shown["type"] == "ok" and shown["value"] == ID_NUMBER
    said = [x["text"] for x in viewed["brief"]["transcript"] if x["speaker"] == "claimant"]
    assert said[-1] == "我在宁波交了五年" and said.count("我在宁波交了五年") == 1
    assert len(viewed["brief"]["transcript"]) >= len(claimed["brief"]["transcript"]) + 1
    assert claimed["summary"]["lines"] and "conversation" not in claimed["brief"]
    assert ID_NUMBER not in json.dumps(viewed, ensure_ascii=False)


def test_a_message_read_again_is_not_added_twice():
    tracker = json.loads(json.dumps({**CONVERSATION, "sender_id": "c1"}))
    stored = brief_record.make(tracker, waiting_since=1.0, reason="asked for a person", priority="requested")
    event = json.loads(user_event("c1", "还有一个问题", "inform")["data"])
    once = brief_record.with_event(stored, event)
    assert once is not None and once["transcript"][-1]["text"] == "还有一个问题"
    assert brief_record.with_event(once, event) is None
    assert brief_record.with_event({"transcript": []}, event) is None  # stored without its conversation


def test_a_ticket_stored_without_its_conversation_reads_the_tracker_once_for_every_view(settings, queue, rasa):
    ticket = queue.enqueue(conversation_id="c1", channel="web", language="zh", priority="urgent",
                           reason="urgent: 撑不下去", brief={"transcript": []})
    token = agents.add_agent(queue.redis, "li", languages=["zh"])

    async def scenario():
        desk = await started(settings)
        try:
            holder, _ = await login(desk.port, token)
            assert (await holder.ask("claim", ticket_id=ticket.id))["type"] == "ok"
            await holder.next("claimed")
            for ref in ("b1", "b2"):
                await holder.socket.send(json.dumps({"type": "brief", "ticket_id": ticket.id, "ref": ref}))
                assert (await holder.next("brief", ref=ref))["ticket"]["summary"]
            assert (await holder.ask("suggest", ticket_id=ticket.id))["type"] == "ok"
        finally:
            await desk.stop()

    asyncio.run(scenario())
    assert rasa.fetches == 1
