"""The web channel's Redis side: message states for dedupe, each conversation's stream of server
messages, and the desk outbox copied into those streams (keys `WEB_*` in core/redis_keys.py).

Every server message a claimant should see (bot replies, agent messages, queue positions ...) is
appended to the conversation's stream first; a connection then sends what its stream holds after
the last id it sent. So a message written while the claimant's socket is down, or held by
another process, is sent when the widget reconnects with its `last_seq`, and never twice.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional

import redis.asyncio as aioredis

from core import redis_clients
from core.stream_consumer import BACKOFF, StreamConsumer
from bot.channels.web import constants as keys
from bot.channels.web.protocol import encode, outbox_frame
from core import redis_keys

logger = logging.getLogger(__name__)

# Copy one outbox entry into its conversation's stream once, whichever process gets there first.
_COPY_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'f', ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
  return id
end
return false
"""

# Read a message's state and, when it has none, claim it for this process, in one round trip.
# Returns the state before (nil: the caller now owns the message).
_CLAIM = """
local previous = redis.call('GET', KEYS[1])
if not previous then
  redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])
end
return previous
"""

# Renew a claim only while it is still this process's: a key that became "done" (7 days) or
# another process's claim after a lapse must keep its own expiry. Returns 1 when renewed.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


def client_from_url(url: str) -> aioredis.Redis:
    return redis_clients.connect_async(url)


def client_like(sync_client: Any) -> aioredis.Redis:
    """An asyncio client for the server a redis-py (sync) client talks to: Rasa's lock store."""
    return redis_clients.like(sync_client)


