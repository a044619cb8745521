"""Signatures and safe-mode (AES) encryption of the Official Account server protocol.

The work is done by wechatpy (`WeChatSigner`, `WeChatCrypto`); this module adds what the
channel needs around it: signatures compared in constant time, the previous EncodingAESKey
tried when the current one does not open a message (key rotation), typed errors, and a fixed
random prefix for known-answer tests. Pure functions: no I/O.

Protocol (developers.weixin.qq.com, "Message encryption and decryption"): signature =
sha1 of the sorted (token, timestamp, nonce); msg_signature = sha1 of the sorted (token,
timestamp, nonce, Encrypt); Encrypt = base64(AES-256-CBC(key, iv=key[:16], 16 random bytes +
4-byte big-endian length + message + AppID, PKCS#7 padded to 32 bytes)), key =
base64decode(EncodingAESKey + "=").
"""
from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import List, Optional, Type

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.channels.wechat.exceptions import ConfigError, DecryptError, SignatureError

ENCODING_AES_KEY_LENGTH = 43  # 43 base64 characters: a 32-byte AES key without its "="


def signature_of(*parts: str) -> str:
    """sha1 hex of the parts sorted and joined, as WeChat signs (wechatpy's WeChatSigner)."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def _same(expected: str, given: str) -> bool:
    """Constant-time equality of two signatures; anything a client sends (non-ASCII included)."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogatepass"))


def check_signature(token: str, signature: str, timestamp: str, nonce: str) -> None:
    """Raises SignatureError unless `signature` is WeChat's signature of the request.

    Same check as `wechatpy.utils.check_signature`, compared in constant time.
    """
    if not (token and signature and timestamp and nonce):
        raise SignatureError("signature, timestamp or nonce missing")
    if not _same(signature_of(token, timestamp, nonce), signature):
        raise SignatureError("signature does not match")


def check_key(name: str, encoding_aes_key: str) -> None:
    """Raises ConfigError unless the EncodingAESKey is 43 base64 characters (a 32-byte key)."""
    if len(encoding_aes_key) != ENCODING_AES_KEY_LENGTH:
        raise ConfigError(f"{name} must be {ENCODING_AES_KEY_LENGTH} characters, not {len(encoding_aes_key)}")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{name} is not base64") from None
    if len(key) != 32:
        raise ConfigError(f"{name} does not decode to a 32-byte key")


@dataclass(frozen=True)
class Decrypted:
    xml: str
    key_index: int  # 0: the current EncodingAESKey opened it, 1: the previous one


def _fixed_prefix_crypto(prefix: str) -> Type[PrpCrypto]:
    class FixedPrefix(PrpCrypto):
        def get_random_string(self) -> str:
            return prefix

    return FixedPrefix


class _Crypto(WeChatCrypto):
    """wechatpy's WeChatCrypto, with the 16-byte random prefix chosen by the caller if needed."""

    def encrypt_with(self, msg: str, nonce: str, timestamp: str, random_prefix: Optional[str]) -> str:
        crypto_class = _fixed_prefix_crypto(random_prefix) if random_prefix else PrpCrypto
        return self._encrypt_message(msg, nonce, timestamp, crypto_class)


class MessageCrypto:
    """Opens and seals safe-mode messages for one Official Account.

    Give the previous EncodingAESKey while rotating keys: a message the current key does not
    open is tried with the previous one, and its reply is sealed with the key that opened it.
    """

    def __init__(self, *, token: str, app_id: str, encoding_aes_key: str,
                 previous_encoding_aes_key: Optional[str] = None) -> None:
        if not token or not app_id:
            raise ConfigError("safe mode needs the token and the AppID")
        check_key("EncodingAESKey", encoding_aes_key)
        keys = [encoding_aes_key]
        if previous_encoding_aes_key and previous_encoding_aes_key != encoding_aes_key:
            check_key("previous EncodingAESKey", previous_encoding_aes_key)
            keys.append(previous_encoding_aes_key)
        self.token, self.app_id = token, app_id
        self._cryptos: List[_Crypto] = [_Crypto(token, key, app_id) for key in keys]

    def decrypt(self, *, encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> Decrypted:
        """The plaintext XML in `encrypt`; raises SignatureError or DecryptError."""
        if not (encrypt and msg_signature and timestamp and nonce):
            raise SignatureError("Encrypt, msg_signature, timestamp or nonce missing")
        if not _same(signature_of(self.token, timestamp, nonce, encrypt), msg_signature):
            raise SignatureError("msg_signature does not match")
        for index, crypto in enumerate(self._cryptos):
            try:
                xml = crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
            except Exception:  # wrong key: bad padding, bad length, not UTF-8, another AppID
                continue
            return Decrypted(xml, index)
        raise DecryptError(f"Encrypt does not open with the {len(self._cryptos)} configured key(s) "
                           f"for AppID {self.app_id}")

    def encrypt_reply(self, xml: str, *, nonce: str, timestamp: str, key_index: int = 0,
                      random_prefix: Optional[str] = None) -> str:
        """The reply envelope (<Encrypt>, <MsgSignature>, <TimeStamp>, <Nonce>) for `xml`.

        Seal with the key that opened the request (`Decrypted.key_index`). `random_prefix` (16
        characters) is for known-answer tests only: leave it None in production.
        """
        if random_prefix is not None and len(random_prefix.encode()) != 16:
            raise ValueError("random_prefix must be 16 bytes")
        crypto = self._cryptos[min(key_index, len(self._cryptos) - 1)]
        return crypto.encrypt_with(xml, nonce, timestamp, random_prefix)
