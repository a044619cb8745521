"""Bad input through the real REST channel: a polite answer, no crash, nothing lost."""
from __future__ import annotations

import json

import pytest

from bot.textnorm import MAX_NLU_CHARS
from conftest import has_chinese

pytestmark = pytest.mark.stack

ODD_MESSAGES = [
    ("empty", ""),
    ("whitespace", "   \t\n  "),
    ("emoji", "😭😭🙏"),
    ("punctuation", "？？？！！。。"),
    ("control characters", "\x00\x07\x1b[31m\x7f"),
]


@pytest.mark.parametrize("name, message", ODD_MESSAGES, ids=[n for n, _ in ODD_MESSAGES])
def test_a_message_without_words_gets_a_polite_answer_and_is_kept(client, sender, name, message):
    client.say(sender + "-zh", "你好")  # the conversation is in Chinese
    replies = client.say(sender + "-zh", message)
    assert replies and has_chinese(replies[0]["text"])
    assert "/request_human" in [b["payload"] for b in replies[0].get("buttons", [])]
    assert len(client.user_texts(sender + "-zh")) == 2  # recorded, not dropped

    client.say(sender + "-en", "hello")
    replies = client.say(sender + "-en", message)
    assert replies and not has_chinese(replies[0]["text"])


def test_a_null_message_is_answered_too(client, sender):
    assert client.say(sender, None)


def test_a_very_long_message_is_capped_with_a_notice_and_kept_whole(client, sender):
    long = "我想问养老金的事情。" + "我这些年过得很不容易，" * 1000  # over 10,000 characters
    assert len(long) > 10_000
    replies = client.say(sender, long)
    capped = [r["text"] for r in replies if str(MAX_NLU_CHARS) in r.get("text", "")]
    assert capped and has_chinese(capped[0]), replies
    assert client.user_texts(sender)[-1] == long  # the tracker keeps what the claimant wrote


def test_invalid_utf8_is_read_leniently(client, sender):
    body = b'{"sender": "' + sender.encode() + b'", "message": "\xe5\xa4\xb1\xff\xfe\xe4\xb8\x9a\xe9\x87\x91\xe6\x80\x8e\xe4\xb9\x88\xe9\xa2\x86"}'
    status, replies = client.raw("/webhooks/rest/webhook", body)
    assert status == 200 and replies and has_chinese(replies[0]["text"])
    assert client.user_texts(sender)


@pytest.mark.parametrize("body, code", [
    (b"{not json", "invalid_json"),
    (b"[1, 2]", "invalid_body"),
    (b'{"message": "hi"}', "invalid_sender"),
    (b'{"sender": "x", "message": 42}', "invalid_message"),
])
def test_programs_get_a_typed_error(client, body, code):
    status, reply = client.raw("/webhooks/rest/webhook", body)
    assert status == 400 and reply["error"]["code"] == code and reply["error"]["message"]


def test_an_oversized_body_is_refused_with_413(client):
    body = json.dumps({"sender": "big", "message": "x" * 300_000}).encode()
    status, reply = client.raw("/webhooks/rest/webhook", body)
    assert status == 413 and reply["error"]["code"] == "body_too_large"
