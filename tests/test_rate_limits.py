"""Per-address and per-user limits shared through a real Redis, as two Rasa processes would."""
from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bot.channels import rate_limits
from bot.channels.rate_limits import WindowLimit, wait_after


def test_the_limit_allows_n_a_minute_then_says_how_long_to_wait():
    assert wait_after(3, 3, now=120.0) == 0.0
    assert wait_after(4, 3, now=150.0) == 30.0  # the window ends at 180
    assert wait_after(10_000, 0, now=1.0) == 0.0  # 0: no limit


def test_two_processes_share_one_count_and_a_new_minute_starts_afresh(redis_server):
    async def scenario():
        first, second = (aioredis.Redis.from_url(redis_server.url) for _ in range(2))
        try:
            a = WindowLimit(first, prefix="renben:test:addr:", per_minute=3)
            b = WindowLimit(second, prefix="renben:test:addr:", per_minute=3)
            now = 6_000_000.0
            waits = [await limit.wait_for("203.0.113.7", now=now) for limit in (a, b, a)]
            over = await b.wait_for("203.0.113.7", now=now + 1)
            other = await b.wait_for("198.51.100.2", now=now + 1)
            later = await a.wait_for("203.0.113.7", now=now + rate_limits.WINDOW_SECONDS)
            ttl = await first.ttl(f"renben:test:addr:203.0.113.7:{rate_limits.window_of(now)}")
            return waits, over, other, later, ttl
        finally:
            await first.close()
            await second.close()

    waits, over, other, later, ttl = asyncio.run(scenario())
    assert waits == [0.0, 0.0, 0.0] and over == 59.0 and other == 0.0 and later == 0.0
    assert 0 < ttl <= 2 * rate_limits.WINDOW_SECONDS  # counters do not pile up in Redis


def test_redis_away_never_locks_claimants_out():
    async def scenario():
        dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
        try:
            return await WindowLimit(dead, prefix="x:", per_minute=1).wait_for("203.0.113.7")
        finally:
            await dead.close()

    assert asyncio.run(scenario()) == 0.0
