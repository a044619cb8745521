"""The web channel through a real WebSocket client against the real Rasa server (the `stack`)."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from typing import Any, Callable, Dict, List, Optional

import pytest
import redis
import websockets

from core import redis_keys

pytestmark = pytest.mark.stack

MODEL_NOTE = "set RENBEN_TEST_MODEL to skip training"


def ws_url(stack) -> str:
    return stack.rasa_url.replace("http://", "ws://") + "/webhooks/web/ws"


class Widget:
    """A claimant's socket speaking docs/widget-protocol.md, recording every frame it receives."""

    def __init__(self, url: str, **connect: Any) -> None:
        self.url, self.connect_options = url, connect
        self.ws: Any = None
        self.frames: List[Dict[str, Any]] = []
        self.session: Dict[str, Any] = {}
        self._reader: Optional[asyncio.Task] = None

    async def open(self, *, token: Optional[str] = None, language: str = "zh",
                   last_seq: Optional[str] = None) -> Dict[str, Any]:
        self.ws = await websockets.connect(self.url, max_size=2 ** 22, **self.connect_options)
        self.frames = []
        self._reader = asyncio.create_task(self._read())
        await self.send_json({"type": "hello", "token": token, "language": language, "last_seq": last_seq})
        self.session = await self.wait_for(lambda f: f["type"] == "session")
        return self.session

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                self.frames.append(json.loads(data))
        except websockets.ConnectionClosed:
            pass

    async def send_json(self, frame: Dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame, ensure_ascii=False))

    async def say(self, text: str, message_id: Optional[str] = None, **extra: Any) -> str:
        message_id = message_id or uuid.uuid4().hex[:16]
        await self.send_json({"type": "message", "id": message_id, "text": text, **extra})
        return message_id

    async def wait_for(self, predicate: Callable[[Dict[str, Any]], bool], timeout: float = 60.0,
                       start: int = 0) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.frames[start:]:
                if predicate(frame):
                    return frame
            if self._reader.done() and not any(predicate(f) for f in self.frames[start:]):
                raise AssertionError(f"socket closed ({self.ws.close_code}); frames: {self.frames}")
            await asyncio.sleep(0.02)
        raise AssertionError(f"no matching frame within {timeout} s; frames: {self.frames}")

    async def ack_of(self, message_id: str, timeout: float = 60.0) -> Dict[str, Any]:
        return await self.wait_for(lambda f: f["type"] == "ack" and f.get("id") == message_id, timeout)

    def bot_texts(self) -> List[str]:
        return [f["text"] for f in self.frames if f["type"] == "bot"]

    def last_seq(self) -> Optional[str]:
        seqs = [f["seq"] for f in self.frames if "seq" in f]
        return seqs[-1] if seqs else self.session.get("last_seq")

    async def close(self) -> None:
        if self.ws:
            await self.ws.close()
        if self._reader:
            await asyncio.wait([self._reader], timeout=5)


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=240))


def user_events(client, conversation_id: str, message_id: str) -> List[Dict[str, Any]]:
    return [e for e in client.tracker(conversation_id)["events"]
            if e["event"] == "user" and (e.get("metadata") or {}).get("client_message_id") == message_id]


# --- messages, acks, dedupe ---------------------------------------------------------------

def test_a_message_is_answered_then_acknowledged_once_committed(stack, client):
    async def scenario():
        widget = Widget(ws_url(stack))
        session = await widget.open(language="en")
        assert session["restored"] is False and session["token"].startswith("v1.")
        assert session["conversation_id"].startswith("web-") and session["retention_days"] == 90
        message_id = await widget.say("How do I apply for unemployment benefit?")
        ack = await widget.ack_of(message_id)
        assert ack["duplicate"] is False
        replies = [f for f in widget.frames[:widget.frames.index(ack)] if f["type"] == "bot"]
        assert replies and all(f["seq"] for f in replies), widget.frames
        assert "unemployment" in " ".join(f["text"] for f in replies).lower()
        await widget.close()
        return session["conversation_id"], message_id

    conversation_id, message_id = run(scenario())
    assert len(user_events(client, conversation_id, message_id)) == 1