class Store:
    """Message states and conversation streams in Redis. Methods raise redis errors as they come:
    the caller turns them into an `unavailable` error for the widget (which then retries)."""

    def __init__(self, client: aioredis.Redis, instance: str) -> None:
        self.redis, self.instance = client, instance
        self.own_state = f"pending:{instance}"  # what this process's claims hold
        self._copy = client.register_script(_COPY_ONCE)
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)
        # The claims this process holds (key -> claim number), renewed by keep_claims().
        self._held: Dict[str, int] = {}
        self._claims = itertools.count(1)

    # --- client message states ---

    async def state(self, conversation_id: str, message_id: str) -> Optional[str]:
        return await self.redis.get(f"{redis_keys.WEB_MESSAGE_STATE}{conversation_id}:{message_id}")

    async def claim(self, conversation_id: str, message_id: str) -> Optional[str]:
        """Claims the message when it has no state, atomically; returns the state it had.

        None: this process now owns it (until release() or mark_done(); keep_claims() renews
        the lease meanwhile). Otherwise nothing changed: "done", or "pending:<instance>" of the
        process handling it."""
        key = f"{redis_keys.WEB_MESSAGE_STATE}{conversation_id}:{message_id}"
        previous = await self._claim(keys=[key], args=[self.own_state, keys.PENDING_TTL])
        if previous is None:
            self._held[key] = next(self._claims)
        return previous

    async def renew_claims(self) -> int:
        """Renews every claim this process holds, in one pipeline; returns how many it renewed.

        A claim that is no longer this process's (its lease lapsed) is left alone and dropped."""
        held = list(self._held.items())
        if not held:
            return 0
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, _ in held:
                await self._renew(keys=[key], args=[self.own_state, keys.PENDING_TTL], client=pipe)
            renewed = await pipe.execute()
        for (key, number), done in zip(held, renewed):
            if not done and self._held.get(key) == number:  # not a newer claim of the same key
                logger.warning("web channel: the claim on %s lapsed before it was renewed", key)
                del self._held[key]
        return sum(1 for done in renewed if done)

    async def keep_claims(self, interval: float = keys.PENDING_REFRESH) -> None:
        """Runs until cancelled: renews this process's claims every `interval` seconds. A
        process that dies lets them lapse after PENDING_TTL."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.renew_claims()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away for a moment: the leases outlast a few ticks
                logger.exception("web channel: renewing claims failed; retrying")

    async def release(self, conversation_id: str, message_id: str) -> None:
        key = f"{redis_keys.WEB_MESSAGE_STATE}{conversation_id}:{message_id}"
        self._held.pop(key, None)
        await self.redis.delete(key)

    async def mark_done(self, conversation_id: str, message_id: str) -> None:
        key = f"{redis_keys.WEB_MESSAGE_STATE}{conversation_id}:{message_id}"
        self._held.pop(key, None)
        await self.redis.set(key, "done", ex=keys.MESSAGE_STATE_TTL)

    async def wait_while_pending(self, conversation_id: str, message_id: str,
                                 timeout: float = 120.0) -> Optional[str]:
        """The message's state once it is no longer pending (None: the owner's lease lapsed)."""
        deadline = time.monotonic() + timeout
        while True:
            state = await self.state(conversation_id, message_id)
            if state is None or not state.startswith("pending:") or time.monotonic() > deadline:
                return state
            await asyncio.sleep(0.1)

    # --- conversation streams ---

    async def append(self, conversation_id: str, frame: Mapping[str, Any]) -> str:
        """Appends a server message to the conversation's stream; returns its seq."""
        stream = redis_keys.WEB_SESSION_STREAM + conversation_id
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(stream, {"f": encode(frame)}, maxlen=keys.SESSION_STREAM_MAXLEN, approximate=True)
            pipe.expire(stream, keys.SESSION_STREAM_TTL)
            seq, _ = await pipe.execute()
        return seq

    async def last_seq(self, conversation_id: str) -> str:
        """The id of the conversation stream's newest entry ("0-0" when it has none)."""
        newest = await self.redis.xrevrange(redis_keys.WEB_SESSION_STREAM + conversation_id, count=1)
        return newest[0][0] if newest else "0-0"

    async def after(self, conversation_id: str, seq: str, count: int = 200) -> List[Dict[str, Any]]:
        """The stream's frames after `seq`, oldest first, each with its "seq"."""
        entries = await self.redis.xrange(redis_keys.WEB_SESSION_STREAM + conversation_id, min=f"({seq}", count=count)
        frames = []
        for entry_id, fields in entries:
            try:
                frame = json.loads(fields.get("f", ""))
            except ValueError:
                continue
            frame["seq"] = entry_id
            frames.append(frame)
        return frames

    # --- the desk's outbox ---

    async def copy_outbox_entry(self, entry_id: str, data: str) -> Optional[str]:
        """Copies one outbox entry into its conversation's stream (once across processes).

        Returns the conversation id to wake, or None for an entry that is not for a claimant."""
        try:
            entry = json.loads(data)
        except ValueError:
            logger.warning("web outbox: entry %s is not JSON; skipped", entry_id)
            return None
        frame = outbox_frame(entry) if isinstance(entry, dict) else None
        if frame is None:
            logger.warning("web outbox: entry %s is not a claimant message; skipped", entry_id)
            return None
        conversation_id = entry["conversation_id"]
        await self._copy(keys=[redis_keys.WEB_OUTBOX_COPIED + entry_id, redis_keys.WEB_SESSION_STREAM + conversation_id],
                         args=[keys.OUTBOX_COPIED_TTL, keys.SESSION_STREAM_MAXLEN, encode(frame),
                               keys.SESSION_STREAM_TTL])
        return conversation_id

    def outbox_reader(self, *, consumer: str, block_ms: int = 2000) -> StreamConsumer:
        """The desk outbox's reader (core/stream_consumer.py, group WEB_OUTBOX_GROUP shared by every
        web process): each entry copied once into its conversation's stream, acknowledged after
        the copy, then announced on WEB_WAKE_CHANNEL so every process flushes its sockets of that
        conversation (`listen_wakes`). The group stays in Redis, so entries written while no web
        process ran are copied when one starts; a process killed mid-entry has it again on its
        restart (same consumer name), or another takes it over after OUTBOX_CLAIM_IDLE_MS."""

        async def copy(entry_id: str, fields: Mapping[str, str], again: bool) -> None:
            conversation_id = await self.copy_outbox_entry(entry_id, fields.get("data", ""))
            if conversation_id:
                await self.redis.publish(redis_keys.WEB_WAKE_CHANNEL, conversation_id)

        return StreamConsumer(self.redis, redis_keys.WEB_OUTBOX_STREAM, redis_keys.WEB_OUTBOX_GROUP, consumer,
                              copy, claim_idle_ms=keys.OUTBOX_CLAIM_IDLE_MS, create_from="$", block_ms=block_ms)

    async def listen_wakes(self, wake: Callable[[str], Awaitable[None]],
                           wake_all: Callable[[], Awaitable[None]]) -> None:
        """Runs until cancelled: wakes this process's sockets of each conversation announced on
        WEB_WAKE_CHANNEL. After every (re)subscription it wakes them all: an announcement sent
        while Redis was away is not lost, the conversation streams hold what to send."""
        failures = 0
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(redis_keys.WEB_WAKE_CHANNEL)
                await wake_all()
                failures = 0
                async for item in pubsub.listen():
                    if item.get("type") == "message":
                        await wake(item["data"])
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - Redis away: subscribe again after a backoff
                failures += 1
                delay = BACKOFF.compute(failures)
                logger.warning("web channel: wake subscription lost (%s); again in %.1f s", error, delay)
                await asyncio.sleep(delay)
            finally:
                try:
                    await pubsub.close()
                except Exception:  # noqa: BLE001 - its connection is gone already
                    pass
