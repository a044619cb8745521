"""The desk's settings: one frozen dataclass, built once in `main()` (or by the action server's
start-up) with `from_env()` and passed down. Nothing in `handoff/` reads the environment itself.

Environment variables (all optional except where a process needs Redis):

    REDIS_URL                     redis://host:port/db of the queue (required by the desk)
    RASA_URL, RASA_AUTH_TOKEN     the Rasa HTTP API the desk appends agent messages to
    DESK_HOST, DESK_PORT          where the desk listens (127.0.0.1:5077)
    DESK_GRACE_SECONDS            how long a disconnected agent keeps their tickets (60)
    DESK_HOURS                    staffed hours, e.g. "mon-fri 08:30-17:30" (empty: always staffed)
    DESK_TZ_OFFSET_HOURS          the hours' time zone as an offset from UTC (8)
    DESK_THRESHOLDS               wait alerts per priority, e.g. "crisis=60,urgent=180" (seconds)
    DESK_DEFAULT_HANDLING_SECONDS mean handling time before any is measured (300)
    DESK_DEFAULT_CAPACITY         tickets an agent may hold at once unless their account says (3)
    RENBEN_VAR_DIR                where the audit log's file mirror is kept (var/audit/audit.jsonl)
    RENBEN_METRICS_TOKEN          the bearer token Prometheus reads /metrics with (none: metrics off)
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

from core.privacy.audit import mirror_path
from core.settings import ROOT
from handoff.exceptions import InvalidRequest
from handoff.tickets import Priority, check_capacity

#: Seconds a ticket of each priority may wait before supervisors are alerted.
DEFAULT_THRESHOLDS: Dict[Priority, float] = {
    Priority.CRISIS: 60.0, Priority.URGENT: 180.0, Priority.COMPLEX: 600.0,
    Priority.REQUESTED: 900.0, Priority.CALLBACK: 4 * 3600.0,
}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)-(mon|tue|wed|thu|fri|sat|sun)\s+"
                    r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class StaffedHours:
    """Days (0 = Monday) and minutes of the day [start, end) when agents are on duty, in a fixed
    UTC offset. `None` days means always staffed."""

    days: Optional[Tuple[int, ...]] = None
    start_minute: int = 0
    end_minute: int = 24 * 60
    utc_offset_hours: float = 8.0

    @classmethod
    def parse(cls, text: str, *, utc_offset_hours: float = 8.0) -> "StaffedHours":
        """"mon-fri 08:30-17:30"; an empty text is always staffed."""
        text = (text or "").strip().lower()
        if not text:
            return cls(utc_offset_hours=utc_offset_hours)
        match = _HOURS.match(text)
        if not match:
            raise InvalidRequest(f"staffed hours must look like 'mon-fri 08:30-17:30', not {text!r}")
        first, last = _DAYS.index(match[1]), _DAYS.index(match[2])
        days = tuple(d % 7 for d in range(first, (last if last >= first else last + 7) + 1))
        start, end = int(match[3]) * 60 + int(match[4]), int(match[5]) * 60 + int(match[6])
        if not 0 <= start < end <= 24 * 60:
            raise InvalidRequest(f"staffed hours {text!r}: the start must be before the end")
        return cls(days, start, end, utc_offset_hours)

    def is_open(self, at: float) -> bool:
        if self.days is None:
            return True
        local = time.gmtime(at + self.utc_offset_hours * 3600)
        minute = local.tm_hour * 60 + local.tm_min
        return local.tm_wday in self.days and self.start_minute <= minute < self.end_minute


@dataclass(frozen=True)
class DeskSettings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    host: str = "127.0.0.1"
    port: int = 5077
    grace_seconds: float = 60.0
    thresholds: Mapping[Priority, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    default_handling_seconds: float = 300.0
    #: Tickets an agent may hold at once when their account sets no capacity (handoff/agents.py).
    default_capacity: int = 3
    hours: StaffedHours = StaffedHours()
    #: Recent handling times kept per language for the wait estimate.
    handling_samples: int = 50
    #: Frames larger than this close the agent's connection (close code 1009).
    max_frame_bytes: int = 64 * 1024
    #: How often the desk sweeps presence and wait thresholds.
    sweep_interval_seconds: float = 2.0
    #: Approximate length the event stream and outboxes are trimmed to.
    stream_maxlen: int = 100_000
    #: The audit log's append-only file mirror (None: the Redis stream only).
    audit_mirror: Optional[Path] = None
    #: The bearer token of GET /metrics (core/monitoring/door.py); empty: the metrics are off.
    metrics_token: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "DeskSettings":
        thresholds = dict(DEFAULT_THRESHOLDS)
        for part in filter(None, (env.get("DESK_THRESHOLDS") or "").split(",")):
            name, _, value = part.partition("=")
            try:
                thresholds[Priority(name.strip())] = float(value)
            except ValueError:
                raise InvalidRequest(f"DESK_THRESHOLDS entry {part!r} is not priority=seconds") from None
        offset = _number(env, "DESK_TZ_OFFSET_HOURS", 8.0)
        return cls(
            redis_url=env.get("REDIS_URL") or cls.redis_url,
            rasa_url=(env.get("RASA_URL") or cls.rasa_url).rstrip("/"),
            rasa_token=env.get("RASA_AUTH_TOKEN") or "",
            host=env.get("DESK_HOST") or cls.host,
            port=int(_number(env, "DESK_PORT", cls.port)),
            grace_seconds=_number(env, "DESK_GRACE_SECONDS", cls.grace_seconds),
            thresholds=thresholds,
            default_handling_seconds=_number(env, "DESK_DEFAULT_HANDLING_SECONDS",
                                             cls.default_handling_seconds),
            default_capacity=check_capacity(int(_number(env, "DESK_DEFAULT_CAPACITY", cls.default_capacity))),
            hours=StaffedHours.parse(env.get("DESK_HOURS") or "", utc_offset_hours=offset),
            audit_mirror=mirror_path(Path(env.get("RENBEN_VAR_DIR") or ROOT / "var")),
            metrics_token=env.get("RENBEN_METRICS_TOKEN") or "",
        )


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise InvalidRequest(f"{name}={value!r} is not a number") from None
    if number < 0:
        raise InvalidRequest(f"{name}={value!r} must not be negative")
    return number
