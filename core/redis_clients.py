"""Every Redis client of Renben is made here, so that each one comes back the same way after Redis
restarts or a connection goes stale (issue 17, item 3).

redis-py's own retry does the work: a command that fails with a connection error (a pooled
connection Redis closed when it restarted, Redis still loading its AOF) is sent again on a fresh
connection, after a jittered exponential backoff, up to RETRIES times (about 5 s in all); only then
does the caller see the error, and its own loop backs off and tries again. Timeouts are not
retried: the command may have run, and a retried XADD or INCR would count twice. Idle pooled
connections are checked with PING before use (`health_check_interval`).

Use `connect(url)` (redis-py) or `connect_async(url)` (redis.asyncio); `like(client)` for an
asyncio client of the server a redis-py client talks to (Rasa's lock store); `options(...)` for a
client built from host and port (bot/lock_store.py).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

RETRIES = 5
BACKOFF_BASE = 0.1  # seconds: 0.1, 0.2, 0.4, 0.8, 1.6 (each half of it jitter), capped below
BACKOFF_CAP = 2.0
CONNECT_TIMEOUT = 2.0
HEALTH_CHECK_SECONDS = 15


def options(*, asyncio: bool, decode_responses: bool, socket_timeout: Optional[float]) -> Dict[str, Any]:
    """The keyword arguments of a redis-py (`asyncio=False`) or redis.asyncio client that
    reconnects with backoff; for a client built from host and port rather than a URL."""
    retry_class = AsyncRetry if asyncio else Retry
    return {
        "decode_responses": decode_responses,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_keepalive": True,
        "health_check_interval": HEALTH_CHECK_SECONDS,
        "retry": retry_class(
            EqualJitterBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE), RETRIES, supported_errors=(RedisConnectionError,)
        ),
        "retry_on_error": [RedisConnectionError],
    }


def connect(url: str, *, decode_responses: bool = True, socket_timeout: Optional[float] = None) -> "redis.Redis":
    """A redis-py client that reconnects with backoff. Raises nothing until first used.

    `socket_timeout`: None for a client that blocks on pub/sub (a read timeout would end it)."""
    return redis.Redis.from_url(
        url, **options(asyncio=False, decode_responses=decode_responses, socket_timeout=socket_timeout)
    )


def connect_async(
    url: str, *, decode_responses: bool = True, socket_timeout: Optional[float] = None
) -> "aioredis.Redis":
    """A redis.asyncio client that reconnects with backoff."""
    return aioredis.Redis.from_url(
        url, **options(asyncio=True, decode_responses=decode_responses, socket_timeout=socket_timeout)
    )


def like(sync_client: Any, *, decode_responses: bool = True) -> "aioredis.Redis":
    """An asyncio client (reconnecting with backoff) for the server `sync_client` talks to."""
    kwargs = dict(sync_client.connection_pool.connection_kwargs)
    server = {
        name: kwargs[name] for name in ("host", "port", "db", "username", "password") if kwargs.get(name) is not None
    }
    if "SSL" in sync_client.connection_pool.connection_class.__name__:
        server["ssl"] = True
    return aioredis.Redis(**server, **options(asyncio=True, decode_responses=decode_responses, socket_timeout=None))
