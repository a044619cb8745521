"""Agent assist through the desk, over real WebSockets on loopback and a real Redis: the summary
in the console's language in `claimed` and `brief`, the suggested answer in the claimant's
language for the agent holding the ticket only (`claimed`, `brief`, `claimant_message`,
`suggest`), and what others get when they ask. Rasa's HTTP API is a small fake serving trackers
shaped like the real one (tests/test_agent_assist.py), so these tests need no model."""
from __future__ import annotations

import asyncio
import dataclasses
import http.server
import json
import threading
import time
from typing import Any, Dict, List
from urllib.parse import unquote, urlparse

import pytest
import websockets

from tooling.embedded_redis import free_port
from core.privacy import access, audit
from handoff import agents
from core import redis_keys as k
from handoff.queue import Queue, connect
from handoff.settings import DeskSettings

from test_agent_assist import CONVERSATION, TITLES
from test_desk_server import Console, started

pytestmark = pytest.mark.timeout(120)


class TrackerRasa:
    """Rasa's HTTP API as far as the desk uses it: GET a tracker, POST events to it."""

    def __init__(self, trackers: Dict[str, Dict[str, Any]]) -> None:
        self.trackers, self.appended, self.fetches = trackers, [], 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _conversation(self) -> str:
                return unquote(urlparse(self.path).path.split("/")[2])

            def do_GET(self) -> None:  # noqa: N802
                fake.fetches += 1
                tracker = fake.trackers.get(self._conversation(), {"sender_id": self._conversation(), "events": []})
                self._answer(json.dumps(tracker).encode())

            def do_POST(self) -> None:  # noqa: N802
                events = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                fake.appended.append((self._conversation(), events))
                fake.trackers.setdefault(self._conversation(), {"sender_id": self._conversation(), "events": []})[
                    "events"].extend(events)
                self._answer(b"{}")

            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def rasa():
    fake = TrackerRasa({"c1": json.loads(json.dumps({**CONVERSATION, "sender_id": "c1"}))})
    yield fake
    fake.close()


@pytest.fixture
def settings(redis_server, rasa) -> DeskSettings:
    client = connect(redis_server.url)
    client.flushdb()
    client.close()
    return DeskSettings(redis_url=redis_server.url, rasa_url=rasa.url, rasa_token="x", port=0,
                        grace_seconds=30.0, sweep_interval_seconds=0.1)


@pytest.fixture
def queue(settings) -> Queue:
    return Queue(connect(settings.redis_url), settings)


def enqueue(queue: Queue, conversation: str = "c1", language: str = "zh"):
    return queue.enqueue(conversation_id=conversation, channel="web", language=language, priority="urgent",
                         reason="urgent: 撑不下去 (zh.despair.2)", brief={"transcript": []})


async def login(port: int, token: str, **auth: Any) -> tuple:
    console = Console(await websockets.connect(f"ws://127.0.0.1:{port}/agent", max_size=2 ** 21))
    await console.socket.send(json.dumps({"v": 3, "type": "auth", "token": token, **auth}))
    hello = await console.next("hello")
    await console.next("snapshot")
    return console, hello


def user_event(conversation: str, text: str, intent: str, entities: List[Dict[str, Any]] = ()) -> Dict[str, str]:
    return {"sender_id": conversation, "event": "user", "data": json.dumps({
        "sender_id": conversation, "event": "user", "text": text, "timestamp": time.time(),
        "parse_data": {"intent": {"name": intent}, "entities": list(entities)}})}


