"""The Official Account's access token, cached in Redis and shared by every process.

WeChat allows few token fetches a day and a new token retires the old one after a short while,
so processes must not fetch their own. `Tokens.get()` returns the cached token; when there is
none (or it is within TOKEN_MARGIN seconds of expiring, which is when the key expires), one
process takes a short lock and fetches, the others wait for its result. `Tokens.invalid(token)`
drops a token WeChat refused (40001, 42001) unless another process already replaced it, so the
next `get()` fetches at once.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Awaitable, Callable, Tuple

from core.redis_keys import WECHAT_ACCESS_TOKEN as ACCESS_TOKEN, WECHAT_ACCESS_TOKEN_LOCK as ACCESS_TOKEN_LOCK
from bot.channels.wechat.constants import TOKEN_LOCK_MS, TOKEN_MARGIN
from bot.channels.wechat.exceptions import ApiUnavailable

#: Fetches a new token from WeChat: (access_token, expires_in seconds). Raises ApiError.
Fetch = Callable[[], Awaitable[Tuple[str, int]]]

_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Tokens:
    def __init__(self, redis: Any, fetch: Fetch, *, margin: int = TOKEN_MARGIN,
                 lock_ms: int = TOKEN_LOCK_MS) -> None:
        self.redis, self.fetch, self.margin, self.lock_ms = redis, fetch, margin, lock_ms
        self._delete_if_equal = redis.register_script(_DELETE_IF_EQUAL)

    async def get(self) -> str:
        """A token valid for at least `margin` more seconds. Raises TokenError, ApiUnavailable."""
        deadline = time.monotonic() + self.lock_ms / 1000 * 2
        while True:
            token = await self.redis.get(ACCESS_TOKEN)
            if token:
                return token
            holder = uuid.uuid4().hex
            if await self.redis.set(ACCESS_TOKEN_LOCK, holder, nx=True, px=self.lock_ms):
                try:
                    token = await self.redis.get(ACCESS_TOKEN)  # fetched while we took the lock?
                    if token:
                        return token
                    token, expires_in = await self.fetch()
                    # The key expires `margin` seconds before WeChat's expiry: refreshed early.
                    ttl = max(60, int(expires_in) - self.margin)
                    await self.redis.set(ACCESS_TOKEN, token, ex=ttl)
                    return token
                finally:
                    await self._delete_if_equal(keys=[ACCESS_TOKEN_LOCK], args=[holder])
            if time.monotonic() > deadline:
                raise ApiUnavailable("another process holds the token lock and fetched nothing")
            await asyncio.sleep(0.05)

    async def invalid(self, token: str) -> None:
        """WeChat refused `token` (40001, 42001): forget it unless it was already replaced."""
        await self._delete_if_equal(keys=[ACCESS_TOKEN], args=[token])
