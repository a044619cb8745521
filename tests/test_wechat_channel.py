"""The WeChat channel end to end: the gateway process (WeChat's server URL) and the real Rasa
server behind it, with WeChat's API faked on loopback.

The module starts its own Stack (action server, Rasa, the WeChat gateway) with the WECHAT_*
settings in the environment (Rasa builds the channel from bot/credentials.yml at start) and the
fake API as WECHAT_API_BASE.
"""
from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Optional, Tuple

import pytest
import redis

from bot.channels.wechat import constants as keys
from bot.channels.wechat.crypto import MessageCrypto, signature_of
from bot.channels.wechat.messages import parse_xml
from handoff.outbox import Outbox, message
from handoff.queue import Queue, connect
from handoff.settings import DeskSettings
from tests.conftest import Client, has_chinese, start_stack
from tests.fake_wechat_api import FakeWeChatApi
from core.privacy import identity
from core import redis_keys

pytestmark = pytest.mark.stack

TOKEN = "renben-test-token"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
SLOW_DELAY = 6.0
BUSY_BLOCK = 6.0  # seconds the Rasa process's event loop is held for a "busy-" claimant
RECLAIM_SECONDS = 3
USER_PER_MINUTE = 8
PATH = "/webhooks/wechat/webhook"


@pytest.fixture(scope="module")
def fake_api():
    api = FakeWeChatApi().start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def wechat_stack(model_path, redis_server, tmp_path_factory, fake_api):
    env = {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": fake_api.app_id, "WECHAT_APPSECRET": fake_api.app_secret,
           "WECHAT_AES_KEY": AES_KEY, "WECHAT_API_BASE": fake_api.url, "REDIS_URL": redis_server.url,
           "RENBEN_WECHAT_TEST_DELAY": f"{SLOW_DELAY}:slow-", "RENBEN_WECHAT_TEST_BLOCK": f"{BUSY_BLOCK}:busy-",
           "WECHAT_RECLAIM_SECONDS": str(RECLAIM_SECONDS), "WECHAT_USER_PER_MINUTE": str(USER_PER_MINUTE)}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the stack's processes inherit it
    try:
        running = start_stack(model_path, tmp_path_factory.mktemp("wechat-var"), redis_url=redis_server.url,
                              services=("actions", "rasa", "wechat"))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    yield running
    running.stop()


@pytest.fixture
def fake(fake_api):
    fake_api.reset()
    yield fake_api


@pytest.fixture(scope="module")
def rclient(redis_server):
    return redis.Redis.from_url(redis_server.url, decode_responses=True)


class Account:
    """Sends what WeChat's servers send to the webhook, signed (and sealed in safe mode): to the
    gateway, the Official Account's server URL, unless `base` names another server."""

    def __init__(self, stack, *, safe: bool = False, base: Optional[str] = None) -> None:
        self.url = (base or stack.wechat_url) + PATH
        self.safe = safe
        self.crypto = MessageCrypto(token=TOKEN, app_id="wxfake0000000001", encoding_aes_key=AES_KEY)

    def signed_query(self, *, bad: bool = False, **extra: str) -> Dict[str, str]:
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        signature = signature_of(TOKEN, timestamp, nonce)
        if bad:
            signature = signature[:-1] + ("0" if signature[-1] != "0" else "1")
        return {"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}

    def request(self, method: str, query: Dict[str, str], body: Optional[bytes] = None) -> Tuple[int, str, float]:
        url = self.url + "?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "text/xml"})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=30) as reply:
                return reply.status, reply.read().decode("utf-8"), time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace"), time.monotonic() - started

    def post(self, xml: str, *, bad_signature: bool = False) -> Tuple[int, str, float]:
        if not self.safe:
            return self.request("POST", self.signed_query(bad=bad_signature), xml.encode("utf-8"))
        query = self.signed_query(bad=bad_signature, encrypt_type="aes")
        envelope = parse_xml(self.crypto.encrypt_reply(xml, nonce=query["nonce"], timestamp=query["timestamp"]))
        query["msg_signature"] = envelope["MsgSignature"]
        body = f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
        return self.request("POST", query, body.encode("utf-8"))

    def open_reply(self, body: str) -> str:
        """The plaintext XML of a safe-mode reply (checking its signature)."""
        envelope = parse_xml(body)
        return self.crypto.decrypt(encrypt=envelope["Encrypt"], msg_signature=envelope["MsgSignature"],
                                   timestamp=envelope["TimeStamp"], nonce=envelope["Nonce"]).xml


def text_xml(openid: str, content: str, msg_id: Optional[str] = None) -> str:
    msg_id = msg_id or str(uuid.uuid4().int)[:18]
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def typed_xml(openid: str, msg_type: str, extra: str = "", created: Optional[int] = None) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
            f"{extra}</xml>")


