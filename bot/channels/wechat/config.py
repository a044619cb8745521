"""The WeChat channel's settings, built once when Rasa builds the channel from bot/credentials.yml
(or the gateway starts), from the process's settings (core/settings.py: the environment read once).

Environment variables win; keys of the credentials entry (lower case, without `WECHAT_`: `token`,
`appid`, `appsecret`, `aes_key`, `previous_aes_key`, `api_base`, `passive_timeout`) are the
defaults. Production keeps secrets in the environment only.

    WECHAT_TOKEN             the Token of the server configuration (required for the webhook)
    WECHAT_APPID             AppID; with WECHAT_APPSECRET, needed for the customer-service API
    WECHAT_APPSECRET         AppSecret
    WECHAT_AES_KEY           EncodingAESKey (43 characters): safe mode
    WECHAT_PREVIOUS_AES_KEY  the EncodingAESKey before the last change, during key rotation
    WECHAT_API_BASE          https://api.weixin.qq.com (tests point it at a fake server)
    WECHAT_PASSIVE_TIMEOUT   seconds to wait for the bot before answering `success` (4.5)
    WECHAT_USER_PER_MINUTE   messages a minute one claimant may send (30); over it they are
                             asked to wait a moment, and the message is not handled
    WECHAT_ADDRESS_PER_MINUTE messages a minute from one client address (6000: WeChat's servers
                             post for every claimant)
    WECHAT_RECLAIM_SECONDS   seconds a message for the bot may sit with a Rasa process that
                             does not work on it (it died) before another takes it over (60)
    REDIS_URL                Redis for the inbox, dedupe, options, the token and the outbox; the
                             gateway needs it; Rasa's default: the Redis of its lock store
    RENBEN_WECHAT_TEST_DELAY "<seconds>:<openid prefix>": tests only, delays the bot's handling of
                             messages from OpenIDs with that prefix (a slow answer)
    RENBEN_WECHAT_TEST_BLOCK "<seconds>:<openid prefix>": tests only, the same but holding the Rasa
                             process's whole event loop (as NLU does under load)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Tuple

from bot.channels.wechat.crypto import MessageCrypto
from bot.channels.wechat.exceptions import ConfigError
from core.settings import Settings, current

DEFAULT_API_BASE = "https://api.weixin.qq.com"


@dataclass(frozen=True)
class WeChatSettings:
    token: Optional[str] = None
    app_id: Optional[str] = None
    app_secret: Optional[str] = None
    aes_key: Optional[str] = None
    previous_aes_key: Optional[str] = None
    api_base: str = DEFAULT_API_BASE
    passive_timeout: float = 4.5
    redis_url: Optional[str] = None
    test_delay: Optional[Tuple[float, str]] = None
    #: Messages a minute from one claimant, and from one client address (WeChat's servers send
    #: for everyone: keep it high); over them the claimant is asked to wait a moment.
    user_per_minute: int = 30
    address_per_minute: int = 6000
    reclaim_seconds: float = 60.0
    test_block: Optional[Tuple[float, str]] = None

    @classmethod
    def build(cls, credentials: Optional[Mapping[str, Any]] = None,
              settings: Optional[Settings] = None) -> "WeChatSettings":
        """Settings from the credentials entry and the process's settings (default: `current()`);
        raises ConfigError."""
        given = dict(credentials or {})
        settings = settings or current()
        env = settings.env

        def value(name: str) -> Optional[str]:
            found = env.get("WECHAT_" + name.upper())
            if found is None and given.get(name) is not None:
                found = str(given[name])
            return found.strip() if found and found.strip() else None

        timeout_text = value("passive_timeout") or "4.5"
        try:
            timeout = float(timeout_text)
        except ValueError:
            raise ConfigError(f"WECHAT_PASSIVE_TIMEOUT={timeout_text!r} is not a number") from None
        if not 0 < timeout < 5:
            raise ConfigError("WECHAT_PASSIVE_TIMEOUT must be between 0 and 5 seconds (WeChat waits 5)")
        settings = cls(token=value("token"), app_id=value("appid"), app_secret=value("appsecret"),
                       aes_key=value("aes_key"), previous_aes_key=value("previous_aes_key"),
                       api_base=(value("api_base") or DEFAULT_API_BASE).rstrip("/"),
                       passive_timeout=timeout, redis_url=settings.redis_url,
                       test_delay=_test_delay(env.get("RENBEN_WECHAT_TEST_DELAY"), "RENBEN_WECHAT_TEST_DELAY"),
                       test_block=_test_delay(env.get("RENBEN_WECHAT_TEST_BLOCK"), "RENBEN_WECHAT_TEST_BLOCK"),
                       reclaim_seconds=_seconds(value("reclaim_seconds"), "WECHAT_RECLAIM_SECONDS", 60.0),
                       user_per_minute=_count(value("user_per_minute"), "WECHAT_USER_PER_MINUTE", 30),
                       address_per_minute=_count(value("address_per_minute"), "WECHAT_ADDRESS_PER_MINUTE", 6000))
        if settings.aes_key:
            settings.crypto()  # raises ConfigError for a malformed key or a missing AppID
        return settings

    @property
    def enabled(self) -> bool:
        """The webhook answers only with a Token: without one it cannot check a signature."""
        return bool(self.token)

    @property
    def can_send(self) -> bool:
        """The customer-service API needs the AppID and AppSecret."""
        return bool(self.app_id and self.app_secret)

    def crypto(self) -> Optional[MessageCrypto]:
        """Safe-mode crypto, None without an EncodingAESKey."""
        if not self.aes_key:
            return None
        return MessageCrypto(token=self.token or "", app_id=self.app_id or "", encoding_aes_key=self.aes_key,
                             previous_encoding_aes_key=self.previous_aes_key)


def _test_delay(text: Optional[str], name: str) -> Optional[Tuple[float, str]]:
    if not text:
        return None
    seconds, _, prefix = text.partition(":")
    try:
        return float(seconds), prefix
    except ValueError:
        raise ConfigError(f"{name}={text!r} must be <seconds>:<openid prefix>") from None


def _seconds(text: Optional[str], name: str, default: float) -> float:
    if text is None:
        return default
    try:
        seconds = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number of seconds") from None
    if not seconds > 0:
        raise ConfigError(f"{name} must be above 0")
    return seconds


def _count(text: Optional[str], name: str, default: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{name}={text!r} must be a whole number of at least 1")
    return int(text)
