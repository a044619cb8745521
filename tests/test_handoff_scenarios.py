"""Every way a handoff can go, as claimants and agents really behave (issue 16's matrix), through the
real widget socket, Rasa server, action server, event broker and desk, in both languages.

Each scenario asserts what the claimant sees (in their language), the ticket's state, and that the
tracker holds every message the claimant wrote once, in order. The plain return and close with a
claimant who writes while waiting and while held are tests/test_handoff_round_trip.py."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

import pytest

from handoff import agents
from core import redis_keys as k
from handoff.queue import Queue, connect
from handoff.server import Desk
from handoff.settings import DeskSettings
from handoff.tickets import Priority, State

from conftest import Client, has_chinese
from test_desk_server import Console
from test_web_channel import Widget, ws_url

pytestmark = [pytest.mark.stack, pytest.mark.timeout(400)]

WORDS = {
    "zh": {"topic": "失业金怎么领", "human": "我要找人工", "held": "我上个月被公司辞退了,还没拿到补偿",
           "next": "生育津贴怎么申请", "next_word": "生育", "stop": "算了,不用了",
           "crisis": "我不想活了,药都准备好了", "other": "How long does a pension transfer take?",
           "other_word": "transfer"},
    "en": {"topic": "how do I claim unemployment benefit", "human": "I want to talk to a person",
           "held": "I was dismissed last month and have not been paid my notice",
           "next": "how do I apply for maternity allowance", "next_word": "aternity", "stop": "never mind, forget it",
           "crisis": "I don't want to live any more, I have the pills ready",
           "other": "养老保险转移要多久", "other_word": "转移"},
}
OTHER = {"zh": "en", "en": "zh"}


@dataclass
class Scene:
    """One claimant on the widget, the desk in this process, and agents' consoles."""
    stack: Any
    settings: DeskSettings
    queue: Queue
    language: str
    widget: Widget = None
    desk: Desk = None
    consoles: Dict[str, Console] = field(default_factory=dict)
    said: List[str] = field(default_factory=list)

    @property
    def conversation_id(self) -> str:
        return self.widget.session["conversation_id"]

    async def start(self, *agent_names: str) -> "Scene":
        self.desk = await Desk.create(self.settings).serve(port=0)
        for name in agent_names:
            token = agents.add_agent(self.queue.redis, name, languages=["zh", "en"])
            self.consoles[name] = await Console.login(self.desk.port, token)
        self.widget = Widget(ws_url(self.stack))
        await self.widget.open(language=self.language)
        return self

    async def say(self, text: str) -> List[Dict[str, Any]]:
        """Sends and waits for the ack; returns the frames that arrived meanwhile."""
        start = len(self.widget.frames)
        message_id = await self.widget.say(text)
        await self.widget.ack_of(message_id, timeout=90)
        self.said.append(text)
        return self.widget.frames[start:]

    async def hand_off(self, agent: str) -> Dict[str, Any]:
        """The claimant asks a topic question, then for a person: the ticket on `agent`'s console."""
        words = WORDS[self.language]
        await self.say(words["topic"])
        await self.say(words["human"])
        return await self.ticket_for(agent)

    async def ticket_for(self, agent: str, *, other_than: str = "") -> Dict[str, Any]:
        """The ticket of this claimant as it appears on `agent`'s console."""
        while True:
            ticket = (await self.consoles[agent].next("ticket", timeout=30))["ticket"]
            if ticket["conversation_id"] == self.conversation_id and ticket["id"] != other_than:
                return ticket

    async def claim(self, agent: str, ticket_id: str) -> Dict[str, Any]:
        """The ticket as the claiming agent's console shows it (brief and transcript included)."""
        reply = await self.consoles[agent].ask("claim", ticket_id=ticket_id)
        assert reply["type"] == "ok", reply
        return (await self.consoles[agent].next("claimed"))["ticket"]

    async def claimant_sees(self, predicate: Callable[[Dict[str, Any]], bool], timeout: float = 30) -> Dict[str, Any]:
        return await self.widget.wait_for(predicate, timeout=timeout)

    async def stop(self) -> None:
        await self.widget.close()
        for console in self.consoles.values():
            await console.socket.close()
        await self.desk.stop()

    def tickets(self) -> List[Any]:
        ids = self.queue.redis.smembers(k.CONVERSATION_TICKETS + self.conversation_id)
        return sorted((self.queue.get(i) for i in ids), key=lambda t: t.created_at)

    def claimant_messages(self, client: Client) -> List[str]:
        return [e["text"] for e in client.tracker(self.conversation_id)["events"] if e["event"] == "user"]