def content_of(body: str) -> str:
    fields = parse_xml(body)
    assert fields["MsgType"] == "text", body
    return fields["Content"]


def openid(tag: str) -> str:
    return f"o{tag}-{uuid.uuid4().hex[:10]}"


def user_texts(stack, conversation_id: str):
    """The claimant's messages in the tracker; [] when Rasa has no conversation of that id."""
    try:
        return Client(stack.rasa_url, stack.settings.token()).user_texts(conversation_id)
    except urllib.error.HTTPError as error:
        if error.code in (404, 409):
            return []
        raise


# --- URL verification and signatures ---

def test_url_verification_echoes_echostr_and_a_bad_signature_gets_403(wechat_stack):
    account = Account(wechat_stack)
    status, body, _ = account.request("GET", account.signed_query(echostr="1234567890abc"))
    assert (status, body) == (200, "1234567890abc")
    status, body, _ = account.request("GET", account.signed_query(bad=True, echostr="1234567890abc"))
    assert status == 403 and "1234567890abc" not in body


def test_a_message_with_a_bad_signature_gets_403_and_is_not_processed(wechat_stack):
    account, user = Account(wechat_stack), openid("bad")
    status, _, _ = account.post(text_xml(user, "你好"), bad_signature=True)
    assert status == 403
    assert user_texts(wechat_stack, identity.wechat_conversation_id(user)) == []


def test_safe_mode_with_a_bad_msg_signature_gets_403(wechat_stack):
    account = Account(wechat_stack, safe=True)
    query = account.signed_query(encrypt_type="aes", msg_signature="0" * 40)
    envelope = parse_xml(account.crypto.encrypt_reply(text_xml(openid("x"), "hi"), nonce="n", timestamp="1"))
    body = f"<xml><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>".encode()
    assert account.request("POST", query, body)[0] == 403


@pytest.mark.parametrize("body", [
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    '<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType><Content>&b;</Content></xml>',
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY s SYSTEM "file:///etc/passwd">]>'
    '<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType><Content>&s;</Content></xml>',
], ids=["bomb", "external-entity"])
def test_an_xml_bomb_and_an_external_entity_are_refused(wechat_stack, body):
    account = Account(wechat_stack)
    status, reply, _ = account.request("POST", account.signed_query(), body.encode())
    assert status == 400 and "passwd" not in reply and "root:" not in reply


# --- answers ---

def test_a_chinese_question_gets_a_passive_chinese_reply(wechat_stack, fake):
    account, user = Account(wechat_stack), openid("zh")
    status, body, elapsed = account.post(text_xml(user, "失业保险金怎么申请？"))
    assert status == 200, body
    fields = parse_xml(body)
    assert fields["ToUserName"] == user and fields["FromUserName"] == "gh_test"
    assert has_chinese(fields["Content"]) and elapsed < 4.9
    assert len(fields["Content"].encode()) <= keys.TEXT_LIMIT_BYTES
    assert user_texts(wechat_stack, identity.wechat_conversation_id(user)) == ["失业保险金怎么申请？"]


def test_subscribe_gets_the_bilingual_welcome_once_across_retries(wechat_stack):
    account, user = Account(wechat_stack), openid("sub")
    event = typed_xml(user, "event", "<Event><![CDATA[subscribe]]></Event>", created=1700000123)
    replies = [account.post(event) for _ in range(3)]
    assert all(status == 200 for status, _, _ in replies)
    welcome = content_of(replies[0][1])
    assert has_chinese(welcome) and "Hello" in welcome
    assert all(content_of(body) == welcome for _, body, _ in replies[1:])


