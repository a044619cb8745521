"""What the Rasa server is started with: its endpoints.yml (action server, tracker store, lock
store, event broker), built from the shared settings (core/settings.py) by the launcher and the
container entry point (tooling/launch.py, tooling/serve.py).
"""
from __future__ import annotations

from typing import Any, Dict
from urllib.parse import unquote, urlparse

from core.redis_keys import RASA_LOCK_KEY_PREFIX
from core.settings import Settings, SettingsError, redis_parts

__all__ = ["TRACKER_STORE_TYPE", "endpoints", "tracker_store_config"]

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
                  "db": redis["db"], "use_ssl": redis["use_ssl"], "key_prefix": RASA_LOCK_KEY_PREFIX}
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