def test_chinese_message_gets_a_chinese_reply(stack):
    async def scenario():
        widget = Widget(ws_url(stack))
        await widget.open(language="zh")
        message_id = await widget.say("养老金怎么领取?")
        await widget.ack_of(message_id)
        await widget.close()
        return " ".join(widget.bot_texts())

    assert any("\u4e00" <= ch <= "\u9fff" for ch in run(scenario()))


def test_a_duplicate_after_reconnect_is_dropped_and_acknowledged_again(stack, client):
    async def scenario():
        widget = Widget(ws_url(stack))
        session = await widget.open(language="en")
        message_id = await widget.say("hello")
        await widget.ack_of(message_id)
        seq = widget.last_seq()
        await widget.close()
        again = Widget(ws_url(stack))
        resumed = await again.open(token=session["token"], language="en", last_seq=seq)
        assert resumed["conversation_id"] == session["conversation_id"] and resumed["history"] == []
        await again.say("hello", message_id, resend=True)
        ack = await again.ack_of(message_id)
        assert ack["duplicate"] is True
        assert again.bot_texts() == []  # nothing handled twice, nothing replayed twice
        # the same id sent twice on one socket: handled once
        second = await again.say("thank you")
        await again.say("thank you", second)
        await again.wait_for(lambda f: f["type"] == "ack" and f["id"] == second and f["duplicate"])
        await again.close()
        return session["conversation_id"], message_id, second

    conversation_id, first, second = run(scenario())
    assert len(user_events(client, conversation_id, first)) == 1
    assert len(user_events(client, conversation_id, second)) == 1


def test_a_resend_never_received_before_is_handled(stack, client):
    async def scenario():
        widget = Widget(ws_url(stack))
        session = await widget.open(language="en")
        message_id = await widget.say("hi there", resend=True)
        ack = await widget.ack_of(message_id)
        assert ack["duplicate"] is False and widget.bot_texts()
        await widget.close()
        return session["conversation_id"], message_id

    conversation_id, message_id = run(scenario())
    assert len(user_events(client, conversation_id, message_id)) == 1


def test_replies_missed_while_away_arrive_after_reconnect(stack):
    async def scenario():
        widget = Widget(ws_url(stack))
        session = await widget.open(language="en")
        seq = widget.last_seq()
        message_id = await widget.say("What documents do I need for a social security card?")
        await widget.ws.close()  # gone before the reply
        again = Widget(ws_url(stack))
        await again.open(token=session["token"], language="en", last_seq=seq)
        await again.say("What documents do I need for a social security card?", message_id, resend=True)
        await again.ack_of(message_id)
        await again.close()
        return again.bot_texts()

    replies = run(scenario())
    assert replies and len(replies) == len(set(replies))


# --- sessions -----------------------------------------------------------------------------

def test_reload_restores_the_conversation_in_order(stack):
    async def scenario():
        widget = Widget(ws_url(stack))
        session = await widget.open(language="zh")
        first = await widget.say("你好")
        await widget.ack_of(first)
        second = await widget.say("医保报销要什么材料?")
        await widget.ack_of(second)
        said = widget.bot_texts()
        await widget.close()
        page = Widget(ws_url(stack))
        restored = await page.open(token=session["token"], language="zh")
        notice = await page.wait_for(lambda f: f["type"] == "notice")
        await page.close()
        return said, restored, notice

    said, restored, notice = run(scenario())
    assert restored["restored"] is True and restored["language"] == "zh"
    history = restored["history"]
    assert [h["text"] for h in history if h["role"] == "user"] == ["你好", "医保报销要什么材料?"]
    assert [h["text"] for h in history if h["role"] == "bot"] == said
    assert not any("隐私提示" in t for t in said)  # the widget shows the notice itself, once
    assert notice["code"] == "session_restored" and "恢复" in notice["text"]


