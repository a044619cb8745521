"""Access control at the desk, against the real Rasa server and a real Redis: every transcript
read is audited, identifiers are masked in the brief until an agent who holds the ticket reveals
one (audited, the value never written to the log), revoked tokens and trainer accounts cannot
log in, and agents do not see other languages' conversations."""
from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets

from core.privacy import access, audit
from core.privacy.redaction import mainland_check_character
from handoff import agents
from handoff.queue import Queue, connect
from handoff.server import Desk
from handoff.settings import DeskSettings

from test_desk_server import Console

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]

FIRST17 = "44010619900101123"
ID_NUMBER = FIRST17 + mainland_check_character(FIRST17)


@pytest.fixture
def desk_settings(stack, redis_server, tmp_path) -> DeskSettings:
    return DeskSettings(redis_url=redis_server.url, rasa_url=stack.rasa_url, rasa_token=stack.settings.token(),
                        port=0, sweep_interval_seconds=0.2, audit_mirror=tmp_path / "audit.jsonl")


def waiting_ticket(client, queue: Queue, sender: str, language: str = "zh"):
    client.say(sender, f"我的身份证号是{ID_NUMBER},退休金一直没到账")
    return queue.enqueue(conversation_id=sender, channel="rest", language=language, priority="requested",
                         reason="asked for a person", brief={"transcript": []})


def audited(queue: Queue, sender: str, action: str):
    return [e for e in audit.entries(queue.redis, conversation_id=sender) if e.action == action]


def test_reads_are_audited_identifiers_masked_and_a_reveal_is_audited(client, desk_settings, sender):
    queue = Queue(connect(desk_settings.redis_url), desk_settings)
    ticket = waiting_ticket(client, queue, sender)
    token = agents.add_agent(queue.redis, f"li-{sender}"[:60], languages=["zh"])
    other = agents.add_agent(queue.redis, f"wang-{sender}"[:60], languages=["zh"])

    async def scenario():
        desk = await Desk.create(desk_settings).serve(port=0)
        try:
            console = await Console.login(desk.port, token)
            bystander = await Console.login(desk.port, other)
            assert (await console.ask("claim", ticket_id=ticket.id))["type"] == "ok"
            claimed = (await console.next("claimed"))["ticket"]
            transcript = claimed["brief"]["transcript"]
            turn = next(i for i, t in enumerate(transcript) if t["speaker"] == "claimant")
            assert ID_NUMBER not in json.dumps(claimed, ensure_ascii=False)
            assert FIRST17[:4] + "**********" + ID_NUMBER[-4:] in transcript[turn]["text"]
            refused = await bystander.ask("reveal", ticket_id=ticket.id, turn=turn)
            assert refused["code"] == "not_holder", refused
            shown = await console.ask("reveal", ticket_id=ticket.id, turn=turn)
            assert (shown["type"], shown["identifier_kind"], shown["value"]) == ("ok", "ID_NUMBER", ID_NUMBER), shown
            missing = await console.ask("reveal", ticket_id=ticket.id, turn=turn, index=5)
            assert missing["code"] == "not_found"
            return turn
        finally:
            await desk.stop()

    turn = asyncio.run(asyncio.wait_for(scenario(), 120))  # a hang fails here, with where
    reads = audited(queue, sender, "read_transcript")
    reveals = audited(queue, sender, "reveal")
    assert [e.who for e in reads] == [f"li-{sender}"[:60]]
    assert [(e.who, e.field) for e in reveals] == [(f"li-{sender}"[:60], f"turn{turn}.ID_NUMBER.0")]
    log = desk_settings.audit_mirror.read_text(encoding="utf-8")
    assert ID_NUMBER not in log and "reveal" in log and "read_transcript" in log


def test_a_revoked_token_and_a_trainer_account_cannot_log_in(desk_settings):
    client = connect(desk_settings.redis_url)
    token = agents.add_agent(client, "leaving-agent", languages=["zh"])
    trainer = access.add_user(client, "trainer-1", role="trainer", languages=["zh"])
    assert agents.revoke(client, "leaving-agent") == 1

    async def close_code(secret: str) -> int:
        desk = await Desk.create(desk_settings).serve(port=0)
        try:
            socket = await websockets.connect(f"ws://127.0.0.1:{desk.port}/agent")
            await socket.send(json.dumps({"type": "auth", "token": secret}))
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(socket.recv(), 10)
            return socket.close_code
        finally:
            await desk.stop()

    assert asyncio.run(close_code(token)) == 4001
    assert asyncio.run(close_code(trainer)) == 4001


def test_an_agent_cannot_open_another_languages_conversation(client, desk_settings, sender):
    queue = Queue(connect(desk_settings.redis_url), desk_settings)
    ticket = waiting_ticket(client, queue, sender, language="en")
    token = agents.add_agent(queue.redis, f"zh-only-{time.time_ns()}", languages=["zh"])

    async def scenario():
        desk = await Desk.create(desk_settings).serve(port=0)
        try:
            console = await Console.login(desk.port, token)
            return await console.ask("brief", ticket_id=ticket.id), await console.ask("claim", ticket_id=ticket.id)
        finally:
            await desk.stop()

    brief, claim = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert brief["code"] == "forbidden" and claim["code"] == "forbidden"
    assert audited(queue, sender, "read_transcript") == []


def test_a_login_while_redis_is_down_gets_a_typed_unavailable(tmp_path):
    """Issue 14: it closed with 1011 (an internal error) and no word for the console."""
    from tooling import embedded_redis

    server = embedded_redis.start(tmp_path / "redis", persist=False)
    token = agents.add_agent(connect(server.url), "outage-agent", languages=["zh"])
    settings = DeskSettings(redis_url=server.url, rasa_url="http://127.0.0.1:9", port=0,
                            sweep_interval_seconds=0.2, audit_mirror=tmp_path / "audit.jsonl")

    async def login_during_outage():
        desk = await Desk.create(settings).serve(port=0)
        server.stop()
        try:
            socket = await websockets.connect(f"ws://127.0.0.1:{desk.port}/agent")
            await socket.send(json.dumps({"type": "auth", "token": token}))
            frame = json.loads(await asyncio.wait_for(socket.recv(), 30))
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(socket.recv(), 30)
            return frame, socket.close_code
        finally:
            await desk.stop()

    frame, code = asyncio.run(login_during_outage())
    assert frame["type"] == "error" and frame["code"] == "unavailable"
    assert code == 1013
