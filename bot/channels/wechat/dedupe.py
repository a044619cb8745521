"""Each inbound message handled once, across processes: WeChat sends a message again (three
times in all) when it has no answer within 5 seconds.

The first request to `claim` a message's key (SET NX, with expiry) handles it; later ones get
`Seen` with what the first one did: still working or gone to the customer-service API (answer
`success`: the answer arrives that way), or the passive reply texts (answer them again, so a
reply lost on the network still reaches the claimant, without running the bot twice).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, List, Optional

from core.redis_keys import WECHAT_SEEN as SEEN
from bot.channels.wechat.constants import SEEN_TTL

PENDING = "pending"
ASYNC = "async"
REPLY = "reply:"


@dataclass(frozen=True)
class Seen:
    state: str  # PENDING, ASYNC or "reply"
    texts: Optional[List[str]] = None  # the passive reply, for state "reply"


def seen_from(value: Optional[str]) -> Optional[Seen]:
    """The stored state as a Seen (None: never seen). Pure."""
    if value is None:
        return None
    if value.startswith(REPLY):
        try:
            texts = json.loads(value[len(REPLY):])
        except ValueError:
            texts = None
        if isinstance(texts, list) and all(isinstance(t, str) for t in texts):
            return Seen("reply", texts)
        return Seen(ASYNC)
    return Seen(value if value in (PENDING, ASYNC) else ASYNC)


class Dedupe:
    """Message states in Redis (asyncio client); keys from Inbound.dedupe_key."""

    def __init__(self, redis: Any, *, ttl: int = SEEN_TTL) -> None:
        self.redis, self.ttl = redis, ttl

    async def claim(self, key: str) -> Optional[Seen]:
        """None when this request now owns the message and must handle it; else what the
        request that owns it has done so far."""
        if await self.redis.set(SEEN + key, PENDING, nx=True, ex=self.ttl):
            return None
        return seen_from(await self.redis.get(SEEN + key)) or Seen(PENDING)

    async def replied(self, key: str, texts: List[str]) -> None:
        """Records the passive reply given, for retries of the same message."""
        await self.redis.set(SEEN + key, REPLY + json.dumps(texts, ensure_ascii=False), ex=self.ttl)

    async def went_async(self, key: str) -> None:
        """Records that the answer goes out through the customer-service API."""
        await self.redis.set(SEEN + key, ASYNC, ex=self.ttl)

    async def release(self, key: str) -> None:
        """Forgets a message whose handling failed before anything was said, so that WeChat's
        next retry handles it again."""
        await self.redis.delete(SEEN + key)
