"""The doors an attacker would try (issue 14), through the real stack on its own embedded Redis.

Each test is what someone who knows a conversation id, or can reach a port, would run: the REST
channel without the API token or aimed at a widget or WeChat conversation, the action server
without its secret, the Rasa token in `ps`, hostile frames and bodies; and after an erasure, a
byte search of every file under var/ for the claimant's identifiers.
"""
from __future__ import annotations

import asyncio
import json
import os
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import redis
import websockets
from websockets.frames import Opcode

from core.privacy import disk
from core.redis_keys import AUDIT_STREAM
from conftest import Client, start_stack
from test_web_channel import Widget, ws_url

pytestmark = pytest.mark.stack

# The claimant's identifiers: a valid resident ID, a mobile, a card that passes Luhn, and a card
# number with a typo (fails Luhn) written right after its label.
RESIDENT_ID = "440106199003071235"
PHONE = "13912345678"
CARD = "6222021234567890128"
CARD_TYPO = "6222021234567890124"
IDENTIFIERS = (RESIDENT_ID, PHONE, CARD, CARD_TYPO)
STORY = (f"我叫王芳,身份证号{RESIDENT_ID},手机{PHONE},失业金打到银行卡{CARD}了吗?"
         f"另一张银行卡号 {CARD_TYPO} 也可以。")


@pytest.fixture(scope="module")
def own_stack(model_path, tmp_path_factory):
    """The action server and Rasa with the embedded Redis, persisted, as under `make run`."""
    running = start_stack(model_path, tmp_path_factory.mktemp("doors-var"), redis_url=None)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api(own_stack) -> Client:
    return Client(own_stack.rasa_url, own_stack.settings.token())


@pytest.fixture(scope="module")
def store(own_stack) -> "redis.Redis[str]":
    return redis.Redis.from_url(own_stack.redis_url, decode_responses=True)


def post(url: str, body: Any, headers: Optional[Dict[str, str]] = None) -> tuple:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def open_widget(stack, text: str) -> tuple:
    """A widget conversation with one message answered: (conversation id, session token)."""
    async def scenario():
        widget = Widget(ws_url(stack))
        session = await widget.open(language="zh")
        await widget.ack_of(await widget.say(text))
        await widget.ws.close()
        return session["conversation_id"], session["token"]

    return asyncio.run(scenario())


# ----------------------------------------------------------------------------- the REST channel

def test_the_rest_channel_needs_the_api_token(own_stack, api):
    url = own_stack.rasa_url + "/webhooks/rest/webhook"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + api.token}):
        status, reply = post(url, {"sender": "crm-1", "message": "你好"}, headers)
        assert status == 401 and reply["error"]["code"] == "unauthorised"
    assert post(url + "?token=wrong", {"sender": "crm-1", "message": "你好"})[0] == 401
    assert post(url, {"sender": "crm-1", "message": "你好"}, {"Authorization": f"Bearer {api.token}"})[0] == 200


@pytest.mark.parametrize("text", ["你保存了我的什么信息", "我要找人工", "删除我的数据"])
def test_the_rest_channel_cannot_reach_a_widget_conversation(own_stack, api, text):
    conversation_id, _ = open_widget(own_stack, "我的手机是13700001111")
    before = api.tracker(conversation_id)["events"]
    status, reply = api.raw("/webhooks/rest/webhook", json.dumps({"sender": conversation_id, "message": text}).encode())
    assert status == 403 and reply["error"]["code"] == "sender_reserved"
    assert "13700001111" not in json.dumps(reply)
    assert api.tracker(conversation_id)["events"] == before