def test_the_holder_gets_the_summary_in_their_console_language_and_the_answer_in_the_claimants(settings, queue):
    ticket = enqueue(queue)
    holder_token = agents.add_agent(queue.redis, "li", languages=["zh", "en"])
    colleague_token = agents.add_agent(queue.redis, "wang", languages=["zh"])
    supervisor_token = agents.add_agent(queue.redis, "boss", languages=["en"], role="supervisor")

    async def scenario():
        desk = await started(settings)
        try:
            holder, hello = await login(desk.port, holder_token, language="en")
            assert (hello["language"], hello["protocol"]) == ("en", 3)
            assert (await holder.ask("claim", ticket_id=ticket.id))["type"] == "ok"
            claimed = (await holder.next("claimed"))["ticket"]

            colleague, hello = await login(desk.port, colleague_token)  # no language: their first
            assert hello["language"] == "zh"
            await colleague.socket.send(json.dumps({"type": "brief", "ticket_id": ticket.id, "ref": "b"}))
            seen_by_colleague = (await colleague.next("brief"))["ticket"]

            supervisor, hello = await login(desk.port, supervisor_token, language="klingon")
            assert hello["language"] == "en"
            await supervisor.socket.send(json.dumps({"type": "brief", "ticket_id": ticket.id, "ref": "b"}))
            seen_by_supervisor = (await supervisor.next("brief"))["ticket"]
            return claimed, seen_by_colleague, seen_by_supervisor
        finally:
            await desk.stop()

    claimed, seen_by_colleague, seen_by_supervisor = asyncio.run(scenario())
    summary = claimed["summary"]
    assert summary["language"] == "en"
    lines = {line["kind"]: line["text"] for line in summary["lines"]}
    assert lines["why"] == "Handed over: urgent. Reason: urgent: 撑不下去 (zh.despair.2)."
    assert lines["topics"] == f"Asked about, in order: {TITLES['ask_unemployment']['en']}."
    assert "12 years of unemployment insurance contributions" in lines["situation"]
    assert summary["facts"]["contribution_years"]["quote"] == "十二年"
    # the whole transcript is still there below the summary
    assert len(claimed["brief"]["transcript"]) == 12
    suggestion = claimed["suggestion"]
    assert (suggestion["topic"], suggestion["language"]) == ("ask_unemployment", "zh")
    assert suggestion["text"].startswith(TITLES["ask_unemployment"]["zh"] + "\n")
    assert suggestion["sources"][0]["url"].startswith("http")
    # others may read the brief (and its summary, in their own language) but get no suggestion
    assert seen_by_colleague["summary"]["language"] == "zh" and seen_by_colleague["suggestion"] is None
    assert seen_by_colleague["summary"]["lines"][2]["text"] == f"依次咨询：{TITLES['ask_unemployment']['zh']}。"
    assert seen_by_supervisor["summary"]["language"] == "en" and seen_by_supervisor["suggestion"] is None
    # each was a transcript read, and audited as one
    reads = [e.who for e in audit.entries(queue.redis, conversation_id="c1") if e.action == "read_transcript"]
    assert sorted(reads) == ["boss", "li", "wang"]


def test_suggest_answers_the_holder_only(settings, queue, rasa):
    ticket = enqueue(queue)
    english = enqueue(queue, "c2", language="en")
    tokens = {name: agents.add_agent(queue.redis, name, languages=languages, role=role)
              for name, languages, role in (("li", ["zh"], "agent"), ("wang", ["zh"], "agent"),
                                            ("jones", ["en"], "agent"), ("boss", ["zh", "en"], "supervisor"))}
    trainer_token = access.add_user(queue.redis, "trainer1", role="trainer", languages=("zh",), by="test")

    async def scenario():
        desk = await started(settings)
        try:
            consoles = {name: (await login(desk.port, token))[0] for name, token in tokens.items()}
            holder = consoles["li"]
            assert (await holder.ask("claim", ticket_id=ticket.id))["type"] == "ok"
            assert (await consoles["jones"].ask("claim", ticket_id=english.id))["type"] == "ok"
            answers = {"latest": await holder.ask("suggest", ticket_id=ticket.id),
                       "topic": await holder.ask("suggest", ticket_id=ticket.id, topic="ask_pension"),
                       "no_topic": await holder.ask("suggest", ticket_id=ticket.id, topic="ask_lottery"),
                       "no_ticket": await holder.ask("suggest", ticket_id="no-such-ticket"),
                       "colleague": await consoles["wang"].ask("suggest", ticket_id=ticket.id),
                       "other_language": await consoles["jones"].ask("suggest", ticket_id=ticket.id),
                       "other_agents_ticket": await holder.ask("suggest", ticket_id=english.id),
                       "supervisor": await consoles["boss"].ask("suggest", ticket_id=ticket.id)}
            # nobody but the holder was sent a suggestion, in any frame
            for name in ("wang", "jones", "boss"):
                await consoles[name].ask("snapshot")
                assert all(not frame.get("suggestion") and not (frame.get("ticket") or {}).get("suggestion")
                           for frame in consoles[name].seen), name
            # not an agent: no auth first, or a trainer's token: the connection is closed, nothing said
            closed = []
            for first in ({"type": "suggest", "ticket_id": ticket.id},
                          {"type": "auth", "token": trainer_token}, {"type": "auth", "token": "guess"}):
                socket = await websockets.connect(f"ws://127.0.0.1:{desk.port}/agent")
                await socket.send(json.dumps(first))
                if first["type"] == "auth":
                    await socket.send(json.dumps({"type": "suggest", "ticket_id": ticket.id}))
                with pytest.raises(websockets.ConnectionClosed):
                    while True:
                        assert "suggestion" not in await socket.recv()
                closed.append(socket.close_code)
            return answers, closed
        finally:
            await desk.stop()

    answers, closed = asyncio.run(scenario())
    latest = answers["latest"]
    assert latest["type"] == "ok" and latest["ticket_id"] == ticket.id
    assert (latest["suggestion"]["topic"], latest["suggestion"]["language"]) == ("ask_unemployment", "zh")
    assert answers["topic"]["suggestion"]["topic"] == "ask_pension"
    assert answers["topic"]["suggestion"]["title"] == TITLES["ask_pension"]["zh"]
    assert (answers["no_topic"]["type"], answers["no_topic"]["code"]) == ("error", "not_found")
    assert answers["no_ticket"]["code"] == "not_found"
    for who in ("colleague", "other_language", "other_agents_ticket", "supervisor"):
        assert (answers[who]["type"], answers[who]["code"]) == ("error", "not_holder"), who
        assert "suggestion" not in answers[who]
    assert closed == [4001, 4001, 4001]