@pytest.fixture
def scene(desk_stack, redis_server, request):
    language = request.param
    settings = DeskSettings(redis_url=redis_server.url, rasa_url=desk_stack.rasa_url,
                            rasa_token=desk_stack.settings.token(), port=0, sweep_interval_seconds=0.2)
    return Scene(desk_stack, settings, Queue(connect(redis_server.url), settings), language)


def frame_of(kind: str, contains: Optional[str] = None) -> Callable[[Dict[str, Any]], bool]:
    return lambda f: f["type"] == kind and (contains is None or contains in (f.get("text") or ""))


def in_language(text: str, language: str) -> bool:
    return has_chinese(text) == (language == "zh")


def unique_name(prefix: str) -> str:
    return f"{prefix}{time.time_ns() % 10 ** 9}"


LANGUAGES = pytest.mark.parametrize("scene", ["zh", "en"], indirect=True)


@LANGUAGES
def test_released_the_claimant_is_told_and_the_next_agent_gets_what_they_wrote(scene, desk_stack):
    first, second = unique_name("rel-a"), unique_name("rel-b")
    words = WORDS[scene.language]

    async def scenario() -> Dict[str, Any]:
        await scene.start(first, second)
        try:
            ticket = await scene.hand_off(first)
            await scene.claim(first, ticket["id"])
            await scene.claimant_sees(frame_of("agent_joined"))
            assert (await scene.consoles[first].ask("release", ticket_id=ticket["id"]))["type"] == "ok"
            left = await scene.claimant_sees(frame_of("agent_left"))
            requeued = await scene.claimant_sees(frame_of("notice"), timeout=30)
            waiting = scene.queue.get(ticket["id"]).state
            await scene.say(words["held"])          # written while waiting again
            claimed = await scene.claim(second, ticket["id"])
            transcript = [turn.get("text") for turn in claimed["brief"].get("transcript") or []]
            return {"left": left, "requeued": requeued, "waiting": waiting, "transcript": transcript,
                    "ticket": ticket}
        finally:
            await scene.stop()

    seen = asyncio.run(scenario())
    assert seen["waiting"] is State.WAITING
    assert in_language(seen["requeued"]["text"], scene.language), seen["requeued"]
    assert seen["left"]["seq"] < seen["requeued"]["seq"]
    assert words["held"] in seen["transcript"], "the next agent sees what was written while waiting"
    assert scene.queue.get(seen["ticket"]["id"]).agent == second
    assert len(scene.tickets()) == 1
    assert scene.claimant_messages(Client(desk_stack.rasa_url, desk_stack.settings.token())) == scene.said