@pytest.mark.parametrize("language, words", [("en", "new one has started"), ("zh", "新的对话")])
def test_a_forged_token_gets_a_new_session_and_a_notice_never_the_conversation(stack, language, words):
    async def scenario():
        owner = Widget(ws_url(stack))
        session = await owner.open(language="en")
        await owner.ack_of(await owner.say("hello, my name is private"))
        await owner.close()
        version, session_id, signature = session["token"].split(".")
        forged_signature = ("A" if signature[0] != "A" else "B") + signature[1:]
        intruder = Widget(ws_url(stack))
        forged = await intruder.open(token=f"{version}.{session_id}.{forged_signature}", language=language)
        notice = await intruder.wait_for(lambda f: f["type"] == "notice")
        await intruder.close()
        return session, forged, notice

    session, forged, notice = run(scenario())
    assert forged["restored"] is False and forged["history"] == []
    assert forged["conversation_id"] != session["conversation_id"]
    assert forged["token"] != session["token"]
    assert notice["code"] == "session_unknown" and words in notice["text"]


# --- limits -------------------------------------------------------------------------------

def test_bad_frames_get_typed_errors_and_the_connection_stays(stack):
    async def scenario():
        widget = Widget(ws_url(stack))
        widget.ws = await websockets.connect(ws_url(stack), max_size=2 ** 22)
        widget._reader = asyncio.create_task(widget._read())
        await widget.send_json({"type": "message", "id": "early", "text": "hi"})
        await widget.wait_for(lambda f: f.get("code") == "hello_required" and f.get("id") == "early")
        await widget.send_json({"type": "hello", "language": "en"})
        await widget.wait_for(lambda f: f["type"] == "session")
        await widget.ws.send("{this is not json")
        await widget.wait_for(lambda f: f.get("code") == "invalid_json")
        await widget.ws.send(b"\x00\x01binary")
        await widget.wait_for(lambda f: f.get("code") == "binary_frame")
        await widget.ws.send(json.dumps({"type": "message", "id": "big", "text": "x" * 40000}))
        await widget.wait_for(lambda f: f.get("code") == "frame_too_large")
        await widget.send_json({"type": "message", "id": "long", "text": "y" * 2001})
        await widget.wait_for(lambda f: f.get("code") == "invalid_message" and f.get("id") == "long")
        await widget.send_json({"type": "subscribe", "id": "x1"})
        await widget.wait_for(lambda f: f.get("code") == "unknown_type")
        message_id = await widget.say("hello")  # still open and working
        await widget.ack_of(message_id)
        await widget.close()

    run(scenario())


def test_flooding_is_refused_with_retry_after_then_closed(stack):
    async def scenario():
        widget = Widget(ws_url(stack))
        session = await widget.open(language="en")
        seq = session["last_seq"]
        for _ in range(25):  # over the burst of 20: refused, still open
            await widget.send_json({"type": "ack", "seq": seq})
        limited = await widget.wait_for(lambda f: f.get("code") == "rate_limited")
        assert 0 < limited["retry_after"] <= 1.0
        notice = await widget.wait_for(lambda f: f["type"] == "notice" and f["code"] == "slow_down")
        assert "wait" in notice["text"]
        await asyncio.sleep(1.2)
        message_id = await widget.say("hello")
        await widget.ack_of(message_id)
        for _ in range(200):  # a flood: closed with 1008
            try:
                await widget.send_json({"type": "ack", "seq": seq})
            except websockets.ConnectionClosed:
                break
        await asyncio.wait([widget._reader], timeout=10)
        assert widget.ws.close_code == 1008
        assert any(f.get("code") == "flooding" for f in widget.frames)

    run(scenario())


def test_origins_not_allowed_are_refused_and_the_own_origin_is_allowed(stack):
    async def scenario():
        own = Widget(ws_url(stack), origin=stack.rasa_url)
        await own.open()
        await own.close()
        foreign = await websockets.connect(ws_url(stack), origin="https://evil.example")
        error = json.loads(await foreign.recv())
        with pytest.raises(websockets.ConnectionClosed):
            await foreign.recv()
        return error, foreign.close_code

    error, code = run(scenario())
    assert error["code"] == "origin_not_allowed" and code == 1008


