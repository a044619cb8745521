"""`GET /health` of every Renben process: can it reach what it needs (Redis, the tracker store)?

Each process (Rasa: bot/rasa_server.py; action server: actions/server.py; desk: handoff/server.py;
WeChat gateway: bot/channels/wechat/gateway.py) runs its probes with `check`, and answers with
`report`: 200 and `{"status": "ok", "checks": {"redis": true, ...}}` when every check passed,
503 and `"status": "unavailable"` otherwise. The body names checks and nothing else: no URL, host,
password or error text, since the route is unauthenticated (an orchestrator calls it).

The launcher (tooling/launch.py, tooling/supervision.py `HealthWatch`) restarts a child that stays
unhealthy; docs/operations.md says what a production orchestrator should do with it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Tuple

logger = logging.getLogger(__name__)

#: Seconds one probe may take before it counts as failed (an orchestrator's own timeout is longer).
PROBE_SECONDS = 2.0

Probe = Callable[[], Awaitable[Any]]


def report(checks: Mapping[str, bool], **facts: Any) -> Tuple[int, Dict[str, Any]]:
    """(HTTP status, JSON body) for the checks' results; `facts` (booleans, names) are added as is."""
    healthy = all(checks.values())
    return (200 if healthy else 503), {"status": "ok" if healthy else "unavailable", "checks": dict(checks), **facts}


async def check(probes: Mapping[str, Probe], *, timeout: float = PROBE_SECONDS) -> Dict[str, bool]:
    """Runs every probe at once; a probe passes when it returns within `timeout` without raising."""

    async def one(name: str, probe: Probe) -> bool:
        try:
            await asyncio.wait_for(probe(), timeout)
            return True
        except Exception as error:  # noqa: BLE001 - any failure is "unreachable"; the log says which
            logger.warning("health: %s unreachable: %s", name, type(error).__name__)
            return False

    names = list(probes)
    results = await asyncio.gather(*(one(name, probes[name]) for name in names))
    return dict(zip(names, results))


def redis_probe(client: Any) -> Probe:
    """PING with `client`: a redis.asyncio client, or a redis-py (sync) one, run in a thread."""
    import redis.asyncio as aioredis

    async def probe() -> None:
        if client is None:
            raise ConnectionError("no Redis client")
        if isinstance(client, aioredis.Redis):
            await client.ping()
        else:
            await asyncio.to_thread(client.ping)

    return probe


def sql_probe(engine: Any) -> Probe:
    """`SELECT 1` on an SQLAlchemy engine (None: none could be built), in a thread (drivers block)."""

    def select_one() -> None:
        import sqlalchemy as sa

        if engine is None:
            raise ConnectionError("no engine")
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    async def probe() -> None:
        await asyncio.to_thread(select_one)

    return probe


def tracker_store_probe(store: Any) -> Probe:
    """A probe of Rasa's tracker store: SQL (`SELECT 1`), Redis (PING), or reading a tracker.

    Rasa wraps the configured store (fail-safe, awaitable wrappers); the innermost is probed."""
    inner = store
    while getattr(inner, "_tracker_store", None) is not None:
        inner = inner._tracker_store
    if getattr(inner, "engine", None) is not None:
        return sql_probe(inner.engine)
    if getattr(inner, "red", None) is not None:
        return redis_probe(inner.red)

    async def retrieve() -> None:
        if store is None:
            raise ConnectionError("no tracker store")
        await store.retrieve("renben-health-check")

    return retrieve


def engine_for(url: str) -> Optional[Any]:
    """An SQLAlchemy engine for a tracker-store URL (sqlite:///…, postgresql://…), made once per
    process by the caller; None when SQLAlchemy cannot build one."""
    try:
        import sqlalchemy as sa

        return sa.create_engine(url, pool_pre_ping=True)
    except Exception:  # noqa: BLE001 - reported as an unreachable tracker store
        logger.exception("health: cannot build an engine for the tracker store")
        return None