@LANGUAGES
def test_transferred_to_a_colleague_the_claimant_is_told_and_only_the_colleague_reads_on(scene, desk_stack):
    first, second = unique_name("tr-a"), unique_name("tr-b")
    words = WORDS[scene.language]

    async def scenario() -> Dict[str, Any]:
        await scene.start(first, second)
        try:
            ticket = await scene.hand_off(first)
            await scene.claim(first, ticket["id"])
            await scene.claimant_sees(frame_of("agent_joined"))
            joined_before = len([f for f in scene.widget.frames if f["type"] == "agent_joined"])
            reply = await scene.consoles[first].ask("transfer", ticket_id=ticket["id"], to_agent=second)
            assert reply["type"] == "ok", reply
            await scene.consoles[second].next("ticket", timeout=30, event="transferred")
            await scene.claimant_sees(lambda f: f["type"] == "agent_joined" and f.get("agent_name") == second)
            joined_after = len([f for f in scene.widget.frames if f["type"] == "agent_joined"])
            await scene.say(words["held"])
            relayed = await scene.consoles[second].next("claimant_message", timeout=30)
            await asyncio.sleep(0.5)
            first_saw = [f for f in scene.consoles[first].seen if f["type"] == "claimant_message"
                         and f.get("text") == words["held"]]
            done = await scene.consoles[second].ask("return", ticket_id=ticket["id"])
            assert done["type"] == "ok", done
            await scene.claimant_sees(frame_of("bot_resumed"))
            answer = await scene.say(words["next"])
            return {"relayed": relayed, "first_saw": first_saw, "joined": (joined_before, joined_after),
                    "answer": " ".join(f.get("text", "") for f in answer if f["type"] == "bot"), "ticket": ticket}
        finally:
            await scene.stop()

    seen = asyncio.run(scenario())
    assert seen["joined"] == (1, 2), "the claimant is told a colleague took over"
    assert seen["relayed"]["text"] == words["held"] and seen["first_saw"] == []
    assert words["next_word"] in seen["answer"] and in_language(seen["answer"], scene.language), seen["answer"]
    assert scene.queue.get(seen["ticket"]["id"]).state is State.RETURNED
    assert len(scene.tickets()) == 1
    assert scene.claimant_messages(Client(desk_stack.rasa_url, desk_stack.settings.token())) == scene.said


@LANGUAGES
def test_a_language_switch_while_held_moves_the_claimant_to_the_other_queue_and_they_are_told_in_it(scene, desk_stack):
    first, second = unique_name("ls-a"), unique_name("ls-b")
    other = OTHER[scene.language]

    async def scenario() -> Dict[str, Any]:
        await scene.start(first, second)
        try:
            ticket = await scene.hand_off(first)
            await scene.claim(first, ticket["id"])
            await scene.say(WORDS[other]["held"])    # the claimant switches language while held
            await scene.consoles[first].next("claimant_message", timeout=30)
            reply = await scene.consoles[first].ask("transfer", ticket_id=ticket["id"], to_language=other)
            assert reply["type"] == "ok", reply
            await scene.claimant_sees(frame_of("agent_left"))
            requeued = await scene.claimant_sees(frame_of("notice"))
            in_queue = scene.queue.get(ticket["id"])
            await scene.claim(second, ticket["id"])
            joined = await scene.claimant_sees(lambda f: f["type"] == "agent_joined" and f.get("agent_name") == second)
            assert (await scene.consoles[second].ask("return", ticket_id=ticket["id"]))["type"] == "ok"
            resumed = await scene.claimant_sees(frame_of("bot_resumed"))
            answer = await scene.say(WORDS[other]["next"])
            return {"requeued": requeued, "in_queue": in_queue, "joined": joined, "resumed": resumed,
                    "answer": " ".join(f.get("text", "") for f in answer if f["type"] == "bot")}
        finally:
            await scene.stop()

    seen = asyncio.run(scenario())
    assert seen["in_queue"].state is State.WAITING and seen["in_queue"].language == other
    for said in ("requeued", "joined", "resumed"):
        assert in_language(seen[said]["text"], other), seen[said]
    assert WORDS[other]["next_word"] in seen["answer"] and in_language(seen["answer"], other), seen["answer"]
    assert scene.claimant_messages(Client(desk_stack.rasa_url, desk_stack.settings.token())) == scene.said


@LANGUAGES
def test_never_mind_while_waiting_takes_the_claimant_out_and_the_bot_answers_on(scene, desk_stack):
    agent = unique_name("nm-a")
    words = WORDS[scene.language]

    async def scenario() -> Dict[str, Any]:
        await scene.start(agent)
        try:
            ticket = await scene.hand_off(agent)
            await scene.say(words["stop"])
            resumed = await scene.claimant_sees(frame_of("bot_resumed"))
            answer = await scene.say(words["next"])
            return {"ticket": ticket, "resumed": resumed,
                    "answer": " ".join(f.get("text", "") for f in answer if f["type"] == "bot")}
        finally:
            await scene.stop()

    seen = asyncio.run(scenario())
    assert in_language(seen["resumed"]["text"], scene.language)
    assert scene.queue.get(seen["ticket"]["id"]).state is State.RETURNED
    assert words["next_word"] in seen["answer"] and in_language(seen["answer"], scene.language), seen["answer"]
    assert len(scene.tickets()) == 1
    assert scene.claimant_messages(Client(desk_stack.rasa_url, desk_stack.settings.token())) == scene.said