def test_voice_with_recognition_is_answered_and_without_it_asks_to_type(wechat_stack):
    account, user = Account(wechat_stack), openid("voice")
    status, body, _ = account.post(typed_xml(
        user, "voice", f"<MediaId>m</MediaId><Format>amr</Format><Recognition><![CDATA[养老金怎么领取]]></Recognition>"
                       f"<MsgId>{uuid.uuid4().int % 10**18}</MsgId>"))
    assert status == 200 and has_chinese(content_of(body))
    assert user_texts(wechat_stack, identity.wechat_conversation_id(user)) == ["养老金怎么领取"]
    status, body, _ = account.post(typed_xml(user, "voice", f"<MediaId>m</MediaId><MsgId>{uuid.uuid4().int % 10**18}</MsgId>"))
    assert status == 200 and "文字" in content_of(body)


def test_an_image_from_an_english_claimant_gets_an_english_answer_and_the_offer_of_a_person(wechat_stack):
    account, user = Account(wechat_stack), openid("img")
    assert account.post(text_xml(user, "Hello, how do I apply for unemployment benefit?"))[0] == 200
    status, body, _ = account.post(typed_xml(user, "image", f"<PicUrl>http://x/p.jpg</PicUrl><MsgId>{uuid.uuid4().int % 10**18}</MsgId>"))
    answer = content_of(body)
    assert status == 200 and "picture" in answer and "1. Talk to a person" in answer and not has_chinese(answer)


@pytest.mark.parametrize("msg_type", ["location", "link", "video", "hologram"])
def test_other_types_get_a_polite_answer_never_an_error(wechat_stack, msg_type):
    account, user = Account(wechat_stack), openid("t")
    status, body, _ = account.post(typed_xml(user, msg_type, f"<MsgId>{uuid.uuid4().int % 10**18}</MsgId>"))
    assert status == 200
    assert "1. " in content_of(body) and has_chinese(content_of(body))


def test_a_message_retried_three_times_is_processed_once(wechat_stack):
    account, user = Account(wechat_stack), openid("retry")
    xml = text_xml(user, "医疗保险报销需要什么材料")
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: account.post(xml), range(3)))
    assert all(status == 200 for status, _, _ in replies)
    assert user_texts(wechat_stack, identity.wechat_conversation_id(user)) == ["医疗保险报销需要什么材料"]
    answered = [body for _, body, _ in replies if body != "success"]
    assert answered and all(content_of(b) == content_of(answered[0]) for b in answered)


def test_safe_mode_end_to_end(wechat_stack):
    account, user = Account(wechat_stack, safe=True), openid("aes")
    status, body, _ = account.post(text_xml(user, "工伤保险怎么认定"))
    assert status == 200 and "<Encrypt>" in body and "工伤" not in body
    fields = parse_xml(account.open_reply(body))
    assert fields["ToUserName"] == user and has_chinese(fields["Content"])


# --- the customer-service API ---

def test_a_slow_answer_gets_success_at_once_then_arrives_through_the_api_with_one_token(wechat_stack, fake):
    account = Account(wechat_stack)
    users = [f"slow-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    fetches_before = fake.token_fetches
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda u: account.post(text_xml(u, "养老保险缴费满多少年可以领取")), users))
    for status, body, elapsed in replies:
        assert (status, body) == (200, "success") and elapsed < 4.9
    for user in users:
        texts = fake.wait_for(lambda: fake.texts_to(user), timeout=SLOW_DELAY + 30)
        assert has_chinese(texts[0])
    assert fake.token_fetches - fetches_before <= 1  # cached in Redis and shared