def test_the_rest_channel_cannot_reach_a_wechat_conversation(api):
    for sender in ("wx-oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "wx-"):
        status, reply = api.raw("/webhooks/rest/webhook", json.dumps({"sender": sender, "message": "删除我的数据"}).encode())
        assert status == 403 and reply["error"]["code"] == "sender_reserved"


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_deeply_nested_json_gets_a_typed_400(api):
    for body in (b"[" * 100_000 + b"]" * 100_000,
                 json.dumps({"sender": "crm-2", "message": "hi", "metadata": {"a": nested(20)}}).encode()):
        status, reply = api.raw("/webhooks/rest/webhook", body)
        assert status == 400 and reply["error"]["code"] == "too_deep"


# ----------------------------------------------------------------------------- the action server

def erase_call(sender: str) -> Dict[str, Any]:
    return {"next_action": "action_erase_data", "sender_id": sender, "version": "3.6.21",
            "tracker": {"sender_id": sender, "slots": {}, "latest_message": {"text": "是"},
                        "events": [{"event": "user", "text": "是", "input_channel": "rest"}], "paused": False,
                        "latest_input_channel": "rest", "latest_action_name": "action_listen", "active_loop": {}},
            "domain": {}}


def test_the_action_server_refuses_a_call_without_the_secret_and_erases_nothing(own_stack, api, store):
    sender = f"crm-doors-{os.getpid()}"
    api.say(sender, "我要找人工")
    before = len(api.tracker(sender)["events"])
    audits = store.xlen(AUDIT_STREAM)
    url = own_stack.actions_url + "/webhook"
    for headers in ({}, {"Authorization": "Bearer not-the-secret"}):
        status, reply = post(url, erase_call(sender), headers)
        assert status == 401 and reply["error"]["code"] == "unauthorised"
    status, _ = post(own_stack.actions_url + "/actions", b"", {})
    assert status == 401
    assert len(api.tracker(sender)["events"]) == before
    assert store.xlen(AUDIT_STREAM) == audits
    with urllib.request.urlopen(own_stack.actions_url + "/health", timeout=10) as reply:  # names checks only
        assert json.load(reply) == {"status": "ok", "checks": {"redis": True, "tracker_store": True}}


def listening_addresses(port: int) -> List[str]:
    """The local addresses a TCP port listens on, from /proc/net/tcp{,6}."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.append(address)
    return found


def test_the_action_server_and_rasa_listen_on_loopback_only(own_stack):
    for port in (own_stack.settings.actions_port, own_stack.settings.rasa_port):
        assert listening_addresses(port) == ["0100007F"], port  # 127.0.0.1, not 0.0.0.0


def test_no_secret_is_on_a_command_line(own_stack):
    secrets = [own_stack.settings.token(), own_stack.settings.actions_secret(),
               own_stack.settings.embedded_redis_password()]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        for secret in secrets:
            assert secret.encode() not in command, command[:200]


def test_the_embedded_redis_needs_its_password(own_stack):
    port = int(own_stack.redis_url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=port).get("x")


# ----------------------------------------------------------------------------- the widget

def test_an_invalid_utf8_frame_is_answered_and_its_bytes_never_reach_the_log(own_stack, api):
    async def scenario():
        widget = Widget(ws_url(own_stack))
        session = await widget.open()
        raw = b'{"type":"message","id":"bad-utf8","text":"\xff\xfeNOT-IN-LOG \xe5\xa4\xb1\xe4\xb8\x9a\xe9\x87\x91"}'
        await widget.ws.write_frame(True, Opcode.TEXT, raw)  # a text frame no client library would send
        ack = await widget.ack_of("bad-utf8")
        binary = await widget.wait_for(lambda f: f["type"] == "error", start=len(widget.frames)) \
            if await widget.ws.send(b"\xff\xfe") is None else None
        await widget.ws.close()
        return session["conversation_id"], ack, binary, widget.bot_texts()

    conversation_id, ack, binary, texts = asyncio.run(scenario())
    assert ack["type"] == "ack" and texts  # answered, not dropped
    assert binary["code"] == "binary_frame"
    assert "NOT-IN-LOG 失业金" in api.user_texts(conversation_id)[-1]
    for log in own_stack.logs.glob("*.log"):
        assert b"NOT-IN-LOG" not in log.read_bytes(), log


def test_one_address_cannot_hold_unlimited_sockets(own_stack):
    limit = 50

    async def scenario():
        sockets = [await websockets.connect(ws_url(own_stack)) for _ in range(limit)]
        extra = await websockets.connect(ws_url(own_stack))
        frame = json.loads(await asyncio.wait_for(extra.recv(), 10))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(extra.recv(), 10)
        code = extra.close_code
        await sockets[0].close()
        await asyncio.sleep(0.3)
        again = await websockets.connect(ws_url(own_stack))  # a place came free
        await again.send(json.dumps({"type": "hello", "language": "en"}))
        session = json.loads(await asyncio.wait_for(again.recv(), 10))
        for socket in sockets[1:] + [again]:
            await socket.close()
        return frame, code, session

    frame, code, session = asyncio.run(scenario())
    assert frame["code"] == "too_many_sockets" and code == 1013
    assert session["type"] == "session"


# ----------------------------------------------------------------------------- erasure on disk

def files_holding(directory: Path, needles) -> Dict[str, List[str]]:
    """{identifier: [files under directory whose bytes contain it]}."""
    found: Dict[str, List[str]] = {}
    for path in directory.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in needles:
                if needle.encode() in data:
                    found.setdefault(needle, []).append(str(path.relative_to(directory)))
    return found


def wait_until_clean(stack, store, needles, timeout: float = 60.0) -> Dict[str, List[str]]:
    deadline = time.monotonic() + timeout
    while True:
        disk.wait_for_rewrite(store, timeout=10)
        left = files_holding(stack.settings.var_dir, needles)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def test_after_a_claimants_erasure_no_identifier_is_left_in_any_file(own_stack, api, store):
    conversation_id, token = open_widget(own_stack, STORY)
    other = f"crm-other-{os.getpid()}"
    api.say(other, "养老金怎么领")  # someone else's conversation stays
    store.bgrewriteaof()  # the identifiers are in the files now, as they would be after a while
    disk.wait_for_rewrite(store)
    assert set(files_holding(own_stack.settings.var_dir, IDENTIFIERS)) == set(IDENTIFIERS)

    async def come_back_and_erase() -> List[str]:  # the same claimant, with their session token
        widget = Widget(ws_url(own_stack))
        await widget.open(token=token)
        await widget.ack_of(await widget.say("删除我的数据"))
        await widget.ack_of(await widget.say("是"))
        texts = widget.bot_texts()
        await widget.ws.close()
        return texts

    texts = asyncio.run(come_back_and_erase())
    assert any("已删除" in t or "删除了" in t for t in texts), texts
    left = wait_until_clean(own_stack, store, IDENTIFIERS)
    assert not left, left
    assert api.user_texts(other) == ["养老金怎么领"]
    erasures = [fields for _, fields in store.xrange(AUDIT_STREAM) if fields.get("action") == "erase"]
    assert erasures and all(PHONE not in json.dumps(f) for f in erasures)


def test_an_operators_erasure_leaves_no_identifier_in_any_file(own_stack, api, store):
    sender = f"crm-operator-{os.getpid()}"
    api.say(sender, STORY)
    import subprocess
    import sys

    env = {**os.environ, "RENBEN_VAR_DIR": str(own_stack.settings.var_dir), "REDIS_URL": own_stack.redis_url}
    done = subprocess.run([sys.executable, "-m", "core.privacy", "erase", sender], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    left = wait_until_clean(own_stack, store, IDENTIFIERS)
    assert not left, left


def test_files_under_var_are_private(own_stack, api):
    api.say(f"crm-modes-{os.getpid()}", "你好")
    var = own_stack.settings.var_dir
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    for path in var.rglob("*"):
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    assert (var / "tracker.db").exists() and (var / "redis" / "appendonly.aof").exists()
