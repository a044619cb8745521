"""Fuzzing WeChat bodies (hypothesis): whatever arrives, the parser answers with a message or a
typed error (HTTP 400/403 at the edge), never another exception; a well-formed message is never
dropped, whatever its content; and safe mode round-trips any text."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.wechat.crypto import MessageCrypto, signature_of
from bot.channels.wechat.exceptions import RequestRejected
from bot.channels.wechat.messages import Inbound, _cdata, parse_message

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TAGS = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event",
        "Recognition", "MediaId", "PicUrl", "Location_X", "Url", "xml", "!DOCTYPE", "!ENTITY"]
# Text a claimant might send: any printable character XML allows, Chinese and emoji included.
XML_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=200)


def _fragment():
    element = st.builds(lambda tag, body: f"<{tag}>{body}</{tag}>", st.sampled_from(TAGS), XML_TEXT)
    noise = st.sampled_from(["<", ">", "&", "&amp;", "]]>", "<![CDATA[", "<?xml version='1.0'?>",
                             '<!DOCTYPE x [<!ENTITY a "aaaa">]>', '<!ENTITY e SYSTEM "file:///etc/passwd">',
                             "&e;", "\x00", "\ufeff", "<xml>", "</xml>"])
    return st.one_of(element, noise, XML_TEXT)


@FAST
@given(st.lists(_fragment(), max_size=12).map("".join))
def test_any_text_body_gives_a_message_or_a_typed_rejection(body):
    try:
        message = parse_message(body)
    except RequestRejected as rejected:
        assert rejected.status in (400, 403)
    else:
        assert isinstance(message, Inbound) and message.kind


@FAST
@given(st.binary(max_size=400))
def test_any_bytes_body_gives_a_message_or_a_typed_rejection(body):
    try:
        parse_message(body)
    except RequestRejected as rejected:
        assert rejected.status in (400, 403)


@FAST
@given(content=XML_TEXT, sender=st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789_-", min_size=1, max_size=40),
       msg_type=st.sampled_from(["text", "voice", "image", "location", "link", "event", "video",
                                 "shortvideo", "miniprogrampage", "新类型"]),
       msg_id=st.integers(min_value=1, max_value=2 ** 63))
def test_a_well_formed_message_is_never_dropped_whatever_it_says(content, sender, msg_type, msg_id):
    body = (f"<xml><ToUserName>{_cdata('gh_account')}</ToUserName><FromUserName>{_cdata(sender)}"
            f"</FromUserName><CreateTime>1700000000</CreateTime><MsgType>{_cdata(msg_type)}</MsgType>"
            f"<Content>{_cdata(content)}</Content><MsgId>{msg_id}</MsgId></xml>")
    message = parse_message(body)
    assert message.from_user == sender and message.dedupe_key == str(msg_id)
    if msg_type == "text":
        assert message.kind == "text" and message.text == content
    elif msg_type not in ("voice", "image", "location", "link", "event", "video", "shortvideo"):
        assert message.kind == "unknown"  # answered politely by the channel, never an error


CRYPTO = MessageCrypto(token="fuzztoken", app_id="wx1234567890abcdef",
                       encoding_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")


@FAST
@given(XML_TEXT)
def test_safe_mode_round_trips_any_reply_text(text):
    reply = f"<xml><Content>{_cdata(text)}</Content></xml>"
    sealed = parse_message_fields(CRYPTO.encrypt_reply(reply, nonce="n1", timestamp="1700000000"))
    opened = CRYPTO.decrypt(encrypt=sealed["Encrypt"], msg_signature=sealed["MsgSignature"],
                            timestamp=sealed["TimeStamp"], nonce=sealed["Nonce"])
    assert opened.xml == reply


@FAST
@given(st.text(max_size=300), st.text(max_size=60))
def test_a_forged_or_garbled_encrypted_body_is_rejected_with_a_typed_error(encrypt, signature):
    try:
        CRYPTO.decrypt(encrypt=encrypt, msg_signature=signature or "0", timestamp="1", nonce="n")
    except RequestRejected as rejected:
        assert rejected.status == 403
    else:  # only possible with the right signature over that exact text
        assert signature == signature_of("fuzztoken", "1", "n", encrypt)


def parse_message_fields(xml: str):
    from bot.channels.wechat.messages import parse_xml
    return parse_xml(xml)


@FAST
@given(st.text(max_size=60), st.text(max_size=20), st.text(max_size=20))
def test_url_verification_with_any_query_is_accepted_or_refused_never_crashes(signature, timestamp, nonce):
    from bot.channels.wechat.crypto import check_signature
    from bot.channels.wechat.exceptions import SignatureError
    try:
        check_signature("fuzztoken", signature, timestamp, nonce)
    except SignatureError as refused:
        assert refused.status == 403
    else:
        assert signature == signature_of("fuzztoken", timestamp, nonce)


def test_a_non_ascii_signature_is_refused_not_a_crash():
    # Found by the fuzz test above: hmac.compare_digest raised TypeError on non-ASCII text.
    from bot.channels.wechat.crypto import check_signature
    from bot.channels.wechat.exceptions import SignatureError
    import pytest
    with pytest.raises(SignatureError):
        check_signature("fuzztoken", "签名\x80", "1", "n")
    with pytest.raises(RequestRejected):
        CRYPTO.decrypt(encrypt="0", msg_signature="\x80", timestamp="1", nonce="n")