def test_an_invalid_token_40001_is_refreshed_at_once_and_the_message_delivered(wechat_stack, fake):
    account, user = Account(wechat_stack), f"slow-{uuid.uuid4().hex[:8]}"
    fake.expire_tokens()
    fetches_before = fake.token_fetches
    assert account.post(text_xml(user, "生育保险待遇有哪些"))[1] == "success"
    fake.wait_for(lambda: fake.texts_to(user), timeout=SLOW_DELAY + 30)
    assert fake.token_fetches == fetches_before + 1


def test_45015_is_not_retried_and_is_reported_for_the_desk(wechat_stack, fake, rclient):
    account, user = Account(wechat_stack), f"slow-{uuid.uuid4().hex[:8]}"
    fake.fail_next(45015, touser=user)  # a late send to an earlier test's claimant must not take it
    assert account.post(text_xml(user, "社保卡丢了怎么办"))[1] == "success"

    def reported():
        for _id, fields in rclient.xrange(redis_keys.WECHAT_DELIVERY_ERRORS):
            entry = json.loads(fields["data"])
            if entry["conversation_id"] == identity.wechat_conversation_id(user):
                return entry
        return None
    entry = fake.wait_for(reported, timeout=SLOW_DELAY + 30)
    assert entry["errcode"] == 45015 and entry["reason"] == "reply_window_closed" and entry["source"] == "bot"
    time.sleep(1.0)
    assert fake.texts_to(user) == [] and len(fake.refused) == 1


# --- handoff ---

def test_a_chinese_conversation_reaches_the_desk_and_the_agents_reply_reaches_the_claimant(
        wechat_stack, fake, redis_server, rclient):
    account, user = Account(wechat_stack), openid("handoff")
    cid = identity.wechat_conversation_id(user)
    status, body, _ = account.post(text_xml(user, "请问失业金每个月能领多少钱"))
    assert status == 200 and has_chinese(content_of(body))
    status, body, _ = account.post(text_xml(user, "我要找人工客服"))
    assert status == 200
    queue = Queue(connect(redis_server.url), DeskSettings.from_env({"REDIS_URL": redis_server.url}))
    ticket = queue.open_ticket(cid)
    assert ticket is not None and ticket.channel == "wechat" and ticket.language == "zh"
    if body != "success":
        assert has_chinese(content_of(body))  # what happens next, in Chinese

    outbox = Outbox(rclient)
    outbox.send("wechat", message("agent_joined", conversation_id=cid, language="zh", agent_name="王"))
    outbox.send("wechat", message("agent_message", conversation_id=cid, language="zh", agent_name="王",
                                  text="您好，我来帮您查一下失业金的标准。"))
    def from_desk():  # a long first answer may have sent its second part through the API too
        found = [t for t in fake.texts_to(user) if "王" in t]
        return len(found) >= 2 and found
    texts = fake.wait_for(from_desk, timeout=20)
    assert texts == ["人工客服王已加入对话，请直接回复。", "人工客服王：您好，我来帮您查一下失业金的标准。"]

    # the claimant's next message is recorded for the agent; the bot stays quiet
    status, body, _ = account.post(text_xml(user, "好的谢谢"))
    assert (status, body) == (200, "success")
    assert user_texts(wechat_stack, cid)[-1] == "好的谢谢"

    # 45047 during the handoff: the desk is told the claimant must write again
    fake.fail_next(45047, touser=user)
    entry_id = message("agent_message", conversation_id=cid, language="zh", text="还有其他问题吗？")
    outbox.send("wechat", entry_id)

    def reported():
        return [json.loads(f["data"]) for _i, f in rclient.xrange(redis_keys.WECHAT_DELIVERY_ERRORS)
                if json.loads(f["data"])["entry_id"] == entry_id["id"]]
    [error] = fake.wait_for(reported, timeout=20)
    assert error["errcode"] == 45047 and error["reason"] == "quota_exceeded" and error["source"] == "outbox"
    assert rclient.xpending(redis_keys.WECHAT_OUTBOX_STREAM, redis_keys.WECHAT_OUTBOX_GROUP)["pending"] == 0


