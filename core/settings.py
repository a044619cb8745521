"""Run-time settings every process shares, read once from the environment (`Settings.from_env`)
by a process's `main()` and passed down. What the Rasa server is started with (its endpoints.yml)
is built from them in bot/settings.py; the desk's own settings are handoff/settings.py.

This module is the only place the environment is read (tests/test_settings_read_once.py): a
process's `main()` builds one `Settings` and installs it (`install`); what Rasa or rasa_sdk
builds itself (channels from credentials.yml, actions) takes it with `current()`. The settings of
one part (the web and WeChat channels' `RENBEN_WEB_*` / `WECHAT_*`, the desk's) are parsed by
that part from `Settings.env`, the snapshot of the environment taken here.

Embedded defaults need no configuration: SQLite under var/, an embedded Redis, a generated auth
token. Production sets REDIS_URL, TRACKER_STORE_URL (PostgreSQL) and RASA_AUTH_TOKEN (and
RENBEN_METRICS_TOKEN for Prometheus).
"""

from __future__ import annotations

import logging
import os
import secrets
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import unquote, urlparse

from core import paths

ROOT = paths.ROOT  # the one ROOT (core/paths.py); much of the project takes it from here
logger = logging.getLogger(__name__)

#: How a topic answer is given (RENBEN_ANSWER_STYLE): `brief` leads with a short answer and offers
#: the rest as buttons; `full` sends the whole entry at once (actions/topic_answer.py).
ANSWER_STYLES = ("brief", "full")

#: How long a conversation is kept after its last event, in days: the period the purge job applies
#: and the privacy notices promise (RETENTION_DAYS).
DEFAULT_RETENTION_DAYS = 90
RETENTION_ENV = "RETENTION_DAYS"
#: The web channel's own name for the period, from before there was one setting: still read, with
#: a deprecation warning, when RETENTION_DAYS is not set (and then it sets the purge too).
OLD_RETENTION_ENV = "RENBEN_WEB_RETENTION_DAYS"
ACTION_TIMEOUT_SECONDS = 20.0
DEFAULT_MODELS_KEEP = 5


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
    #: The bearer token Prometheus reads /metrics with (core/monitoring/door.py); None: kept in
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
    #: Days a conversation is kept: the purge job applies it, the privacy notices promise it.
    retention_days: float = DEFAULT_RETENTION_DAYS
    data_dir: Path = ROOT / "data"  # RENBEN_DATA_DIR: the knowledge base, crisis contacts
    #: The review inbox folders the purge cleans (RENBEN_REVIEW_DIRS, os.pathsep-separated);
    #: empty: <var_dir>/review.
    review_dirs: Tuple[Path, ...] = ()
    #: Seconds Rasa waits for one custom action call (RENBEN_ACTION_TIMEOUT; bot/turn_guard.py).
    action_timeout: float = ACTION_TIMEOUT_SECONDS
    models_keep: int = DEFAULT_MODELS_KEEP  # RENBEN_MODELS_KEEP: trained models kept in models/
    eval_dir: Path = ROOT.parent / "shared" / "eval"  # RENBEN_EVAL_DIR: the development slice
    #: The environment as it was read, for the parts that parse their own variables (the channels'
    #: RENBEN_WEB_* and WECHAT_*, the desk's DeskSettings). Not compared, never shown.
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), compare=False, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        """The settings from `env` (the process's environment); raises SettingsError."""
        var_dir = Path(env.get("RENBEN_VAR_DIR") or ROOT / "var")
        reviews = env.get("RENBEN_REVIEW_DIRS") or ""
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
            retention_days=retention_days(env),
            data_dir=Path(env.get("RENBEN_DATA_DIR") or ROOT / "data"),
            review_dirs=tuple(Path(p) for p in reviews.split(os.pathsep) if p),
            action_timeout=_positive(env, "RENBEN_ACTION_TIMEOUT", ACTION_TIMEOUT_SECONDS),
            models_keep=_models_keep(env),
            eval_dir=Path(env.get("RENBEN_EVAL_DIR") or ROOT.parent / "shared" / "eval"),
            env=MappingProxyType(dict(env)),
        )

    @property
    def review_folders(self) -> Tuple[Path, ...]:
        """The review inbox folders: RENBEN_REVIEW_DIRS, else <var_dir>/review."""
        return self.review_dirs or (self.var_dir / "review",)

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


_process: Optional[Settings] = None


def install(settings: Settings) -> Settings:
    """Makes `settings` this process's settings (a `main()` calls it once, first thing)."""
    global _process
    _process = settings
    return settings


def current() -> Settings:
    """This process's settings: the ones its `main()` installed. A process started without one of
    Renben's `main()`s (`rasa shell`, a test) reads the environment here, once."""
    global _process
    if _process is None:
        _process = Settings.from_env()
    return _process


def retention_days(env: Mapping[str, str]) -> float:
    """RETENTION_DAYS (90 when unset), else the deprecated RENBEN_WEB_RETENTION_DAYS (with a
    warning); raises SettingsError when it is not a number of days above 0."""
    name = RETENTION_ENV
    if not env.get(RETENTION_ENV) and env.get(OLD_RETENTION_ENV):
        name = OLD_RETENTION_ENV
        note = (
            f"{OLD_RETENTION_ENV} is deprecated: set {RETENTION_ENV}, the one retention period "
            "(the purge job applies it and the privacy notices promise it)"
        )
        logger.warning(note)  # seen in the service's log; the warning is for tests and tools
        warnings.warn(note, DeprecationWarning, stacklevel=2)
    text = env.get(name) or str(DEFAULT_RETENTION_DAYS)
    try:
        days = float(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not a number of days") from None
    if not days > 0:
        raise SettingsError(f"{name}={text!r} must be more than 0")
    return days


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    try:
        value = float(text) if text else default
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not a number of seconds") from None
    if value <= 0:
        raise SettingsError(f"{name} must be more than 0 seconds")
    return value


def _models_keep(env: Mapping[str, str]) -> int:
    try:
        return max(1, int(env.get("RENBEN_MODELS_KEEP") or DEFAULT_MODELS_KEEP))
    except ValueError:
        return DEFAULT_MODELS_KEEP


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


def running_redis_url(var_dir: Path) -> Optional[str]:
    """The Redis URL (password included) the running stack wrote to var/endpoints.yml, or None:
    how tools run beside `make run` (retention, trainers) find the embedded Redis."""
    import yaml

    try:
        config = yaml.safe_load((var_dir / "endpoints.yml").read_text()) or {}
        return str(config["event_broker"]["url"])
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return None
