"""Run-time settings, read once from the environment by the launcher and passed down.

Embedded defaults need no configuration: SQLite under var/, an embedded Redis, a generated auth
token. Production sets REDIS_URL, TRACKER_STORE_URL (PostgreSQL) and RASA_AUTH_TOKEN (and
RENBEN_METRICS_TOKEN for Prometheus).
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parents[1]

#: How a topic answer is given (RENBEN_ANSWER_STYLE): `brief` leads with a short answer and offers
#: the rest as buttons; `full` sends the whole entry at once (actions/topic_answer.py).
ANSWER_STYLES = ("brief", "full")


class SettingsError(ValueError):
    """A setting from the environment cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    var_dir: Path = ROOT / "var"
    models_dir: Path = ROOT / "models"
    redis_url: Optional[str] = None  # None: start the embedded Redis
    tracker_store_url: Optional[str] = None  # None: SQLite in var/
    auth_token: Optional[str] = None  # None: generated once and kept in var/auth_token
    actions_token: Optional[str] = None  # Rasa -> action server secret; None: kept in var/actions_token
    #: The bearer token Prometheus reads /metrics with (bot/monitoring/door.py); None: kept in
    #: var/metrics_token by the launcher. A deployment without it has its metrics off.
    metrics_token: Optional[str] = None
    host: str = "127.0.0.1"
    rasa_port: int = 5005
    actions_port: int = 5055
    desk_port: int = 5077
    wechat_port: int = 5006  # the WeChat gateway: the Official Account's server URL
    #: Where Rasa reaches the action server (ACTIONS_URL, e.g. http://actions:5055 in a
    #: container network); None: this machine's `local_host` and `actions_port`.
    actions_url: Optional[str] = None
    answer_style: str = "brief"  # one of ANSWER_STYLES

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        var_dir = Path(env.get("RENBEN_VAR_DIR") or ROOT / "var")
        return cls(
            var_dir=var_dir,
            models_dir=Path(env.get("RENBEN_MODELS_DIR") or ROOT / "models"),
            redis_url=env.get("REDIS_URL") or None,
            tracker_store_url=env.get("TRACKER_STORE_URL") or None,
            auth_token=env.get("RASA_AUTH_TOKEN") or None,
            actions_token=env.get("RENBEN_ACTIONS_TOKEN") or None,
            metrics_token=env.get("RENBEN_METRICS_TOKEN") or None,
            host=env.get("RENBEN_HOST", "127.0.0.1"),
            rasa_port=_port(env, "RASA_PORT", 5005),
            actions_port=_port(env, "ACTIONS_PORT", 5055),
            desk_port=_port(env, "DESK_PORT", 5077),
            wechat_port=_port(env, "WECHAT_PORT", 5006),
            actions_url=(env.get("ACTIONS_URL") or "").rstrip("/") or None,
            answer_style=_answer_style(env),
        )

    def token(self) -> str:
        """The Rasa API token: the configured one, else one generated and kept in var/."""
        return self.auth_token or _kept_secret(self.var_dir / "auth_token")

    def actions_secret(self) -> str:
        """The secret Rasa sends the action server: the configured one, else one kept in var/."""
        return self.actions_token or _kept_secret(self.var_dir / "actions_token")

    def metrics_secret(self) -> str:
        """The token /metrics is read with: the configured one, else one kept in var/."""
        return self.metrics_token or _kept_secret(self.var_dir / "metrics_token")

    def embedded_redis_password(self) -> str:
        """The password of the embedded Redis (make run), kept in var/."""
        return _kept_secret(self.var_dir / "redis_password")

    @property
    def action_server_url(self) -> str:
        """The action server's base URL, as the Rasa server calls it."""
        return self.actions_url or f"http://{self.local_host}:{self.actions_port}"

    @property
    def local_host(self) -> str:
        """Where a process on this machine reaches the servers (`host`, or loopback for 0.0.0.0)."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host


def _kept_secret(path: Path) -> str:
    """A random secret kept in `path` (0600), made on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if not value:
        return default
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SettingsError(f"{name}={value!r} is not a port number")
    return int(value)


def _answer_style(env: Mapping[str, str]) -> str:
    value = (env.get("RENBEN_ANSWER_STYLE") or "brief").strip().lower()
    if value not in ANSWER_STYLES:
        raise SettingsError(f"RENBEN_ANSWER_STYLE={value!r} is not one of {', '.join(ANSWER_STYLES)}")
    return value


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


#: Rasa's SQL tracker store, saving a turn with one read instead of two (bot/tracker_store.py).
TRACKER_STORE_TYPE = "bot.tracker_store.SQLTrackerStore"


def tracker_store_config(settings: Settings) -> Dict[str, Any]:
    if not settings.tracker_store_url:
        return {"type": TRACKER_STORE_TYPE, "dialect": "sqlite", "db": str(settings.var_dir / "tracker.db")}
    parsed = urlparse(settings.tracker_store_url)
    if parsed.scheme not in ("postgresql", "postgres"):
        raise SettingsError("TRACKER_STORE_URL must be a postgresql:// URL")
    config: Dict[str, Any] = {
        "type": TRACKER_STORE_TYPE,
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
    # Rasa's Redis lock store, with short tickets renewed while a turn runs (bot/lock_store.py).
    lock_store = {"type": "bot.lock_store.RenewingLockStore", "url": redis["host"], "port": redis["port"],
                  "db": redis["db"], "use_ssl": redis["use_ssl"], "key_prefix": "renben"}
    if redis["password"]:
        lock_store["password"] = redis["password"]
    return {
        # The action server refuses calls without this header (actions/server.py).
        "action_endpoint": {"url": f"{settings.action_server_url}/webhook",
                            "headers": {"Authorization": f"Bearer {settings.actions_secret()}"}},
        "tracker_store": tracker_store_config(settings),
        "lock_store": lock_store,
        # Every conversation event goes to a Redis stream the agent desk reads (bot/event_broker.py).
        "event_broker": {"type": "bot.event_broker.RedisStreamEventBroker", "url": redis_url},
    }


def running_redis_url(var_dir: Path) -> Optional[str]:
    """The Redis URL (password included) the running stack wrote to var/endpoints.yml, or None:
    how tools run beside `make run` (retention, trainers) find the embedded Redis."""
    import yaml

    try:
        config = yaml.safe_load((var_dir / "endpoints.yml").read_text()) or {}
        return str(config["event_broker"]["url"])
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return None