def test_a_digit_answers_the_numbered_offer_of_a_person(wechat_stack, redis_server):
    account, user = Account(wechat_stack), openid("digit")
    status, body, _ = account.post(typed_xml(user, "location", f"<Label>x</Label><MsgId>{uuid.uuid4().int % 10**18}</MsgId>"))
    assert status == 200 and "1. 转人工客服" in content_of(body)
    assert account.post(text_xml(user, "１"))[0] == 200
    queue = Queue(connect(redis_server.url), DeskSettings.from_env({"REDIS_URL": redis_server.url}))
    ticket = queue.open_ticket(identity.wechat_conversation_id(user))
    assert ticket is not None and ticket.channel == "wechat"


def test_a_claimant_over_the_per_minute_limit_is_asked_to_wait_not_ignored(wechat_stack):
    account, user = Account(wechat_stack), openid("flood")
    bodies = [account.post(text_xml(user, f"你好{n}"))[1] for n in range(USER_PER_MINUTE + 1)]
    assert all("稍等一分钟" not in body for body in bodies[:USER_PER_MINUTE])
    assert "稍等一分钟" in content_of(bodies[-1])  # a polite answer, not silence
    said = user_texts(wechat_stack, identity.wechat_conversation_id(user))
    assert len(said) == USER_PER_MINUTE  # the one over the limit did not reach the bot


# --- the gateway and the Rasa side apart ---

def test_the_gateway_answers_in_time_while_rasa_is_busy_and_the_answers_arrive_later(wechat_stack, fake):
    """The Rasa process's event loop is held for BUSY_BLOCK seconds (as NLU holds it under load):
    every request still gets its HTTP answer before WeChat's 5 s, and every answer arrives."""
    account = Account(wechat_stack)
    busy, others = f"busy-{uuid.uuid4().hex[:8]}", [openid("wait") for _ in range(5)]
    with ThreadPoolExecutor(6) as pool:
        held = pool.submit(account.post, text_xml(busy, "养老保险缴费满多少年可以领取"))
        time.sleep(0.5)  # Rasa has taken the busy message and its loop is held
        replies = list(pool.map(lambda user: account.post(text_xml(user, "失业保险金怎么申请？")), others))
        replies.append(held.result())
    for status, body, elapsed in replies:
        assert status == 200 and elapsed < 4.9, (status, body, elapsed)
    assert replies[-1][1] == "success"
    for user, (_, body, _) in zip(others + [busy], replies):
        if body == "success":  # the answer comes through the customer-service API
            assert has_chinese(fake.wait_for(lambda: fake.texts_to(user), timeout=BUSY_BLOCK + 30)[0])
        else:
            assert has_chinese(content_of(body))
        assert user_texts(wechat_stack, identity.wechat_conversation_id(user))[-1] in ("失业保险金怎么申请？", "养老保险缴费满多少年可以领取")
    assert sum(body == "success" for _, body, _ in replies) >= 2  # not all answered before the hold


def test_a_message_whose_rasa_process_died_is_taken_over_and_answered(wechat_stack, fake, rclient):
    """A Rasa process read the message and died; the gateway had answered `success` at its
    deadline. The living Rasa process takes the message over and sends the answer."""
    from bot.channels.wechat.inbox import Job, encode_job

    user = openid("orphan")
    key = str(uuid.uuid4().int % 10**18)
    job = Job(key=key, openid=user, text="工伤保险怎么认定", msg_type="text", msg_id=key, deadline=time.time() - 1)
    rclient.set(redis_keys.WECHAT_TURN + key, "async", ex=3600)  # what the gateway's give_up leaves
    # Written and read by the dead consumer in one transaction, so the living one never sees it new.
    pipe = rclient.pipeline(transaction=True)
    pipe.xadd(redis_keys.WECHAT_INBOX_STREAM, encode_job(job))
    pipe.xreadgroup(redis_keys.WECHAT_INBOX_GROUP, "rasa-gone", {redis_keys.WECHAT_INBOX_STREAM: ">"}, count=1)
    entry_id, read = pipe.execute()
    assert read[0][1][0][0] == entry_id
    texts = fake.wait_for(lambda: fake.texts_to(user), timeout=RECLAIM_SECONDS + 30)
    assert has_chinese(texts[0])
    assert user_texts(wechat_stack, identity.wechat_conversation_id(user)) == ["工伤保险怎么认定"]  # once
    assert fake.wait_for(lambda: rclient.get(redis_keys.WECHAT_TURN + key) == "sent", timeout=10)
    time.sleep(RECLAIM_SECONDS + 2.5)  # never taken over a second time
    assert len(fake.texts_to(user)) == len(texts)


