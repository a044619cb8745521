"""The desk over real WebSockets on loopback, against a real Redis (flushed per test)."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List

import pytest
import websockets

from tooling.embedded_redis import free_port
from core.settings import ROOT
from handoff import agents
from core import redis_keys as k
from handoff.queue import Queue, connect
from handoff.server import Desk
from handoff.settings import DeskSettings
from handoff.tickets import Priority, State

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def settings(redis_server) -> DeskSettings:
    client = connect(redis_server.url)
    client.flushdb()
    client.close()
    return DeskSettings(redis_url=redis_server.url, rasa_url=f"http://127.0.0.1:{free_port()}",
                        rasa_token="x", port=0, grace_seconds=1.0, sweep_interval_seconds=0.1)


@pytest.fixture
def queue(settings) -> Queue:
    return Queue(connect(settings.redis_url), settings)


class Console:
    """An agent console: a real WebSocket client speaking the protocol."""

    def __init__(self, socket):
        self.socket = socket
        self.seen: List[Dict[str, Any]] = []

    @classmethod
    async def login(cls, port: int, token: str) -> "Console":
        console = cls(await websockets.connect(f"ws://127.0.0.1:{port}/agent", max_size=2 ** 20))
        await console.socket.send(json.dumps({"type": "auth", "token": token}))
        hello = await console.next("hello")
        assert hello["agent_id"]
        await console.next("snapshot")
        return console

    async def next(self, kind: str, timeout: float = 30.0, **match: Any) -> Dict[str, Any]:
        for frame in self.seen:
            if frame["type"] == kind and all(frame.get(key) == value for key, value in match.items()):
                self.seen.remove(frame)
                return frame
        deadline = time.monotonic() + timeout
        while True:
            frame = json.loads(await asyncio.wait_for(self.socket.recv(), deadline - time.monotonic()))
            if frame["type"] == kind and all(frame.get(key) == value for key, value in match.items()):
                return frame
            self.seen.append(frame)

    async def ask(self, kind: str, ref: Any = None, timeout: float = 30.0, **fields: Any) -> Dict[str, Any]:
        ref = ref or f"r{time.monotonic_ns()}"
        await self.socket.send(json.dumps({"type": kind, "ref": ref, **fields}))
        deadline = time.monotonic() + timeout  # other frames (queue updates) keep arriving meanwhile
        while True:
            frame = await self.next_any(max(0.01, deadline - time.monotonic()))
            if frame.get("ref") == ref and frame["type"] in ("ok", "error"):
                return frame
            self.seen.append(frame)

    async def next_any(self, timeout: float = 30.0) -> Dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.socket.recv(), timeout))


def enqueue(queue: Queue, conversation: str, priority: str = "requested", language: str = "zh",
            channel: str = "web"):
    return queue.enqueue(conversation_id=conversation, channel=channel, language=language,
                         priority=priority, reason="asked for a person", brief={"transcript": []})


async def started(settings: DeskSettings) -> Desk:
    return await Desk.create(settings).serve(port=0)


def test_login_snapshot_claim_and_a_second_claim_is_taken(settings, queue):
    ticket = enqueue(queue, "c1", "urgent")
    token_a = agents.add_agent(queue.redis, "li", languages=["zh"])
    token_b = agents.add_agent(queue.redis, "wang", languages=["zh", "en"])

    async def scenario():
        desk = await started(settings)
        try:
            a = await Console.login(desk.port, token_a)
            b = await Console.login(desk.port, token_b)
            won = await a.ask("claim", ticket_id=ticket.id)
            assert won["type"] == "ok", won
            claimed = await a.next("claimed")
            assert claimed["ticket"]["id"] == ticket.id and claimed["ticket"]["state"] == "assigned"
            lost = await b.ask("claim", ticket_id=ticket.id)
            assert (lost["type"], lost["code"]) == ("error", "taken")
            update = await b.next("ticket")
            assert update["ticket"]["agent"] == "li"
            missing = await b.ask("claim", ticket_id="no-such-ticket")
            assert missing["code"] == "not_found"
            not_mine = await b.ask("message", ticket_id=ticket.id, text="hello")
            assert not_mine["code"] == "not_holder"
            assert (await b.ask("snapshot"))["type"] == "ok"  # the connection is still open
        finally:
            await desk.stop()

    asyncio.run(scenario())
    joined = [json.loads(f["data"]) for _, f in queue.redis.xrange(k.OUTBOX + "web")]
    assert [(e["type"], e["conversation_id"]) for e in joined] == [("agent_joined", "c1")]


def test_bad_frames_get_typed_errors_and_the_connection_stays(settings, queue):
    token = agents.add_agent(queue.redis, "li", languages=["zh"])

    async def scenario():
        desk = await started(settings)
        try:
            console = await Console.login(desk.port, token)
            await console.socket.send("{not json")
            assert (await console.next("error"))["code"] == "bad_frame"
            assert (await console.ask("dance"))["code"] == "unknown_type"
            assert (await console.ask("close", ticket_id="x"))["code"] == "bad_request"
            assert (await console.ask("presence", status="away"))["type"] == "ok"
        finally:
            await desk.stop()

    asyncio.run(scenario())
    assert queue.agent("li")["status"] in ("away", "offline")


def test_failed_auth_and_oversized_frames_close_with_documented_codes(settings, queue):
    token = agents.add_agent(queue.redis, "li", languages=["zh"])

    async def scenario():
        desk = await started(settings)
        try:
            socket = await websockets.connect(f"ws://127.0.0.1:{desk.port}/agent")
            await socket.send(json.dumps({"type": "auth", "token": "wrong"}))
            with pytest.raises(websockets.ConnectionClosed):
                await socket.recv()
            assert socket.close_code == 4001
            console = await Console.login(desk.port, token)
            await console.socket.send(json.dumps({"type": "message", "text": "x" * 70_000}))
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await console.socket.recv()
            assert console.socket.close_code == 1009
        finally:
            await desk.stop()

    asyncio.run(scenario())


def test_disconnect_puts_the_ticket_back_after_the_grace_period(settings, queue):
    first = enqueue(queue, "c1", "complex")
    second = enqueue(queue, "c2", "complex")
    token = agents.add_agent(queue.redis, "li", languages=["zh"])

    async def scenario():
        desk = await started(settings)
        try:
            console = await Console.login(desk.port, token)
            assert (await console.ask("claim", ticket_id=first.id))["type"] == "ok"
            await console.socket.close()
            await asyncio.sleep(0.5)
            assert queue.get(first.id).state is State.ASSIGNED  # within the grace period
            deadline = time.monotonic() + 5
            while queue.get(first.id).state is not State.WAITING and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            # the claimant is told just after the requeue: wait for it before stopping the desk
            while queue.redis.xlen(k.OUTBOX + "web") < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            await desk.stop()

    asyncio.run(scenario())
    assert queue.waiting_ids("zh") == [first.id, second.id]
    assert queue.history(first.id)[-1].event == "requeued"
    told = [json.loads(f["data"]) for _, f in queue.redis.xrange(k.OUTBOX + "web")]
    told = [(m["type"], m.get("text", "")) for m in told if m["conversation_id"] == "c1"]
    kinds = [kind for kind, _ in told]
    # the claimant is told the person left and that they are waiting again (issue 16)
    assert kinds[kinds.index("agent_joined") + 1:] == ["agent_left", "notice"], told
    assert "重新排队" in told[-1][1]


def test_distress_while_waiting_raises_the_priority_and_positions_are_announced(settings, queue):
    early = enqueue(queue, "c1", "requested")
    late = enqueue(queue, "c2", "requested")
    queue.agent_online("li", languages=["zh"])

    async def scenario():
        desk = await started(settings)
        try:
            await asyncio.sleep(0.3)  # the leader records the first positions
            queue.redis.xadd(k.EVENTS_STREAM, {"sender_id": "c2", "event": "user", "data": json.dumps({
                "sender_id": "c2", "event": "user", "text": "我真的撑不下去了", "timestamp": time.time(),
                "parse_data": {"intent": {"name": "inform"}, "signals": {"distress": {
                    "level": "crisis", "evidence": [{"text": "撑不下去", "rule": "zh.crisis.t"}]}}}})})
            deadline = time.monotonic() + 5
            while queue.get(late.id).priority is not Priority.CRISIS and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
        finally:
            await desk.stop()

    asyncio.run(scenario())
    assert queue.waiting_ids("zh") == [late.id, early.id]
    assert queue.history(late.id)[-1].detail["evidence"]["evidence"][0]["rule"] == "zh.crisis.t"
    positions = [json.loads(f["data"]) for _, f in queue.redis.xrange(k.OUTBOX + "web")]
    moved = [(p["conversation_id"], p["position"]) for p in positions if p["type"] == "queue_position"]
    assert ("c2", 1) in moved and ("c1", 2) in moved


def test_claimant_messages_of_a_held_conversation_reach_the_agent(settings, queue):
    ticket = enqueue(queue, "c1")
    token = agents.add_agent(queue.redis, "li", languages=["zh"])

    async def scenario():
        desk = await started(settings)
        try:
            console = await Console.login(desk.port, token)
            await console.ask("claim", ticket_id=ticket.id)
            await asyncio.sleep(0.2)
            queue.redis.xadd(k.EVENTS_STREAM, {"sender_id": "c1", "event": "user", "data": json.dumps({
                "sender_id": "c1", "event": "user", "text": "<img src=x onerror=alert(1)>", "timestamp": 1.0,
                "parse_data": {"intent": {"name": "inform"}}})})
            relayed = await console.next("claimant_message")
            assert relayed["ticket_id"] == ticket.id and relayed["text"] == "<img src=x onerror=alert(1)>"
        finally:
            await desk.stop()

    asyncio.run(scenario())


def test_a_flag_for_the_trainers_carries_the_claimants_words(settings, queue):
    ticket = queue.enqueue(conversation_id="c1", channel="web", language="zh", priority="requested",
                           reason="asked for a person", brief={"transcript": [
                               {"speaker": "claimant", "text": "退休金每月几号发", "at": 1.0}]})
    token = agents.add_agent(queue.redis, "li", languages=["zh"])

    async def scenario():
        desk = await started(settings)
        try:
            console = await Console.login(desk.port, token)
            answer = await console.ask("flag", ticket_id=ticket.id, suggested_intent="ask_payment_status")
            assert answer["type"] == "ok" and answer["flag_id"]
        finally:
            await desk.stop()

    asyncio.run(scenario())
    (_, fields), = queue.redis.xrange(k.REVIEW_FLAGS)
    assert fields["text"] == "退休金每月几号发" and fields["suggested_intent"] == "ask_payment_status"
    assert (fields["conversation_id"], fields["agent_id"], fields["language"]) == ("c1", "li", "zh")


def test_the_console_page_is_served_and_nothing_outside_it(settings):
    async def scenario():
        desk = await started(settings)
        try:
            def get(path: str):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{desk.port}{path}", timeout=5) as reply:
                        return reply.status, reply.headers, reply.read()
                except urllib.error.HTTPError as error:
                    return error.code, error.headers, b""
            status, headers, body = await asyncio.to_thread(get, "/")
            assert status == 200 and b"<html" in body.lower()
            assert headers["Content-Security-Policy"].startswith("default-src 'self'")
            assert (await asyncio.to_thread(get, "/../server.py"))[0] == 404
            assert (await asyncio.to_thread(get, "/console.js"))[0] == 200
            assert (await asyncio.to_thread(get, "/health"))[0] == 200  # both Redis clients answer
        finally:
            await desk.stop()

    asyncio.run(scenario())


# ----- two desk processes on one Redis -------------------------------------------------------

def start_desk_process(settings: DeskSettings, port: int) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": settings.redis_url, "DESK_PORT": str(port), "DESK_HOST": "127.0.0.1",
           "RASA_URL": settings.rasa_url, "RASA_AUTH_TOKEN": settings.rasa_token, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "handoff"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("the desk process exited") from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the desk process did not start")


def test_two_desk_processes_100_concurrent_claims_exactly_one_wins(settings, queue):
    ticket = enqueue(queue, "c1", "crisis")
    tokens = [agents.add_agent(queue.redis, f"agent{n}", languages=["zh"]) for n in range(100)]
    ports = [free_port(), free_port()]
    processes = [start_desk_process(settings, port) for port in ports]
    try:
        async def scenario():
            consoles = await asyncio.gather(*(Console.login(ports[n % 2], token) for n, token in enumerate(tokens)))
            answers = await asyncio.gather(*(c.ask("claim", ticket_id=ticket.id) for c in consoles))
            for console in consoles:
                await console.socket.close()
            return answers

        answers = asyncio.run(scenario())
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)
    winners = [a for a in answers if a["type"] == "ok"]
    assert len(winners) == 1
    assert sorted({a.get("code") for a in answers if a["type"] == "error"}) == ["taken"]
    stored = queue.get(ticket.id)
    assert [e.event for e in stored.history] == ["enqueued", "claimed"]


class FakeRasa:
    """Rasa's HTTP API as far as the desk uses it: POST events to a tracker (kept as soon as they
    are read), GET it back; each call held unanswered while `hold` is set (a Rasa stuck mid-turn),
    or answered 503 while `down` is set."""

    def __init__(self) -> None:
        import http.server
        import threading
        from urllib.parse import unquote, urlparse

        self.hold, self.down, self.calls = threading.Event(), threading.Event(), 0
        self.trackers: Dict[str, List[Dict[str, Any]]] = {}
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _conversation(self) -> str:
                return unquote(urlparse(self.path).path.split("/")[2])

            def do_GET(self) -> None:  # noqa: N802
                self._answer(json.dumps({"sender_id": self._conversation(),
                                         "events": fake.trackers.get(self._conversation(), [])}).encode())

            def do_POST(self) -> None:  # noqa: N802
                fake.calls += 1
                events = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"[]")
                if not fake.down.is_set():
                    fake.trackers.setdefault(self._conversation(), []).extend(events)
                self._answer(b"{}")

            def _answer(self, body: bytes) -> None:
                while fake.hold.is_set():
                    time.sleep(0.05)
                self.send_response(503 if fake.down.is_set() else 200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def resumed(self, conversation: str) -> List[Dict[str, Any]]:
        return [e for e in self.trackers.get(conversation, []) if e["event"] == "resume"]

    def close(self) -> None:
        self.hold.clear()
        self.server.shutdown()


def test_a_message_a_killed_desk_read_but_never_acted_on_is_acted_on_after_its_restart(settings, queue):
    """Issue 17, item 5: the desk's consumer name is stable per process, so a desk restarted in
    the same place acts on what it had read before it was killed (here: "never mind" while waiting)."""
    import dataclasses
    import signal

    rasa = FakeRasa()
    settings = dataclasses.replace(settings, rasa_url=rasa.url)
    ticket = enqueue(queue, "c1")
    port = free_port()
    desk = start_desk_process(settings, port)
    try:
        rasa.hold.set()  # acting on it appends to the tracker: that call now hangs
        queue.redis.xadd(k.EVENTS_STREAM, {"sender_id": "c1", "event": "user", "data": json.dumps({
            "sender_id": "c1", "event": "user", "text": "算了不用了", "timestamp": time.time(),
            "parse_data": {"intent": {"name": "stop"}}})})
        deadline = time.monotonic() + 20
        while rasa.calls == 0:
            assert time.monotonic() < deadline, "the desk never acted"
            time.sleep(0.05)
        os.killpg(desk.pid, signal.SIGKILL)  # read, acted on, the bot not yet told, not acknowledged
        desk.wait()
        rasa.hold.clear()
        # the ticket's change and its ending's record were one step: returned, the bot's write pending
        assert queue.get(ticket.id).state is State.RETURNED
        assert queue.redis.hget(k.RASA_WRITE + ticket.id, "rasa_write") == "pending"
        assert "bot_resumed" not in outbox_types(queue, "c1")  # not told the bot is back before it is
        assert queue.redis.xpending(k.EVENTS_STREAM, k.EVENTS_GROUP)["pending"] == 1
        desk = start_desk_process(settings, port)
        deadline = time.monotonic() + 60
        while queue.redis.hget(k.RASA_WRITE + ticket.id, "rasa_write") != "done":
            assert time.monotonic() < deadline, "the restarted desk never finished telling the bot"
            time.sleep(0.1)
        # the killed desk's write had reached Rasa: tried again, it is found there, not made twice
        assert [e["metadata"]["desk_write"] for e in rasa.resumed("c1")] == [ticket.id]
        assert outbox_types(queue, "c1") == ["bot_resumed"]
        # the message it had read is taken over and acknowledged
        while queue.redis.xpending(k.EVENTS_STREAM, k.EVENTS_GROUP)["pending"] != 0:
            assert time.monotonic() < deadline, "the restarted desk never acknowledged"
            time.sleep(0.05)
    finally:
        os.killpg(desk.pid, signal.SIGKILL)
        desk.wait()
        rasa.close()


def outbox_types(queue: Queue, conversation: str) -> List[str]:
    return [m["type"] for m in (json.loads(f["data"]) for _, f in queue.redis.xrange(k.OUTBOX + "web"))
            if m["conversation_id"] == conversation]


def test_rasa_down_at_return_the_ticket_is_returned_and_the_bot_told_when_rasa_is_back(settings, queue):
    """Issue 18: return is one atomic step with a recorded outcome; a Rasa failure leaves the ticket
    returned with `rasa_write: failed`, and the write is tried again until the bot is told."""
    import dataclasses

    rasa = FakeRasa()
    settings = dataclasses.replace(settings, rasa_url=rasa.url)
    ticket = enqueue(queue, "c1")
    token = agents.add_agent(queue.redis, "li", languages=["zh"])

    async def scenario():
        desk = await started(settings)
        try:
            console = await Console.login(desk.port, token)
            assert (await console.ask("claim", ticket_id=ticket.id))["type"] == "ok"
            rasa.down.set()
            answer = await console.ask("return", ticket_id=ticket.id)
            assert (answer["type"], answer["rasa_write"]) == ("ok", "failed"), answer
            assert queue.get(ticket.id).state is State.RETURNED
            assert queue.redis.hget(k.RASA_WRITE + ticket.id, "rasa_write") == "failed"
            assert outbox_types(queue, "c1") == ["agent_joined"]  # not told the bot is back: it is not
            await asyncio.sleep(2.5)  # still down: tried again, still failed
            assert int(queue.redis.hget(k.RASA_WRITE + ticket.id, "attempts")) >= 2
            rasa.down.clear()
            deadline = time.monotonic() + 30
            while queue.redis.hget(k.RASA_WRITE + ticket.id, "rasa_write") != "done":
                assert time.monotonic() < deadline, "the write was never tried again"
                await asyncio.sleep(0.1)
        finally:
            await desk.stop()
            rasa.close()

    asyncio.run(scenario())
    assert [e["metadata"]["desk_write"] for e in rasa.resumed("c1")] == [ticket.id]
    assert outbox_types(queue, "c1") == ["agent_joined", "bot_resumed", "question"]
    assert queue.redis.exists(k.CSAT + ticket.id)  # the survey recorded with the claimant's question
    assert queue.redis.zscore(k.RASA_WRITES_DUE, ticket.id) is None
