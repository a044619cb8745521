"""Inbound WeChat XML parsed safely, every message type, and passive reply XML."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.channels.wechat.exceptions import MessageError, XmlRejected
from bot.channels.wechat.messages import parse_message, parse_xml, text_reply

VECTORS_FILE = Path(__file__).resolve().parents[2] / "shared" / "wechat" / "vectors.json"  # beside the clone
SAMPLES = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["message_samples"]


def xml(msg_type: str, extra: str = "", sender: str = "oUser1", created: int = 1700000000) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[{sender}]]></FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{extra}</xml>")


def test_the_documented_text_sample():
    message = parse_message(SAMPLES["text"])
    assert (message.kind, message.text, message.from_user, message.to_user) == (
        "text", "this is a test", "fromUser", "toUser")
    assert message.dedupe_key == "1234567890123456"


def test_the_documented_subscribe_sample_dedupes_by_sender_and_time():
    message = parse_message(SAMPLES["subscribe"])
    assert message.kind == "subscribe" and message.msg_id is None
    assert message.dedupe_key == "event:FromUser:123456789"


def test_chinese_text_and_bytes_body():
    message = parse_message(xml("text", "<Content><![CDATA[我想问养老金]]></Content><MsgId>77</MsgId>").encode())
    assert message.text == "我想问养老金" and message.dedupe_key == "77"


def test_voice_with_recognition_is_text_and_without_it_has_none():
    heard = parse_message(xml("voice", "<MediaId>m</MediaId><Format>amr</Format>"
                                       "<Recognition><![CDATA[失业金怎么领]]></Recognition><MsgId>5</MsgId>"))
    assert heard.kind == "voice" and heard.text == "失业金怎么领"
    silent = parse_message(xml("voice", "<MediaId>m</MediaId><Format>amr</Format><MsgId>6</MsgId>"))
    assert silent.kind == "voice" and silent.text is None
    blank = parse_message(xml("voice", "<Recognition><![CDATA[ ]]></Recognition><MsgId>7</MsgId>"))
    assert blank.text is None


@pytest.mark.parametrize("event,kind", [("subscribe", "subscribe"), ("unsubscribe", "unsubscribe"),
                                        ("CLICK", "event"), ("SCAN", "event")])
def test_events(event, kind):
    message = parse_message(xml("event", f"<Event><![CDATA[{event}]]></Event>", sender="oA", created=42))
    assert message.kind == kind and message.event == event and message.dedupe_key == "event:oA:42"


@pytest.mark.parametrize("msg_type,extra", [
    ("image", "<PicUrl><![CDATA[http://x/y.jpg]]></PicUrl><MediaId>1</MediaId>"),
    ("video", "<MediaId>1</MediaId><ThumbMediaId>2</ThumbMediaId>"),
    ("shortvideo", "<MediaId>1</MediaId>"),
    ("location", "<Location_X>23.1</Location_X><Location_Y>113.3</Location_Y><Scale>20</Scale><Label>x</Label>"),
    ("link", "<Title>t</Title><Description>d</Description><Url>http://x</Url>"),
])
def test_media_kinds(msg_type, extra):
    message = parse_message(xml(msg_type, extra + "<MsgId>9</MsgId>"))
    assert message.kind == msg_type and message.text is None


def test_an_unknown_type_is_unknown_not_an_error():
    message = parse_message(xml("hologram", "<MsgId>10</MsgId><Beam>1</Beam>"))
    assert message.kind == "unknown" and message.msg_type == "hologram"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType><Content>&d;</Content></xml>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType><Content>&secret;</Content></xml>"""
EXTERNAL_DTD = """<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://127.0.0.1:1/evil.dtd">
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType></xml>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL, EXTERNAL_DTD], ids=["bomb", "external-entity", "external-dtd"])
def test_entities_and_dtds_are_rejected_with_a_typed_error(body):
    with pytest.raises(XmlRejected) as caught:
        parse_message(body)
    assert caught.value.status == 400


@pytest.mark.parametrize("body", [b"", b"   ", b"not xml", b"<html></html>", b"<xml><MsgType>text</MsgType></xml>",
                                  b"<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>"
                                  b"<MsgType>text</MsgType><CreateTime>soon</CreateTime></xml>",
                                  b"<xml>" + b"<a>x</a>" * 20000 + b"</xml>"])
def test_bodies_that_are_not_messages_are_message_errors(body):
    with pytest.raises(MessageError):
        parse_message(body)


def test_passive_reply_swaps_the_users_and_survives_cdata_terminators():
    inbound = parse_message(xml("text", "<Content>hi</Content><MsgId>1</MsgId>"))
    reply = text_reply(inbound, "a ]]> b 中文", now=123)
    fields = parse_xml(reply)
    assert fields == {"ToUserName": "oUser1", "FromUserName": "gh_account", "CreateTime": "123",
                      "MsgType": "text", "Content": "a ]]> b 中文"}
