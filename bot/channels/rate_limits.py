"""Rate limits shared by every Rasa process: at most N messages a minute per key (a client
address, or a WeChat user), counted in Redis in fixed one-minute windows.

    limit = WindowLimit(redis_client, prefix=keys.ADDRESS_LIMIT, per_minute=300)
    wait = await limit.wait_for("203.0.113.7")   # 0.0: go on; else seconds until allowed

The per-session limits stay in each channel (the web socket's token bucket); these stop one
address (or one WeChat user) from flooding the bot through many sessions or processes. Redis
being away never locks claimants out: the limit then lets messages through (and logs it).
"""
from __future__ import annotations

import logging
import time
from typing import Any, Optional

import redis

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60


def window_of(now: float) -> int:
    return int(now // WINDOW_SECONDS)


def wait_after(count: int, per_minute: int, now: float) -> float:
    """Seconds to wait when this is message number `count` of the current window; 0.0 if allowed."""
    if per_minute <= 0 or count <= per_minute:
        return 0.0
    return max(0.01, (window_of(now) + 1) * WINDOW_SECONDS - now)


class WindowLimit:
    def __init__(self, client: Any, *, prefix: str, per_minute: int) -> None:
        self.client, self.prefix, self.per_minute = client, prefix, int(per_minute)

    async def wait_for(self, key: Optional[str], *, now: Optional[float] = None) -> float:
        """Counts one message for `key`; the seconds to wait before it may be handled, or 0.0."""
        if not key or self.per_minute <= 0:
            return 0.0
        now = time.time() if now is None else now
        name = f"{self.prefix}{key}:{window_of(now)}"
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(name)
            pipe.expire(name, 2 * WINDOW_SECONDS)
            count, _ = await pipe.execute()
        except (redis.RedisError, OSError) as error:
            logger.warning("rate limit %s not counted (Redis: %s); letting the message through", self.prefix, error)
            return 0.0
        return wait_after(int(count), self.per_minute, now)