@LANGUAGES
def test_a_crisis_while_waiting_raises_the_ticket_and_the_claimant_gets_the_crisis_lines_at_once(scene, desk_stack):
    agent = unique_name("cw-a")
    words = WORDS[scene.language]

    async def scenario() -> Dict[str, Any]:
        await scene.start(agent)
        try:
            ticket = await scene.hand_off(agent)
            await scene.say(words["crisis"])
            told = await scene.claimant_sees(lambda f: f["type"] == "notice" and ("120" in (f.get("text") or "")))
            deadline = time.monotonic() + 20
            while scene.queue.get(ticket["id"]).priority is not Priority.CRISIS and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            return {"ticket": ticket, "told": told}
        finally:
            await scene.stop()

    seen = asyncio.run(scenario())
    waiting = scene.queue.get(seen["ticket"]["id"])
    assert waiting.priority is Priority.CRISIS and waiting.state is State.WAITING
    assert in_language(seen["told"]["text"], scene.language), seen["told"]
    assert len(scene.tickets()) == 1
    assert scene.claimant_messages(Client(desk_stack.rasa_url, desk_stack.settings.token())) == scene.said


@LANGUAGES
def test_a_crisis_while_held_reaches_the_agent_flagged_with_its_evidence(scene, desk_stack):
    agent = unique_name("ch-a")
    words = WORDS[scene.language]

    async def scenario() -> Dict[str, Any]:
        await scene.start(agent)
        try:
            ticket = await scene.hand_off(agent)
            await scene.claim(agent, ticket["id"])
            bot_frames = await scene.say(words["crisis"])
            relayed = await scene.consoles[agent].next("claimant_message", timeout=30)
            return {"ticket": ticket, "relayed": relayed, "bot": [f for f in bot_frames if f["type"] == "bot"]}
        finally:
            await scene.stop()

    seen = asyncio.run(scenario())
    assert seen["relayed"]["distress"] == "crisis" and seen["relayed"]["evidence"], seen["relayed"]
    assert seen["bot"] == [], "the person holding the conversation answers, not the bot"
    held = scene.queue.get(seen["ticket"]["id"])
    assert held.priority is Priority.CRISIS and held.state is State.ASSIGNED
    assert scene.claimant_messages(Client(desk_stack.rasa_url, desk_stack.settings.token())) == scene.said


@LANGUAGES
def test_asking_for_a_person_again_after_the_return_opens_a_second_ticket(scene, desk_stack):
    agent = unique_name("ag-a")
    words = WORDS[scene.language]

    async def scenario() -> Dict[str, Any]:
        await scene.start(agent)
        try:
            ticket = await scene.hand_off(agent)
            await scene.claim(agent, ticket["id"])
            await scene.say(words["held"])
            assert (await scene.consoles[agent].ask("return", ticket_id=ticket["id"]))["type"] == "ok"
            await scene.claimant_sees(frame_of("bot_resumed"))
            again = await scene.say(words["human"])
            second = await scene.ticket_for(agent, other_than=ticket["id"])
            return {"first": ticket, "second": second,
                    "again": " ".join(f.get("text", "") for f in again if f["type"] == "bot")}
        finally:
            await scene.stop()

    seen = asyncio.run(scenario())
    assert seen["second"]["id"] != seen["first"]["id"]
    assert in_language(seen["again"], scene.language) and seen["again"], seen["again"]
    states = [t.state for t in scene.tickets()]
    assert states == [State.RETURNED, State.WAITING], states
    assert scene.claimant_messages(Client(desk_stack.rasa_url, desk_stack.settings.token())) == scene.said
