"""A Rasa event broker that appends every conversation event to a Redis stream.

Configured in endpoints.yml (bot/settings.py writes it):

    event_broker:
      type: bot.event_broker.RedisStreamEventBroker
      url: redis://127.0.0.1:6379/0
      stream: renben:events      # optional, core.redis_keys.EVENTS_STREAM
      maxlen: 100000             # optional, trimmed approximately (MAXLEN ~)

Each stream entry has the fields `sender_id`, `event` (the event's type) and `data` (the event
as JSON, exactly as Rasa's `Event.as_dict()` plus `sender_id`). The agent desk reads it.

`publish` never blocks the bot and never raises: it hands the event to a background thread
that writes in batches, in order. If Redis is unreachable the thread logs, keeps up to
`buffer` events and retries; past that the oldest are dropped and the count logged.
"""
from __future__ import annotations

import asyncio
import collections
import json
import logging
import threading
import time
from asyncio import AbstractEventLoop
from typing import Any, Deque, Dict, Optional, Text

import redis
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from core import redis_clients
from core.redis_keys import EVENTS_STREAM

logger = logging.getLogger(__name__)

BATCH = 200
RETRY_SECONDS = 1.0


class RedisStreamEventBroker(EventBroker):
    def __init__(self, url: str, *, stream: str = EVENTS_STREAM, maxlen: int = 100_000,
                 buffer: int = 50_000) -> None:
        self.stream, self.maxlen, self.buffer = stream, int(maxlen), int(buffer)
        self._client = redis_clients.connect(url, decode_responses=False, socket_timeout=5)
        self._pending: Deque[Dict[str, Any]] = collections.deque()
        self._wakeup = threading.Condition()
        self._stopping = False
        self._dropped = 0
        self._healthy = True
        self._writing = False
        self._thread = threading.Thread(target=self._run, name="redis-event-broker", daemon=True)
        self._thread.start()

    @classmethod
    async def from_endpoint_config(cls, broker_config: EndpointConfig,
                                   event_loop: Optional[AbstractEventLoop] = None
                                   ) -> Optional["RedisStreamEventBroker"]:
        if broker_config is None or not broker_config.url:
            logger.error("The Redis event broker needs a url (redis://host:port/db); not streaming events.")
            return None
        options = {key: broker_config.kwargs[key] for key in ("stream", "maxlen", "buffer")
                   if key in broker_config.kwargs}
        return cls(broker_config.url, **options)

    def publish(self, event: Dict[Text, Any]) -> None:
        """Queue the event for the stream; returns at once."""
        with self._wakeup:
            if len(self._pending) >= self.buffer:
                self._pending.popleft()
                self._dropped += 1
            self._pending.append(event)
            self._wakeup.notify()

    def is_ready(self) -> bool:
        return self._healthy

    async def close(self) -> None:
        """Writes what is pending (for up to 5 s) and stops the thread."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()
        deadline = time.monotonic() + 5
        while self._thread.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        self._client.close()

    def flush(self, timeout: float = 5.0) -> bool:
        """Waits until every published event is written (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._wakeup:
                if not self._pending and not self._writing:
                    return True
            time.sleep(0.005)
        return False

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._pending and not self._stopping:
                    self._wakeup.wait()
                if not self._pending and self._stopping:
                    return
                batch = [self._pending.popleft() for _ in range(min(BATCH, len(self._pending)))]
                self._writing = True
            try:
                self._write(batch)
                self._healthy = True
            except redis.RedisError as error:
                with self._wakeup:
                    self._pending.extendleft(reversed(batch))
                    while len(self._pending) > self.buffer:
                        self._pending.popleft()
                        self._dropped += 1
                    stopping = self._stopping
                if self._healthy:
                    logger.error("Cannot write conversation events to Redis (%s); keeping them and retrying.", error)
                self._healthy = False
                if stopping:
                    logger.error("Stopping with %d conversation events not written to Redis.", len(self._pending))
                    return
                time.sleep(RETRY_SECONDS)
            except Exception:  # noqa: BLE001 - a bad event must not stop the stream
                logger.exception("Could not stream a batch of conversation events; skipping it.")
            finally:
                with self._wakeup:
                    self._writing = False
            if self._dropped:
                logger.error("Dropped %d conversation events: Redis was unreachable for too long.", self._dropped)
                self._dropped = 0

    def _write(self, batch: list) -> None:
        pipe = self._client.pipeline(transaction=False)
        for event in batch:
            pipe.xadd(self.stream, {
                "sender_id": str(event.get("sender_id") or ""),
                "event": str(event.get("event") or ""),
                "data": json.dumps(event, ensure_ascii=False, default=str),
            }, maxlen=self.maxlen, approximate=True)
        pipe.execute()