def test_a_message_handled_before_its_process_died_is_answered_from_the_tracker_not_run_again(
        wechat_stack, fake, rclient):
    """The dead process had saved the bot's turn but not sent the answer: the living process
    sends the saved answer, and the tracker keeps the message once."""
    from bot.channels.wechat.inbox import Job, encode_job

    account, user, key = Account(wechat_stack), openid("saved"), str(uuid.uuid4().int % 10**18)
    assert account.post(text_xml(user, "你好"))[0] == 200  # the session starts (privacy notice)
    time.sleep(1.0)  # the rest of a long answer goes out through the API
    first = len(fake.texts_to(user))
    status, body, _ = account.post(text_xml(user, "工伤保险怎么认定", msg_id=key))
    assert status == 200 and has_chinese(content_of(body))
    time.sleep(1.0)
    before = list(fake.texts_to(user))
    answered = [content_of(body)] + before[first:]
    assert user_texts(wechat_stack, identity.wechat_conversation_id(user)) == ["你好", "工伤保险怎么认定"]

    # As if the process had stopped after saving the turn: the gateway gave up, nothing was sent,
    # and the entry is still pending on the dead consumer.
    rclient.set(redis_keys.WECHAT_TURN + key, "async", ex=3600)
    job = Job(key=key, openid=user, text="工伤保险怎么认定", msg_type="text", msg_id=key, deadline=time.time() - 1)
    pipe = rclient.pipeline(transaction=True)
    pipe.xadd(redis_keys.WECHAT_INBOX_STREAM, encode_job(job))
    pipe.xreadgroup(redis_keys.WECHAT_INBOX_GROUP, "rasa-gone", {redis_keys.WECHAT_INBOX_STREAM: ">"}, count=1)
    pipe.execute()
    assert fake.wait_for(lambda: rclient.get(redis_keys.WECHAT_TURN + key) == "sent", timeout=RECLAIM_SECONDS + 30)
    time.sleep(1.0)
    assert fake.texts_to(user)[len(before):] == answered  # the answer it had, from the tracker
    assert user_texts(wechat_stack, identity.wechat_conversation_id(user)) == ["你好", "工伤保险怎么认定"]  # not run again


def test_the_old_route_on_the_rasa_server_still_answers_through_the_inbox(wechat_stack):
    account, user = Account(wechat_stack, base=wechat_stack.rasa_url), openid("old")
    status, body, _ = account.post(text_xml(user, "医疗保险报销需要什么材料"))
    assert status == 200 and has_chinese(content_of(body))
    assert user_texts(wechat_stack, identity.wechat_conversation_id(user)) == ["医疗保险报销需要什么材料"]
    status, body, _ = account.request("GET", account.signed_query(echostr="abc123"))
    assert (status, body) == (200, "abc123")


