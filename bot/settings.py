"""Run-time settings, read once from the environment by the launcher and passed down.

Embedded defaults need no configuration: SQLite under var/, an embedded Redis, a generated auth
token. Production sets REDIS_URL, TRACKER_STORE_URL (PostgreSQL) and RASA_AUTH_TOKEN.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parents[1]


class SettingsError(ValueError):
    """A setting from the environment cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    var_dir: Path = ROOT / "var"
    models_dir: Path = ROOT / "models"
    redis_url: Optional[str] = None  # None: start the embedded Redis
    tracker_store_url: Optional[str] = None  # None: SQLite in var/
    auth_token: Optional[str] = None  # None: generated once and kept in var/auth_token
    host: str = "127.0.0.1"
    rasa_port: int = 5005
    actions_port: int = 5055
    desk_port: int = 5077
    wechat_port: int = 5006  # the WeChat gateway: the Official Account's server URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        var_dir = Path(env.get("RENBEN_VAR_DIR") or ROOT / "var")
        return cls(
            var_dir=var_dir,
            models_dir=Path(env.get("RENBEN_MODELS_DIR") or ROOT / "models"),
            redis_url=env.get("REDIS_URL") or None,
            tracker_store_url=env.get("TRACKER_STORE_URL") or None,
            auth_token=env.get("RASA_AUTH_TOKEN") or None,
            host=env.get("RENBEN_HOST", "127.0.0.1"),
            rasa_port=_port(env, "RASA_PORT", 5005),
            actions_port=_port(env, "ACTIONS_PORT", 5055),
            desk_port=_port(env, "DESK_PORT", 5077),
            wechat_port=_port(env, "WECHAT_PORT", 5006),
        )

    def token(self) -> str:
        """The Rasa API token: the configured one, else one generated and kept in var/."""
        if self.auth_token:
            return self.auth_token
        path = self.var_dir / "auth_token"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if not value:
        return default
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SettingsError(f"{name}={value!r} is not a port number")
    return int(value)


def redis_parts(url: str) -> Dict[str, Any]:
    """host, port, db, password and use_ssl of a redis:// or rediss:// URL."""
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss"):
        raise SettingsError(f"REDIS_URL must start with redis:// or rediss://, not {parsed.scheme}://")
    db = (parsed.path or "/0").lstrip("/") or "0"
    if not db.isdigit():
        raise SettingsError(f"REDIS_URL database must be a number, not {db!r}")
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 6379,
        "db": int(db),
        "password": unquote(parsed.password) if parsed.password else None,
        "use_ssl": parsed.scheme == "rediss",
    }


def tracker_store_config(settings: Settings) -> Dict[str, Any]:
    if not settings.tracker_store_url:
        return {"type": "SQL", "dialect": "sqlite", "db": str(settings.var_dir / "tracker.db")}
    parsed = urlparse(settings.tracker_store_url)
    if parsed.scheme not in ("postgresql", "postgres"):
        raise SettingsError("TRACKER_STORE_URL must be a postgresql:// URL")
    config: Dict[str, Any] = {
        "type": "SQL",
        "dialect": "postgresql",
        "url": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "db": (parsed.path or "/").lstrip("/") or "rasa",
    }
    if parsed.username:
        config["username"] = unquote(parsed.username)
    if parsed.password:
        config["password"] = unquote(parsed.password)
    return config


def endpoints(settings: Settings, redis_url: str) -> Dict[str, Any]:
    """The contents of the endpoints.yml the Rasa server is started with."""
    redis = redis_parts(redis_url)
    lock_store = {"type": "redis", "url": redis["host"], "port": redis["port"], "db": redis["db"],
                  "use_ssl": redis["use_ssl"], "key_prefix": "renben"}
    if redis["password"]:
        lock_store["password"] = redis["password"]
    return {
        "action_endpoint": {"url": f"http://127.0.0.1:{settings.actions_port}/webhook"},
        "tracker_store": tracker_store_config(settings),
        "lock_store": lock_store,
        # Every conversation event goes to a Redis stream the agent desk reads (bot/event_broker.py).
        "event_broker": {"type": "bot.event_broker.RedisStreamEventBroker", "url": redis_url},
    }
