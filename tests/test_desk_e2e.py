"""End to end through the real Rasa server, action server, event broker and desk:
a claimant asks for a person → the ticket reaches a connected agent's socket → the agent
replies → the claimant's next message reaches the agent → return to bot → the bot answers
again, and the tracker holds every message in order."""
from __future__ import annotations

import asyncio
import re
import time
from typing import Any, Dict

import pytest

from handoff import agents
from handoff.queue import Queue, connect
from handoff.server import Desk
from handoff.settings import DeskSettings
from handoff.tickets import State

from conftest import Client
from test_desk_server import Console

pytestmark = [pytest.mark.stack, pytest.mark.timeout(400)]


def test_handoff_reply_and_return_to_bot_through_the_real_rasa(desk_stack, redis_server):
    client = Client(desk_stack.rasa_url, desk_stack.settings.token())
    settings = DeskSettings(redis_url=redis_server.url, rasa_url=desk_stack.rasa_url,
                            rasa_token=desk_stack.settings.token(), port=0, sweep_interval_seconds=0.2)
    queue = Queue(connect(redis_server.url), settings)
    token = agents.add_agent(queue.redis, "e2e-agent", languages=["zh", "en"])
    sender = f"e2e-{time.time_ns()}"

    async def scenario() -> Dict[str, Any]:
        desk = await Desk.create(settings).serve(port=0)
        try:
            console = await Console.login(desk.port, token)
            replies = await asyncio.to_thread(client.texts, sender, "我要转人工")
            assert re.search(r"第\d+位", replies), replies  # other tests' tickets may wait too
            ticket = (await console.next("ticket", timeout=30))["ticket"]
            while ticket["conversation_id"] != sender:  # other tests' tickets share this Redis
                ticket = (await console.next("ticket", timeout=30))["ticket"]
            assert ticket["conversation_id"] == sender and ticket["state"] == "waiting"
            assert (await console.ask("claim", ticket_id=ticket["id"]))["type"] == "ok"
            claimed = await console.next("claimed")
            said = [t["text"] for t in claimed["ticket"]["brief"]["transcript"] if t["speaker"] == "claimant"]
            assert said == ["我要转人工"], claimed["ticket"]["brief"]["transcript"]
            sent = await console.ask("message", ticket_id=ticket["id"], text="您好,我是工作人员小李。")
            assert sent["type"] == "ok", sent
            # The bot is paused: it says nothing, and the message reaches the agent.
            assert await asyncio.to_thread(client.say, sender, "我的养老金上个月没到账") == []
            relayed = await console.next("claimant_message", timeout=30)
            assert relayed["text"] == "我的养老金上个月没到账"
            returned = await console.ask("return", ticket_id=ticket["id"])
            assert returned["type"] == "ok", returned
            again = await asyncio.to_thread(client.texts, sender, "失业金怎么领")
            assert again.strip(), "the bot answers again after the return"
            return ticket
        finally:
            await desk.stop()

    ticket = asyncio.run(scenario())
    assert queue.get(ticket["id"]).state is State.RETURNED
    events = client.tracker(sender)["events"]
    said = [(e["event"], e.get("text"), (e.get("metadata") or {}).get("agent_id"))
            for e in events if e["event"] in ("user", "bot")]
    texts = [text for _, text, _ in said]
    order = ["我要转人工", "您好,我是工作人员小李。", "我的养老金上个月没到账", "失业金怎么领"]
    positions = [texts.index(text) for text in order]
    assert positions == sorted(positions)
    assert ("bot", "您好,我是工作人员小李。", "e2e-agent") in said
    kinds = [e["event"] for e in events]
    assert "pause" in kinds and "resume" in kinds and kinds.index("pause") < kinds.index("resume")