# --- pushed messages ----------------------------------------------------------------------

def test_messages_from_the_desk_outbox_reach_the_socket_in_order(stack):
    desk = redis.Redis.from_url(stack.redis_url, decode_responses=True)

    async def scenario():
        widget = Widget(ws_url(stack))
        session = await widget.open(language="zh")
        conversation_id = session["conversation_id"]
        for entry in [
            {"type": "queue_position", "position": 2, "estimate_seconds": 120},
            {"type": "agent_joined", "agent_name": "小王", "agent_id": "a-1", "text": "工作人员小王已接入"},
            {"type": "typing"},
            {"type": "agent_message", "text": "<b>您好</b>,我是小王", "agent_id": "a-1", "agent_name": "小王"},
            {"type": "agent_message", "text": "for someone else", "conversation_id": "web-nobody"},
        ]:
            entry = {"id": uuid.uuid4().hex, "conversation_id": conversation_id, "language": "zh",
                     "at": time.time(), **entry}
            desk.xadd(redis_keys.WEB_OUTBOX_STREAM, {"data": json.dumps(entry, ensure_ascii=False)})
        await widget.wait_for(lambda f: f["type"] == "agent_message", timeout=20)
        await widget.close()
        return widget.frames

    frames = run(scenario())
    pushed = [f for f in frames if f["type"] in ("queue_position", "agent_joined", "typing", "agent_message")
              and "seq" in f]
    assert [f["type"] for f in pushed] == ["queue_position", "agent_joined", "typing", "agent_message"]
    assert pushed[0]["position"] == 2 and pushed[0]["estimate_seconds"] == 120
    assert pushed[3]["text"] == "<b>您好</b>,我是小王" and "agent_id" not in pushed[3]
    assert all("for someone else" not in f.get("text", "") for f in frames)


def test_a_desk_message_sent_while_away_arrives_on_reconnect(stack):
    desk = redis.Redis.from_url(stack.redis_url, decode_responses=True)

    async def scenario():
        widget = Widget(ws_url(stack))
        session = await widget.open(language="en")
        seq = widget.last_seq()
        await widget.close()
        entry = {"id": uuid.uuid4().hex, "conversation_id": session["conversation_id"],
                 "type": "agent_message", "text": "Are you still there?", "agent_name": "Li"}
        desk.xadd(redis_keys.WEB_OUTBOX_STREAM, {"data": json.dumps(entry)})
        await asyncio.sleep(1.0)
        again = Widget(ws_url(stack))
        await again.open(token=session["token"], language="en", last_seq=seq)
        await again.wait_for(lambda f: f["type"] == "agent_message", timeout=20)
        await asyncio.sleep(0.5)
        await again.close()
        return [f for f in again.frames if f["type"] == "agent_message"]

    assert [f["text"] for f in run(scenario())] == ["Are you still there?"]


# --- static files -------------------------------------------------------------------------

@pytest.mark.parametrize("path, kind", [("widget.js", "javascript"), ("widget.css", "text/css"),
                                        ("", "text/html")])
def test_the_widget_is_served(stack, path, kind):
    with urllib.request.urlopen(f"{stack.rasa_url}/webhooks/web/{path}", timeout=10) as reply:
        assert reply.status == 200 and kind in reply.headers["Content-Type"]
        assert reply.read()


# --- restart ------------------------------------------------------------------------------

