"""Wakes the gateway's request waiting for a message's passive answer as soon as the Rasa side
hands it over (handshake.py publishes the message's key on ANSWERS_CHANNEL). Only a shortcut:
a request that misses its wake-up still finds the answer in the handshake at its deadline."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Set

from core.redis_keys import WECHAT_ANSWERS_CHANNEL as ANSWERS_CHANNEL

logger = logging.getLogger(__name__)


class AnswerBell:
    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.waiting: Dict[str, Set[asyncio.Future]] = {}

    async def wait(self, key: str, timeout: float) -> bool:
        """Until `key` is announced (True) or `timeout` seconds pass (False)."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(key, set()).add(future)
        try:
            await asyncio.wait_for(future, timeout=max(0.0, timeout))
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            waiters = self.waiting.get(key)
            if waiters is not None:
                waiters.discard(future)
                if not waiters:
                    del self.waiting[key]

    def ring(self, key: str) -> None:
        for future in self.waiting.get(key, ()):
            if not future.done():
                future.set_result(None)

    async def run(self) -> None:
        """Listens until cancelled; resubscribes after a Redis error."""
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(ANSWERS_CHANNEL)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        self.ring(str(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("wechat: listening on %s failed; subscribing again", ANSWERS_CHANNEL)
                await asyncio.sleep(1.0)
            finally:
                try:
                    await pubsub.close()
                except Exception:
                    pass
