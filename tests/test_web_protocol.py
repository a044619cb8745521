"""The widget's wire protocol, without sockets: frames, dedupe decisions, tokens, rate limit."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from bot.channels.web import protocol as p
from bot.channels.web.exceptions import (BinaryFrame, ConfigError, FrameRejected, FrameTooLarge,
                                         HelloRequired, InvalidJson, InvalidShape, RateLimited,
                                         UnknownType)


def frame(**body) -> str:
    return json.dumps(body)


# --- parsing -------------------------------------------------------------------------------

def test_hello_defaults_to_chinese_and_keeps_token_and_last_seq():
    hello = p.parse_frame(frame(type="hello", token="v1.abc.def", last_seq="1700000000000-3"), in_session=False)
    assert hello == p.Hello(token="v1.abc.def", language="zh", last_seq="1700000000000-3")
    assert p.parse_frame(frame(type="hello", language="en"), in_session=False).language == "en"
    assert p.parse_frame(frame(type="hello", language="fr"), in_session=False).language == "zh"


def test_message_keeps_id_text_resend_and_language():
    message = p.parse_frame(frame(type="message", id="m-1", text="退休金怎么领?", resend=True, language="zh"))
    assert message == p.Message(id="m-1", text="退休金怎么领?", resend=True, language="zh")


def test_only_hello_before_the_session():
    with pytest.raises(HelloRequired) as raised:
        p.parse_frame(frame(type="message", id="m1", text="hi"), in_session=False)
    assert raised.value.code == "hello_required" and raised.value.message_id == "m1"


@pytest.mark.parametrize("data, error, code", [
    (b'{"type":"message"}', BinaryFrame, "binary_frame"),
    ("{not json", InvalidJson, "invalid_json"),
    ("[1, 2]", InvalidJson, "invalid_json"),
    ("[" * 100000 + "]" * 100000, FrameTooLarge, "frame_too_large"),
    (frame(type="message", text="hi"), InvalidShape, "invalid_message"),
    (frame(type="message", id="has space", text="hi"), InvalidShape, "invalid_message"),
    (frame(type="message", id="x" * 65, text="hi"), InvalidShape, "invalid_message"),
    (frame(type="message", id="m1", text=""), InvalidShape, "invalid_message"),
    (frame(type="message", id="m1", text=5), InvalidShape, "invalid_message"),
    (frame(type="message", id="m1", text="a" * (p.MAX_TEXT_CHARS + 1)), InvalidShape, "invalid_message"),
    (frame(type="message", id="m1", text="hi", resend="yes"), InvalidShape, "invalid_message"),
    (frame(type="ack"), InvalidShape, "invalid_message"),
    (frame(type="ack", seq="12"), InvalidShape, "invalid_message"),
    (frame(type="hello", token=7), InvalidShape, "invalid_message"),
    (frame(type="shout", id="m9"), UnknownType, "unknown_type"),
    (frame(text="no type"), UnknownType, "unknown_type"),
])
def test_bad_frames_get_typed_errors(data, error, code):
    with pytest.raises(error) as raised:
        p.parse_frame(data)
    assert raised.value.code == code
    assert isinstance(raised.value, FrameRejected)


def test_a_frame_just_over_the_byte_limit_is_refused_even_when_few_characters():
    text = "汉" * (p.MAX_FRAME_BYTES // 3 + 10)  # 3 bytes each in UTF-8
    assert len(text) < p.MAX_FRAME_BYTES
    with pytest.raises(FrameTooLarge):
        p.parse_frame(frame(type="message", id="m1", text=text))


def test_errors_name_the_message_they_refuse():
    with pytest.raises(InvalidShape) as raised:
        p.parse_frame(frame(type="message", id="abc", text=""))
    assert p.error_frame(raised.value.code, raised.value.message, message_id=raised.value.message_id)["id"] == "abc"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_any_input_parses_or_gets_a_typed_error(data):
    try:
        p.parse_frame(data)
    except FrameRejected as error:
        assert error.code in {"binary_frame", "invalid_json", "invalid_message", "unknown_type",
                              "frame_too_large", "hello_required"}


def test_ack_and_resend():
    assert p.parse_frame(frame(type="ack", seq="5-0")) == p.Ack("5-0")
    assert p.parse_frame(frame(type="resend")) == p.Resend(None)
    assert p.parse_frame(frame(type="resend", after="5-1")) == p.Resend("5-1")


# --- server frames -------------------------------------------------------------------------

def test_encode_keeps_chinese_readable_and_html_as_data():
    text = p.encode(p.bot_frame("<img src=x onerror=alert(1)> 你好", [{"title": "是", "payload": "/affirm"}, {"x": 1}]))
    assert json.loads(text) == {"type": "bot", "text": "<img src=x onerror=alert(1)> 你好",
                                "buttons": [{"title": "是", "payload": "/affirm"}]}
    assert "你好" in text


def test_notices_in_both_languages():
    assert p.notice_frame("session_unknown", "en")["text"].startswith("We could not find")
    assert "新的对话" in p.notice_frame("session_unknown", "zh")["text"]
    assert p.notice_frame("session_new", "fr")["text"] == p.NOTICES["session_new"]["zh"]


def test_outbox_entries_pass_only_documented_fields():
    entry = {"id": "o1", "conversation_id": "web-x", "type": "agent_message", "text": "您好",
             "agent_id": "a-17", "agent_name": "王", "language": "zh", "at": 1.0}
    assert p.outbox_frame(entry) == {"type": "agent_message", "text": "您好", "agent_name": "王"}
    assert p.outbox_frame({"conversation_id": "web-x", "type": "queue_position", "position": 3,
                           "estimate_seconds": None}) == {"type": "queue_position", "position": 3,
                                                          "estimate_seconds": None}
    assert p.outbox_frame({"conversation_id": "web-x", "type": "typing"}) == {"type": "typing"}
    assert p.outbox_frame({"conversation_id": "web-x", "type": "agent_message"}) is None
    assert p.outbox_frame({"conversation_id": "web-x", "type": "drop_tables", "text": "x"}) is None
    assert p.outbox_frame({"type": "typing"}) is None
    assert p.outbox_frame({"conversation_id": "web-x", "type": "queue_position", "position": True}) is None


def test_history_from_tracker_events():
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "hello", "timestamp": 1.0, "metadata": {"client_message_id": "m1"}},
        {"event": "bot", "text": "Hi! How can I help?", "timestamp": 2.0,
         "data": {"buttons": [{"title": "Pension", "payload": "/ask_pension"}]}},
        {"event": "bot", "text": "I'm Li, I'll help you.", "timestamp": 3.0, "metadata": {"agent_name": "Li"}},
        {"event": "user", "text": "", "timestamp": 4.0},
    ]
    assert p.history_from_events(events) == [
        {"role": "user", "text": "hello", "at": 1.0, "id": "m1"},
        {"role": "bot", "text": "Hi! How can I help?", "at": 2.0,
         "buttons": [{"title": "Pension", "payload": "/ask_pension"}]},
        {"role": "agent", "text": "I'm Li, I'll help you.", "at": 3.0, "agent_name": "Li"},
    ]
    assert [i["text"] for i in p.history_from_events(events, limit=1)] == ["I'm Li, I'll help you."]
    assert p.committed_ids(events) == {"m1"}


# --- dedupe --------------------------------------------------------------------------------

@pytest.mark.parametrize("state, resend, action", [
    (None, False, p.DedupeAction.PROCESS),
    (None, True, p.DedupeAction.CHECK_TRACKER),
    ("pending:abc", False, p.DedupeAction.WAIT),
    ("pending:abc", True, p.DedupeAction.WAIT),
    ("done", False, p.DedupeAction.ACK_DUPLICATE),
    ("done", True, p.DedupeAction.ACK_DUPLICATE),
])
def test_dedupe_action(state, resend, action):
    assert p.dedupe_action(state, resend=resend) is action


# --- tokens --------------------------------------------------------------------------------

def test_tokens_verify_and_are_unguessable():
    tokens = p.SessionTokens(b"s" * 32)
    token, session_id = tokens.issue()
    assert tokens.verify(token) == session_id
    assert len(session_id) >= 20  # 128 random bits, base64url
    assert len({tokens.issue()[1] for _ in range(1000)}) == 1000
    assert p.conversation_id(session_id) == "web-" + session_id


def test_forged_tampered_and_foreign_tokens_are_refused():
    tokens = p.SessionTokens(b"s" * 32)
    token, session_id = tokens.issue()
    version, sid, signature = token.split(".")
    other = p.SessionTokens(b"t" * 32)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in [None, "", "garbage", f"{version}.{sid}.{flipped}", f"{version}.{sid}x.{signature}",
                f"v2.{sid}.{signature}", f"{version}.{sid}", other.issue()[0], token + ".x",
                f"{version}.{'a' * 22}.{signature}", "v1.." + signature, "x" * 5000]:
        assert tokens.verify(bad) is None, bad


def test_secret_too_short_is_a_config_error():
    with pytest.raises(ConfigError):
        p.SessionTokens(b"short")


# --- rate limit ----------------------------------------------------------------------------

def test_token_bucket_allows_a_burst_then_refills_with_time():
    limit = p.RateLimit(capacity=3, per_second=1.0)
    bucket = limit.full(100.0)
    for _ in range(3):
        bucket, wait = p.take_token(limit, bucket, 100.0)
        assert wait == 0.0
    refused, wait = p.take_token(limit, bucket, 100.0)
    assert wait == pytest.approx(1.0)
    assert refused.tokens == pytest.approx(0.0)
    bucket, wait = p.take_token(limit, refused, 100.5)
    assert wait == pytest.approx(0.5)
    bucket, wait = p.take_token(limit, bucket, 101.0)
    assert wait == 0.0
    bucket, _ = p.take_token(limit, bucket, 1000.0)  # never more than the capacity
    assert bucket.tokens == pytest.approx(2.0)


def test_check_rate_raises_with_retry_after():
    limit = p.RateLimit(capacity=1, per_second=0.5)
    bucket = p.check_rate(limit, limit.full(0.0), 0.0)
    with pytest.raises(RateLimited) as raised:
        p.check_rate(limit, bucket, 0.0, message_id="m1")
    assert raised.value.retry_after == pytest.approx(2.0)
    assert raised.value.code == "rate_limited" and raised.value.message_id == "m1"
    assert p.check_rate(limit, bucket, 2.0).tokens == pytest.approx(0.0)


def test_the_json_copy_becomes_an_export_frame_and_only_that_payload_does():
    payload = {"type": "data_export", "filename": "renben-conversation-20261201-2100.json",
               "data": {"conversation_id": "web-1", "turns": [{"speaker": "claimant", "text": "你好"}]}}
    frame = p.export_frame(payload)
    assert frame["type"] == "export" and frame["filename"] == "renben-conversation-20261201-2100.json"
    assert json.loads(frame["data"])["turns"][0]["text"] == "你好"
    assert "export" in p.SEQUENCED_TYPES  # kept in the stream: a reconnect does not lose it
    assert p.export_frame(None) is None and p.export_frame({"x": 1}) is None
    assert p.export_frame({**payload, "filename": "../../etc/passwd"})["filename"] == "conversation.json"
    assert p.export_frame({**payload, "data": {"x": "y" * (p.MAX_EXPORT_BYTES + 1)}}) is None


def test_the_outbox_streams_are_the_desks_outbox_plus_the_channel_name():
    from core import redis_keys as desk_keys

    assert desk_keys.WEB_OUTBOX_STREAM == desk_keys.OUTBOX + "web" == "renben:outbox:web"
    assert desk_keys.WECHAT_OUTBOX_STREAM == desk_keys.OUTBOX + "wechat" == "renben:outbox:wechat"
