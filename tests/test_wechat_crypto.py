"""Signatures and safe-mode crypto against the known-answer vectors in ../shared/wechat/vectors.json."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.channels.wechat.crypto import MessageCrypto, check_key, check_signature, signature_of
from bot.channels.wechat.exceptions import ConfigError, DecryptError, SignatureError
from bot.channels.wechat.messages import parse_message, parse_xml

VECTORS_FILE = Path(__file__).resolve().parents[2] / "shared" / "wechat" / "vectors.json"  # beside the clone
VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
URL_CHECKS = VECTORS["url_check_signature"]
WECHATPY = VECTORS["aes"]["wechatpy"]
TENCENT = VECTORS["aes"]["tencent_sample_encrypt"]
OTHER_KEY = "A" * 42 + "E"  # a valid 43-character key that is not the account's


@pytest.mark.parametrize("case", URL_CHECKS, ids=[c["source"] for c in URL_CHECKS])
def test_url_check_signatures_match_the_vectors(case):
    assert signature_of(case["token"], case["timestamp"], case["nonce"]) == case["signature"]
    check_signature(case["token"], case["signature"], case["timestamp"], case["nonce"])


@pytest.mark.parametrize("case", [c for c in URL_CHECKS if "must_fail_signature" in c])
def test_a_signature_one_digit_off_fails(case):
    with pytest.raises(SignatureError):
        check_signature(case["token"], case["must_fail_signature"], case["timestamp"], case["nonce"])


@pytest.mark.parametrize("field", ["token", "timestamp", "nonce"])
def test_a_changed_or_missing_part_fails(field):
    case = dict(URL_CHECKS[0])
    case[field] = case[field] + "1"
    with pytest.raises(SignatureError):
        check_signature(case["token"], case["signature"], case["timestamp"], case["nonce"])
    case[field] = ""
    with pytest.raises(SignatureError):
        check_signature(case["token"], case["signature"], case["timestamp"], case["nonce"])


def crypto(previous=None, key=WECHATPY["encoding_aes_key"]) -> MessageCrypto:
    return MessageCrypto(token=WECHATPY["token"], app_id=WECHATPY["appid"], encoding_aes_key=key,
                         previous_encoding_aes_key=previous)


def test_decrypt_vector_gives_the_expected_message():
    case = WECHATPY["decrypt"]
    opened = crypto().decrypt(encrypt=case["encrypt"], msg_signature=case["msg_signature"],
                              timestamp=case["timestamp"], nonce=case["nonce"])
    assert opened.key_index == 0
    fields = parse_xml(opened.xml)
    for name, value in case["expect"].items():
        assert fields[name] == value
    assert parse_message(opened.xml).text == "test"


def test_decrypt_with_a_bad_msg_signature_is_refused():
    case = WECHATPY["decrypt"]
    with pytest.raises(SignatureError):
        crypto().decrypt(encrypt=case["encrypt"], msg_signature=case["msg_signature"][:-1] + "0",
                         timestamp=case["timestamp"], nonce=case["nonce"])


def test_encrypt_and_sign_reply_match_the_vector():
    case = WECHATPY["encrypt"]
    envelope = parse_xml(crypto().encrypt_reply(case["plaintext"], nonce=case["nonce"], timestamp=case["timestamp"],
                                                random_prefix=case["random_prefix"]))
    assert envelope["Encrypt"] == case["encrypt"]
    assert envelope["MsgSignature"] == case["msg_signature"]
    assert envelope["TimeStamp"] == case["timestamp"] and envelope["Nonce"] == case["nonce"]


def test_tencent_sample_encrypts_chinese_to_the_vector():
    sealed = MessageCrypto(token="t", app_id=TENCENT["appid"], encoding_aes_key=TENCENT["encoding_aes_key"])
    envelope = parse_xml(sealed.encrypt_reply(TENCENT["plaintext"], nonce="1", timestamp="2",
                                              random_prefix=TENCENT["random_prefix"]))
    assert envelope["Encrypt"] == TENCENT["encrypt"]
    opened = sealed.decrypt(encrypt=envelope["Encrypt"], msg_signature=envelope["MsgSignature"],
                            timestamp="2", nonce="1")
    assert opened.xml == TENCENT["plaintext"]


def test_during_rotation_a_message_sealed_with_the_previous_key_opens_and_its_reply_uses_that_key():
    old = crypto()  # the account's key before rotation
    envelope = parse_xml(old.encrypt_reply("<xml><A>1</A></xml>", nonce="n", timestamp="9"))
    rotating = crypto(previous=WECHATPY["encoding_aes_key"], key=OTHER_KEY)
    opened = rotating.decrypt(encrypt=envelope["Encrypt"], msg_signature=envelope["MsgSignature"],
                              timestamp="9", nonce="n")
    assert opened.xml == "<xml><A>1</A></xml>" and opened.key_index == 1
    reply = parse_xml(rotating.encrypt_reply("<xml><B>2</B></xml>", nonce="m", timestamp="10",
                                             key_index=opened.key_index))
    assert old.decrypt(encrypt=reply["Encrypt"], msg_signature=reply["MsgSignature"],
                       timestamp="10", nonce="m").xml == "<xml><B>2</B></xml>"


def test_a_message_sealed_with_an_unknown_key_is_refused():
    envelope = parse_xml(crypto().encrypt_reply("<xml/>", nonce="n", timestamp="9"))
    stranger = crypto(key=OTHER_KEY)
    with pytest.raises(DecryptError):
        stranger.decrypt(encrypt=envelope["Encrypt"], msg_signature=envelope["MsgSignature"],
                         timestamp="9", nonce="n")


def test_a_message_for_another_appid_is_refused():
    envelope = parse_xml(crypto().encrypt_reply("<xml/>", nonce="n", timestamp="9"))
    other = MessageCrypto(token=WECHATPY["token"], app_id="wx0000000000000000",
                          encoding_aes_key=WECHATPY["encoding_aes_key"])
    with pytest.raises(DecryptError):
        other.decrypt(encrypt=envelope["Encrypt"], msg_signature=envelope["MsgSignature"], timestamp="9", nonce="n")


@pytest.mark.parametrize("key", ["short", "!" * 43, "A" * 44])
def test_a_malformed_key_is_a_config_error(key):
    with pytest.raises(ConfigError):
        check_key("EncodingAESKey", key)
