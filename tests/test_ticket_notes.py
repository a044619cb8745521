"""Private notes on a ticket (issue 16, item 6): staff only, kept in the ticket's history, never sent
to the claimant. The rules without Redis, the queue against a real Redis, and the `note` frame over a
real WebSocket on loopback."""
from __future__ import annotations

import asyncio
import json

import pytest

from core.privacy import retention
from handoff import agents
from core import redis_keys as k
from handoff import tickets as t
from handoff.exceptions import InvalidRequest, NotHolder
from handoff.queue import Queue, connect
from handoff.server import Desk
from handoff.settings import DeskSettings

from test_desk_server import Console, enqueue

pytestmark = pytest.mark.timeout(120)


def waiting_ticket() -> t.Ticket:
    return t.new_ticket(ticket_id="t1", conversation_id="c1", channel="web", language="zh",
                        priority="requested", reason="asked", brief={}, at=1.0, seq=1)


def test_the_holder_notes_a_held_ticket_and_nobody_else_unless_a_supervisor():
    held = t.claim(waiting_ticket(), agent="li", at=2.0)
    noted = t.add_note(held, by="li", at=3.0, text="  said she was dismissed; check the contract  ", holder="li")
    assert t.notes(noted) == [{"by": "li", "at": 3.0, "text": "said she was dismissed; check the contract"}]
    assert (noted.state, noted.agent) == (held.state, held.agent)  # a note changes nothing else
    with pytest.raises(NotHolder):
        t.add_note(held, by="wang", at=3.0, text="x", holder="wang")
    closed = t.close(noted, by="li", at=4.0, reason_code="resolved")
    with pytest.raises(NotHolder):  # the holder's own ticket once it is closed
        t.add_note(closed, by="li", at=5.0, text="x", holder="li")
    reviewed = t.add_note(closed, by="supervisor:zhao", at=5.0, text="reviewed")  # a supervisor: any state
    assert [n["text"] for n in t.notes(reviewed)] == ["said she was dismissed; check the contract", "reviewed"]


@pytest.mark.parametrize("text", ["", "   \n", None, "x" * (t.MAX_NOTE_CHARS + 1)])
def test_an_empty_or_too_long_note_is_refused(text):
    with pytest.raises(InvalidRequest):
        t.add_note(waiting_ticket(), by="zhao", at=2.0, text=text)


@pytest.fixture
def settings(redis_server) -> DeskSettings:
    client = connect(redis_server.url)
    client.flushdb()
    client.close()
    return DeskSettings(redis_url=redis_server.url, rasa_url="http://127.0.0.1:9", rasa_token="x", port=0,
                        sweep_interval_seconds=0.1)


@pytest.fixture
def queue(settings) -> Queue:
    return Queue(connect(settings.redis_url), settings)


def test_a_note_is_kept_with_the_ticket_history_and_erased_with_the_conversation(queue, tmp_path, settings):
    ticket = enqueue(queue, "web-notes")
    queue.claim(ticket.id, agent="li")
    queue.add_note(ticket.id, by="li", text="private words about the claimant", holder="li")
    history = queue.redis.lrange(k.TICKET_HISTORY + ticket.id, 0, -1)
    assert json.loads(history[-1]) == {"event": "noted", "by": "li", "at": json.loads(history[-1])["at"],
                                       "detail": {"text": "private words about the claimant"}}
    retention.delete_redis_keys(queue.redis, {"web-notes"})
    assert not any("private words" in (queue.redis.get(key) if queue.redis.type(key) == "string" else key)
                   for key in queue.redis.scan_iter("*"))
    assert queue.redis.exists(k.TICKET_HISTORY + ticket.id) == 0


def test_notes_over_the_socket_reach_staff_only(settings, queue):
    ticket = enqueue(queue, "web-c1")
    holder = agents.add_agent(queue.redis, "li", languages=["zh"])
    colleague = agents.add_agent(queue.redis, "wang", languages=["zh"])
    boss = agents.add_agent(queue.redis, "zhao", languages=["zh"], role="supervisor")

    async def scenario():
        desk = await Desk.create(settings).serve(port=0)
        try:
            li, wang, zhao = [await Console.login(desk.port, token) for token in (holder, colleague, boss)]
            early = await wang.ask("note", ticket_id=ticket.id, text="before anyone holds it")
            assert (early["type"], early["code"]) == ("error", "not_holder")
            assert (await li.ask("claim", ticket_id=ticket.id))["type"] == "ok"
            claimed = await li.next("claimed")
            assert claimed["ticket"]["notes"] == []
            done = await li.ask("note", ticket_id=ticket.id, text="prefers a call after 6pm")
            assert done["type"] == "ok" and done["note"]["text"] == "prefers a call after 6pm", done
            refused = {
                "empty": await li.ask("note", ticket_id=ticket.id, text="  "),
                "too long": await li.ask("note", ticket_id=ticket.id, text="x" * 2001),
                "not the holder": await wang.ask("note", ticket_id=ticket.id, text="me too"),
                "no such ticket": await li.ask("note", ticket_id="nope", text="x"),
            }
            assert (await zhao.ask("note", ticket_id=ticket.id, text="checked by the supervisor"))["type"] == "ok"
            await li.ask("brief", ticket_id=ticket.id)
            brief = await li.next("brief")
            return refused, brief
        finally:
            await desk.stop()

    refused, brief = asyncio.run(scenario())
    assert {name: reply["code"] for name, reply in refused.items()} == {
        "empty": "bad_request", "too long": "bad_request", "not the holder": "not_holder", "no such ticket": "not_found"}
    assert [(n["by"], n["text"]) for n in brief["ticket"]["notes"]] == [
        ("li", "prefers a call after 6pm"), ("zhao", "checked by the supervisor")]
    told = json.dumps([fields for _, fields in queue.redis.xrange(k.OUTBOX + "web")], ensure_ascii=False)
    assert "agent_joined" in told and "6pm" not in told and "supervisor" not in told