def test_no_message_is_lost_or_doubled_across_a_restart_of_rasa(model_path, redis_server, tmp_path):
    """Its own stack (same Redis and tracker store across the restart)."""
    from tooling.embedded_redis import free_port
    from tooling.launch import Stack
    from core.settings import Settings
    from tests.conftest import Client, start_stack

    var = tmp_path / "var"
    first = start_stack(model_path, var, redis_url=redis_server.url)
    port = first.settings.rasa_port
    url = ws_url(first)
    try:
        async def before():
            widget = Widget(url)
            session = await widget.open(language="en")
            await widget.ack_of(await widget.say("hello"))
            seq = widget.last_seq()
            in_flight = await widget.say("How is my pension calculated?")
            first.processes["rasa"].kill()  # SIGKILL: no chance to finish or to write "done"
            await asyncio.wait([widget._reader], timeout=10)
            return session, seq, in_flight

        session, seq, in_flight = run(before())
    finally:
        first.stop()
    # the same address, as the widget would reconnect to
    second = Stack(Settings(var_dir=var, rasa_port=port, actions_port=free_port(), auth_token="test-token",
                            redis_url=redis_server.url), model_path, services=("actions", "rasa")).start()
    try:
        async def after():
            widget = Widget(url)
            resumed = await widget.open(token=session["token"], language="en", last_seq=seq)
            assert resumed["conversation_id"] == session["conversation_id"]
            await widget.say("How is my pension calculated?", in_flight, resend=True)
            await widget.ack_of(in_flight, timeout=90)
            later = await widget.say("thanks")  # written while up again: handled once
            await widget.ack_of(later)
            await widget.close()
            return later

        later = run(after())
        fresh = Client(second.rasa_url, second.settings.token())
        assert len(user_events(fresh, session["conversation_id"], in_flight)) == 1
        assert len(user_events(fresh, session["conversation_id"], later)) == 1
    finally:
        second.stop()


def test_one_address_over_its_limit_is_told_to_wait_and_nothing_is_lost(model_path, redis_server, tmp_path, monkeypatch):
    from tests.conftest import start_stack
    monkeypatch.setenv("RENBEN_WEB_ADDRESS_PER_MINUTE", "3")  # the stack's processes inherit it
    counters = redis.Redis.from_url(redis_server.url)
    for key in counters.scan_iter(match=redis_keys.WEB_ADDRESS_LIMIT + "*"):  # earlier tests, same address
        counters.delete(key)
    limited = start_stack(model_path, tmp_path, redis_url=redis_server.url)
    try:
        async def scenario():
            widget = Widget(ws_url(limited))
            await widget.open(language="en")
            ids = [await widget.say(text) for text in ("hello", "thanks", "bye", "one more")]
            acks = [await widget.ack_of(message_id) for message_id in ids[:3]]
            refused = await widget.wait_for(lambda f: f["type"] == "error" and f.get("id") == ids[3])
            await widget.close()
            return acks, refused

        acks, refused = run(scenario())
        assert len(acks) == 3
        assert refused["code"] == "rate_limited" and 0 < refused["retry_after"] <= 60
        # Refused, not dropped: the widget keeps it and sends it again after retry_after.
    finally:
        limited.stop()


def test_behind_a_load_balancer_each_claimant_s_address_is_counted(model_path, redis_server, tmp_path, monkeypatch):
    """With SANIC_PROXIES_COUNT (deploy/: nginx, an ingress) the per-address socket limit counts
    the address the balancer forwards, not the balancer's own, which every claimant shares."""
    from tests.conftest import start_stack
    monkeypatch.setenv("SANIC_PROXIES_COUNT", "1")  # the stack's processes inherit both
    monkeypatch.setenv("RENBEN_WEB_SOCKETS_PER_ADDRESS", "1")
    balanced = start_stack(model_path, tmp_path, redis_url=redis_server.url)
    try:
        async def scenario():
            first = Widget(ws_url(balanced), extra_headers={"X-Forwarded-For": "203.0.113.7"})
            await first.open(language="en")
            other = Widget(ws_url(balanced), extra_headers={"X-Forwarded-For": "198.51.100.9"})
            await other.open(language="en")  # another claimant behind the same balancer
            same = await websockets.connect(ws_url(balanced), extra_headers={"X-Forwarded-For": "203.0.113.7"})
            refused = json.loads(await asyncio.wait_for(same.recv(), 10))
            await same.close()
            await first.close()
            await other.close()
            return other.session, refused

        session, refused = run(scenario())
        assert session["type"] == "session"
        assert refused["code"] == "too_many_sockets"
    finally:
        balanced.stop()