def test_a_question_written_while_held_comes_with_its_answer_and_a_remark_without(settings, queue):
    ticket = enqueue(queue)
    holder_token = agents.add_agent(queue.redis, "li", languages=["zh"])
    colleague_token = agents.add_agent(queue.redis, "wang", languages=["zh"])

    async def scenario():
        desk = await started(settings)
        try:
            holder, _ = await login(desk.port, holder_token, language="en")
            colleague, _ = await login(desk.port, colleague_token)
            assert (await holder.ask("claim", ticket_id=ticket.id))["type"] == "ok"
            await asyncio.sleep(0.2)
            queue.redis.xadd(k.EVENTS_STREAM, user_event("c1", "生育津贴怎么申请", "ask_maternity"))
            question = await holder.next("claimant_message")
            queue.redis.xadd(k.EVENTS_STREAM, user_event("c1", "好的谢谢", "thank"))
            remark = await holder.next("claimant_message")
            queue.redis.xadd(k.EVENTS_STREAM, user_event(
                "c1", "/show_answer_part", "show_answer_part", [{"entity": "answer_topic", "value": "ask_medical"}]))
            part = await holder.next("claimant_message")
            await colleague.ask("snapshot")
            return question, remark, part, colleague.seen
        finally:
            await desk.stop()

    question, remark, part, colleague_saw = asyncio.run(scenario())
    assert question["text"] == "生育津贴怎么申请"
    assert (question["suggestion"]["topic"], question["suggestion"]["language"]) == ("ask_maternity", "zh")
    assert remark["suggestion"] is None
    assert part["suggestion"]["topic"] == "ask_medical"
    assert [f for f in colleague_saw if f["type"] == "claimant_message"] == []


def test_without_rasa_the_stored_brief_is_shown_and_suggest_says_unavailable(settings, queue):
    settings = dataclasses.replace(settings, rasa_url=f"http://127.0.0.1:{free_port()}")
    ticket = enqueue(queue)
    token = agents.add_agent(queue.redis, "li", languages=["zh"])

    async def scenario():
        desk = await started(settings)
        try:
            holder, _ = await login(desk.port, token)
            assert (await holder.ask("claim", ticket_id=ticket.id))["type"] == "ok"
            claimed = (await holder.next("claimed"))["ticket"]
            with_topic = await holder.ask("suggest", ticket_id=ticket.id, topic="ask_unemployment")
            latest = await holder.ask("suggest", ticket_id=ticket.id)
            return claimed, with_topic, latest
        finally:
            await desk.stop()

    claimed, with_topic, latest = asyncio.run(scenario())
    assert claimed["summary"] is None and claimed["suggestion"] is None and claimed["brief"] == {"transcript": []}
    assert with_topic["suggestion"]["topic"] == "ask_unemployment"  # needs no tracker
    assert (latest["type"], latest["code"]) == ("error", "unavailable")
