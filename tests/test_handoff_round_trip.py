"""The round trip to a person and back, as claimants really behave (issue 16): the claimant writes
while waiting and while a person holds the conversation, the agent returns it to the bot or closes it, and the
claimant's next question is answered by the bot: not "sorry, I didn't follow", not a new ticket.
Through the real Rasa server, action server, event broker and desk, in both languages."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List

import pytest

from handoff import agents
from handoff.queue import Queue, connect
from handoff.server import Desk
from handoff.settings import DeskSettings
from handoff.tickets import State

from conftest import Client, has_chinese
from test_desk_server import Console

pytestmark = [pytest.mark.stack, pytest.mark.timeout(400)]

SCRIPT = {
    "zh": {"topic": "失业金怎么领", "human": "我要找人工", "waiting": "我等了好一会儿了,还要多久", "held": "我上个月被公司辞退了,还没拿到补偿",
           "next": "生育津贴怎么申请", "next_word": "生育", "rights": "你保存了我的什么信息", "rights_word": "保存",
           "fallback": "没跟上"},
    "en": {"topic": "how do I claim unemployment benefit", "human": "I want to talk to a person",
           "waiting": "I have been waiting a while, how much longer",
           "held": "I was dismissed last month and have not been paid my notice",
           "next": "how do I apply for maternity allowance", "next_word": "aternity",
           "rights": "what information do you keep about me", "rights_word": "keep",
           "fallback": "didn't follow"},
}


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("ending", ["return", "close"])
def test_after_a_person_held_the_conversation_the_bot_answers_the_next_question(desk_stack, redis_server,
                                                                                language, ending):
    words = SCRIPT[language]
    client = Client(desk_stack.rasa_url, desk_stack.settings.token())
    settings = DeskSettings(redis_url=redis_server.url, rasa_url=desk_stack.rasa_url,
                            rasa_token=desk_stack.settings.token(), port=0, sweep_interval_seconds=0.2)
    queue = Queue(connect(redis_server.url), settings)
    token = agents.add_agent(queue.redis, f"rt-{ending}-{language}", languages=["zh", "en"])
    sender = f"rt-{ending}-{language}-{time.time_ns()}"

    async def scenario() -> Dict[str, Any]:
        desk = await Desk.create(settings).serve(port=0)
        try:
            console = await Console.login(desk.port, token)
            await asyncio.to_thread(client.texts, sender, words["topic"])
            await asyncio.to_thread(client.texts, sender, words["human"])
            ticket = (await console.next("ticket", timeout=30))["ticket"]
            while ticket["conversation_id"] != sender:  # other tests' tickets share this Redis
                ticket = (await console.next("ticket", timeout=30))["ticket"]
            await asyncio.to_thread(client.say, sender, words["waiting"])  # written while waiting
            assert (await console.ask("claim", ticket_id=ticket["id"]))["type"] == "ok"
            await console.next("claimed")
            assert (await console.ask("message", ticket_id=ticket["id"], text="OK"))["type"] == "ok"
            # the claimant writes while the person holds the conversation: twice, the same words
            for _ in range(2):
                assert await asyncio.to_thread(client.say, sender, words["held"]) == []
            await console.next("claimant_message", timeout=30)
            if ending == "return":
                done = await console.ask("return", ticket_id=ticket["id"])
            else:
                done = await console.ask("close", ticket_id=ticket["id"], reason_code="resolved", note="ok")
            assert done["type"] == "ok", done
            answers = {"next": await asyncio.to_thread(client.texts, sender, words["next"]),
                       "rights": await asyncio.to_thread(client.texts, sender, words["rights"])}
            return {"ticket": ticket, **answers}
        finally:
            await desk.stop()

    result = asyncio.run(scenario())
    next_answer, rights_answer = result["next"], result["rights"]
    assert words["fallback"] not in next_answer, next_answer
    assert words["next_word"] in next_answer, next_answer          # the maternity answer
    assert has_chinese(next_answer) == (language == "zh")          # in the claimant's language
    assert words["rights_word"] in rights_answer, rights_answer    # a data-rights request works
    expected = State.RETURNED if ending == "return" else State.CLOSED
    assert queue.get(result["ticket"]["id"]).state is expected
    open_tickets = [t for t in tickets_of(queue, sender) if t.state in (State.WAITING, State.ASSIGNED)]
    assert open_tickets == [], "no new ticket after the return"
    assert len(tickets_of(queue, sender)) == 1, "one ticket for the whole round trip"
    events = client.tracker(sender)["events"]
    users = [e["text"] for e in events if e["event"] == "user"]
    assert users == [words["topic"], words["human"], words["waiting"], words["held"], words["held"], words["next"],
                     words["rights"]]
    kinds = [(e["event"], e.get("name")) for e in events]
    resumed = kinds.index(("resume", None))
    next_user = next(i for i in range(resumed, len(kinds)) if kinds[i][0] == "user")
    # the turn is closed before the claimant's next message: resume, the bot's line and the
    # satisfaction question (slot, bot), then the listen
    assert ("action", "action_listen") in kinds[resumed:next_user]
    assert [kind for kind in kinds[resumed:next_user] if kind[0] in ("action", "user")] == [("action", "action_listen")]


def tickets_of(queue: Queue, conversation_id: str) -> List[Any]:
    from core import redis_keys as k

    return [queue.get(ticket_id) for ticket_id in queue.redis.smembers(k.CONVERSATION_TICKETS + conversation_id)]
