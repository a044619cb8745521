"""The web channel's settings, built once when Rasa builds the channel from bot/credentials.yml,
from the process's settings (core/settings.py: `current()`, the environment read once).

Environment (each optional; credentials.yml keys of the same name in lower case without the
prefix are the defaults, the environment wins):

    RENBEN_WEB_SECRET           session-token signing key, >= 16 bytes; default: generated once
                                and kept in <var>/web_secret (mode 600). Every Rasa process
                                behind one load balancer needs the same secret.
    RENBEN_WEB_ALLOWED_ORIGINS  comma-separated origins ("https://www.example.gov.cn") allowed to
                                open the socket besides the server's own; "*" allows any.
    RENBEN_WEB_BURST            frames a session may send at once (20)
    RENBEN_WEB_RATE             frames per second a session may send after the burst (1.0)
    RENBEN_WEB_ADDRESS_PER_MINUTE  messages a minute from one client address, all its sessions
                                and every Rasa process together (300; many claimants may share
                                one address, e.g. a library or a village office)
    RENBEN_WEB_SOCKETS_PER_ADDRESS  sockets one client address may hold open at once in one Rasa
                                process (50; a shared address again, and a widget holds one)
    RENBEN_WEB_TURN_RETRY_SECONDS  how long a message whose turn was not saved (a custom action
                                failed: bot/turn_guard.py) is run again before the claimant is
                                asked to send it again (30; covers a restart of the action server)
    REDIS_URL                   Redis for dedupe, the session streams and the desk outbox;
                                default: the Redis of Rasa's lock store (endpoints.yml)
    RENBEN_VAR_DIR              where web_secret is kept (default: var/ in the repository)
    RETENTION_DAYS              the retention period shown in the privacy notice: the one the
                                purge job applies (`Settings.retention_days`; no channel setting;
                                the old RENBEN_WEB_RETENTION_DAYS is read there, deprecated)
"""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple

from bot.channels.web.exceptions import ConfigError
from bot.channels.web.protocol import RateLimit
from core.privacy import period
from core.settings import Settings, current

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebSettings:
    secret: bytes
    allowed_origins: Tuple[str, ...] = ()
    retention_days: float = period.DEFAULT_RETENTION_DAYS
    rate: RateLimit = RateLimit()
    redis_url: Optional[str] = None
    address_per_minute: int = 300
    sockets_per_address: int = 50
    turn_retry_seconds: float = 30.0

    @classmethod
    def build(cls, credentials: Optional[Mapping[str, Any]] = None,
              settings: Optional[Settings] = None) -> "WebSettings":
        """Settings from the credentials entry and the process's settings (default: `current()`);
        raises ConfigError."""
        given = dict(credentials or {})
        settings = settings or current()
        env = settings.env

        def value(name: str) -> Optional[str]:
            found = env.get("RENBEN_WEB_" + name.upper())
            if found is None and given.get(name) is not None:
                found = str(given[name])
            return found or None

        origins_text = value("allowed_origins") or ""
        origins = tuple(o.strip().rstrip("/") for o in origins_text.split(",") if o.strip())
        secret_text = value("secret")
        secret = secret_text.encode() if secret_text else _kept_secret(settings.var_dir / "web_secret")
        if len(secret) < 16:
            raise ConfigError("RENBEN_WEB_SECRET must be at least 16 bytes")
        if given.get("retention_days") is not None:
            logger.warning("web channel: retention_days in credentials.yml is no longer read; the privacy "
                           "notice shows RETENTION_DAYS, the period the purge job applies")
        return cls(
            secret=secret,
            allowed_origins=origins,
            retention_days=settings.retention_days,
            rate=RateLimit(capacity=_number(value("burst"), "RENBEN_WEB_BURST", 20.0, float, 1),
                           per_second=_number(value("rate"), "RENBEN_WEB_RATE", 1.0, float, 0.01)),
            redis_url=settings.redis_url or given.get("redis_url") or None,
            address_per_minute=_number(value("address_per_minute"), "RENBEN_WEB_ADDRESS_PER_MINUTE", 300, int, 1),
            sockets_per_address=_number(value("sockets_per_address"), "RENBEN_WEB_SOCKETS_PER_ADDRESS", 50, int, 1),
            turn_retry_seconds=_number(value("turn_retry_seconds"), "RENBEN_WEB_TURN_RETRY_SECONDS", 30.0, float, 0),
        )

    def origin_allowed(self, origin: Optional[str], host: Optional[str]) -> bool:
        """Browsers send Origin; programs (tests, load tools) may not, and are allowed.

        The server's own origin is always allowed (the demo page)."""
        if not origin:
            return True
        origin = origin.rstrip("/")
        if "*" in self.allowed_origins or origin in self.allowed_origins:
            return True
        return bool(host) and origin.split("://", 1)[-1] == host


def _number(text: Optional[str], name: str, default, kind, minimum):  # noqa: ANN001, ANN202
    if text is None:
        return default
    try:
        number = kind(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return number


def _kept_secret(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting at once keep the same secret
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(32))
    return path.read_text().strip().encode()
