"""Faults against the real processes (issue 17, items 1, 3 and 4), on a Redis of their own that
the tests kill: every process's /health says what it reaches and nothing more; during a Redis
outage it says 503 and a widget `hello` is closed with 1013 rather than left without a worker;
after Redis restarts every process is healthy again and a new socket is answered (no stale
connection); a turn in flight when Rasa is killed holds its conversation seconds, not a minute."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple

import pytest
import redis
import websockets

from bot import lock_store
from tooling.launch import Stack
from conftest import Client, start_stack
from test_web_channel import Widget, ws_url

pytestmark = pytest.mark.stack

SERVICES = ("actions", "rasa", "wechat", "desk")


@pytest.fixture(scope="module")
def stack(model_path, tmp_path_factory):
    """Every process with a health route, and the embedded Redis the launcher starts (killable)."""
    saved = os.environ.get("WECHAT_TOKEN")
    os.environ["WECHAT_TOKEN"] = "outage-test-token"  # so the gateway connects to Redis
    try:
        running = start_stack(model_path, tmp_path_factory.mktemp("outage-var"), services=SERVICES)
    finally:
        if saved is None:
            os.environ.pop("WECHAT_TOKEN", None)
        else:
            os.environ["WECHAT_TOKEN"] = saved
    yield running
    running.stop()


def health(url: str) -> Tuple[Optional[int], Dict[str, Any], str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            text = reply.read().decode()
            return reply.status, json.loads(text), text
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, json.loads(text), text
    except OSError:
        return None, {}, ""


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout} s: {what}")


def all_health(stack: Stack) -> Dict[str, Tuple[Optional[int], Dict[str, Any], str]]:
    return {name: health(stack.health_urls[name]) for name in SERVICES}


def test_every_process_says_what_it_reaches_and_nothing_more(stack):
    answers = all_health(stack)
    assert {name: status for name, (status, _, _) in answers.items()} == dict.fromkeys(SERVICES, 200), answers
    assert answers["rasa"][1]["checks"] == {"model": True, "redis": True, "tracker_store": True}
    assert answers["actions"][1]["checks"] == {"redis": True, "tracker_store": True}
    assert answers["desk"][1]["checks"] == {"redis": True}
    assert answers["wechat"][1] == {"status": "ok", "checks": {"redis": True}, "configured": True}
    password = stack._redis.password
    for name, (_, _, text) in answers.items():
        assert "://" not in text and password not in text and str(stack._redis.port) not in text, (name, text)


def kill_redis(stack: Stack) -> None:
    stack._redis.process.send_signal(signal.SIGKILL)
    stack._redis.process.wait()


def test_a_redis_outage_is_reported_and_every_process_comes_back(stack):
    kill_redis(stack)
    try:
        wait_for(lambda: all(status == 503 and not body["checks"]["redis"]
                             for status, body, _ in all_health(stack).values()), 20, "503 everywhere")
        assert health(stack.health_urls["rasa"])[1]["checks"]["tracker_store"] is True
    finally:
        stack.restart("redis")
    wait_for(lambda: all(status == 200 for status, _, _ in all_health(stack).values()), 30, "200 everywhere")


def test_a_hello_during_an_outage_is_closed_to_reconnect_and_the_next_socket_is_answered(stack):
    async def hello() -> Any:
        socket = await websockets.connect(ws_url(stack))
        await socket.send(json.dumps({"type": "hello", "token": None, "language": "en", "last_seq": None}))
        frames = []
        try:
            async for data in socket:
                frames.append(json.loads(data))
        except websockets.ConnectionClosed:
            pass
        return socket.close_code, frames

    kill_redis(stack)
    try:
        code, frames = asyncio.run(asyncio.wait_for(hello(), 30))
        assert code == 1013 and [f["code"] for f in frames if f["type"] == "error"] == ["unavailable"], frames
    finally:
        stack.restart("redis")

    async def converse() -> str:  # at once: the channel's pooled connections are stale
        widget = Widget(ws_url(stack))
        await widget.open(language="en")
        message_id = await widget.say("How do I apply for unemployment benefit?")
        await widget.ack_of(message_id, timeout=60)
        await widget.close()
        return " ".join(widget.bot_texts())

    assert "unemployment" in asyncio.run(asyncio.wait_for(converse(), 90)).lower()


def test_a_turn_in_flight_when_rasa_is_killed_holds_its_conversation_seconds_not_a_minute(stack):
    client = Client(stack.rasa_url, stack.settings.token())
    sender = f"crash-{os.getpid()}"
    lock_key = f"renben:lock:{sender}"
    store = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    actions = stack.processes["actions"]
    os.killpg(actions.pid, signal.SIGSTOP)  # the session start's action call now hangs mid-turn
    try:
        in_flight = threading.Thread(target=_say_ignoring_errors, args=(client, sender, "hello"), daemon=True)
        in_flight.start()
        wait_for(lambda: store.get(lock_key) is not None, 30, "the turn holds the lock")
        time.sleep(lock_store.LIFETIME_SECONDS + 2)  # longer than a ticket lives: renewed meanwhile
        assert _expires_in(store, lock_key) > 0
        os.killpg(stack.processes["rasa"].pid, signal.SIGKILL)
        stack.processes["rasa"].wait()
        assert 0 < _expires_in(store, lock_key) <= lock_store.LIFETIME_SECONDS + 0.5
    finally:
        os.killpg(actions.pid, signal.SIGCONT)
    stack.restart("rasa")
    stack._wait_until_up("rasa", stack.health_urls["rasa"], 180)
    started = time.monotonic()
    assert client.say(sender, "How do I apply for unemployment benefit?")
    assert time.monotonic() - started < lock_store.LIFETIME_SECONDS


def _say_ignoring_errors(client: Client, sender: str, text: str) -> None:
    try:
        client.say(sender, text)
    except Exception:  # noqa: BLE001 - Rasa is killed under it
        pass


def _expires_in(store: "redis.Redis[str]", key: str) -> float:
    """Seconds until the conversation's newest ticket expires (Rasa's TicketLock JSON)."""
    tickets = [json.loads(text) for text in json.loads(store.get(key) or '{"tickets": []}')["tickets"]]
    return max(ticket["expires"] for ticket in tickets) - time.time() if tickets else 0.0