def test_after_a_person_returns_the_conversation_a_numbered_reply_rates_the_help(wechat_stack, fake, redis_server):
    """The desk's satisfaction question reaches WeChat as numbered options; "4" is the rating 4 (issue 16)."""
    import asyncio

    from handoff import agents
    from handoff.csat_store import CsatStore
    from handoff.server import Desk
    from tests.test_desk_server import Console

    account, user = Account(wechat_stack), openid("csat")
    cid = identity.wechat_conversation_id(user)
    assert account.post(text_xml(user, "请问失业金每个月能领多少钱"))[0] == 200
    assert account.post(text_xml(user, "我要找人工客服"))[0] == 200
    settings = DeskSettings(redis_url=redis_server.url, rasa_url=wechat_stack.rasa_url,
                            rasa_token=wechat_stack.settings.token(), port=0, sweep_interval_seconds=0.2)
    queue = Queue(connect(redis_server.url), settings)
    ticket = queue.open_ticket(cid)
    token = agents.add_agent(queue.redis, f"wx-csat-{uuid.uuid4().hex[:6]}", languages=["zh"])

    async def agent_returns() -> None:
        desk = await Desk.create(settings).serve(port=0)
        try:
            console = await Console.login(desk.port, token)
            assert (await console.ask("claim", ticket_id=ticket.id))["type"] == "ok"
            assert (await console.ask("return", ticket_id=ticket.id))["type"] == "ok"
        finally:
            await desk.stop()

    asyncio.run(agent_returns())
    question = fake.wait_for(lambda: [t for t in fake.texts_to(user) if "1. 1 很不满意" in t], timeout=20)
    assert "5. 5 非常满意" in question[0] and "满意吗" in question[0]
    status, body, _ = account.post(text_xml(user, "4"))
    assert status == 200
    if body == "success":  # answered through the API instead of the passive reply
        reply = fake.wait_for(lambda: [t for t in fake.texts_to(user) if "谢谢您的评分" in t], timeout=20)[0]
    else:
        reply = content_of(body)
    assert "谢谢您的评分" in reply and "1. 好的" in reply  # and the offer of a comment, numbered too
    survey = CsatStore(queue.redis).get(ticket.id)
    assert (survey.score, survey.channel, survey.language) == (4, "wechat", "zh")


def test_an_answer_handed_to_a_gateway_that_died_goes_through_the_api_after_wechats_last_try(
        wechat_stack, fake, rclient):
    """The gateway is stopped while it waits for the bot, so the passive answer the Rasa side
    hands it is never collected, then killed; no gateway is back before WeChat's last try. The
    Rasa side takes the answer back and sends it through the customer-service API, once."""
    from bot.channels.wechat.constants import UNCOLLECTED_AFTER

    account, user, key = Account(wechat_stack), openid("gone"), str(uuid.uuid4().int % 10**18)
    question, gateway = "失业保险金怎么申请？", wechat_stack.processes["wechat"]

    def wechat_sends() -> object:
        try:
            return account.post(text_xml(user, question, msg_id=key))
        except OSError as error:  # the gateway died under the request
            return error

    sent_at = time.monotonic()
    try:
        with ThreadPoolExecutor(1) as pool:
            request = pool.submit(wechat_sends)
            # In the inbox (until handled), the gateway waiting for the answer: stop it there.
            fake.wait_for(lambda: any(key in fields.get("data", "") for _, fields in
                                      rclient.xrange(redis_keys.WECHAT_INBOX_STREAM)), timeout=10)
            os.killpg(gateway.pid, signal.SIGSTOP)
            offered = fake.wait_for(lambda: (rclient.get(redis_keys.WECHAT_TURN + key) or "").startswith("passive:"),
                                    timeout=30)
            assert offered and time.monotonic() - sent_at < 4.5  # handed over in time for a passive reply
            os.killpg(gateway.pid, signal.SIGKILL)
            gateway.wait(timeout=10)
            assert isinstance(request.result(timeout=30), OSError)
        texts = fake.wait_for(lambda: fake.texts_to(user), timeout=4.5 + UNCOLLECTED_AFTER + 20)
        arrived = time.monotonic() - sent_at
        assert arrived >= 4.5 + UNCOLLECTED_AFTER - 1.0, arrived  # only once WeChat's tries were over
        assert has_chinese(texts[0]) and any("失业" in text for text in texts), texts
        assert fake.wait_for(lambda: rclient.get(redis_keys.WECHAT_TURN + key) == "sent", timeout=10)
        time.sleep(2.0)  # room for a second copy, were there one
        assert fake.texts_to(user) == texts
        assert user_texts(wechat_stack, identity.wechat_conversation_id(user)) == [question]
    finally:
        if gateway.poll() is None:
            os.killpg(gateway.pid, signal.SIGKILL)
            gateway.wait(timeout=10)
        wechat_stack.restart("wechat")
        deadline = time.monotonic() + 60
        while not wechat_stack.healthy("wechat") and time.monotonic() < deadline:
            time.sleep(0.5)
