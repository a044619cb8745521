"""One way to read a Redis stream in a consumer group, for every reader of Renben (issue 17, item 5):
the desk acting on claimant messages (handoff/workers.py), the web channel copying the desk's
outbox (bot/channels/web/delivery.py), the Rasa side reading the WeChat inbox and the WeChat
outbox (bot/channels/wechat/inbox.py, outbox.py).

What it guarantees, with any number of processes in the group:

- each entry is handled by one consumer at a time, and acknowledged (XACK, and XDEL when asked)
  only after its handler returned: a handler that raises, or a process that dies or stops
  mid-entry, leaves it pending;
- a consumer name is stable per process (`consumer_name`: role, host and port), so a process
  restarted in the same place first handles the entries it had read before it died;
- entries pending longer than `claim_idle_ms` (a dead process's, or a failed handler's) are taken
  over with XAUTOCLAIM and handled again, flagged `again=True` so the handler can find out
  whether the effect already happened; while an entry is being handled its idle time is reset
  every third of that limit, so a slow handler never has its entry taken from it;
- a Redis error never ends the reader: it waits with a jittered exponential backoff (redis-py's
  own) and goes on, re-creating the group if Redis lost it.

`await StreamConsumer(...).run()` runs until cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, List, Mapping, Optional, Set, Tuple

from redis.backoff import EqualJitterBackoff
from redis.exceptions import ResponseError

logger = logging.getLogger(__name__)

#: handle(entry_id, fields, again): `again` is True for an entry read before (by this consumer
#: before a restart, or by another that stopped); a handler that raises leaves it pending.
Handler = Callable[[str, Mapping[str, str], bool], Awaitable[None]]
Entry = Tuple[str, Mapping[str, str]]

BACKOFF = EqualJitterBackoff(cap=10.0, base=0.5)


def consumer_name(role: str, port: Optional[int] = None) -> str:
    """`<role>@<host>[:<port>]`: the same for a process restarted in the same place."""
    where = socket.gethostname() + (f":{port}" if port else "")
    return f"{role}@{where}"


@dataclass
class StreamConsumer:
    redis: Any  # redis.asyncio client with text replies (core/redis_clients.py)
    stream: str
    group: str
    consumer: str
    handle: Handler
    claim_idle_ms: int = 60_000
    #: Where a new group starts: "0" hands over every entry the stream holds, "$" only new ones.
    create_from: str = "0"
    delete_after_ack: bool = False
    #: Entries handled at once (their order is then not kept); 1: one after the other, in order.
    concurrency: int = 1
    block_ms: int = 2000
    count: int = 50
    in_flight: Set[str] = field(default_factory=set)
    _tasks: Set[asyncio.Task] = field(default_factory=set)
    _slots: Optional[asyncio.Semaphore] = None
    _claim_from: str = "0-0"

    async def run(self) -> None:
        """Reads until cancelled; a Redis error is logged and retried after a backoff."""
        self._slots = asyncio.Semaphore(self.concurrency)
        fresh = asyncio.ensure_future(self._keep_fresh())
        failures = 0
        try:
            while True:
                try:
                    await self.ensure_group()
                    await self._own_pending()
                    while True:
                        await _unless_cancelled(self.step())
                        failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # noqa: BLE001 - Redis away: back off, go on
                    failures += 1
                    delay = BACKOFF.compute(failures)
                    logger.warning(
                        "stream %s (%s): %s; reading again in %.1f s", self.stream, self.consumer, error, delay
                    )
                    await asyncio.sleep(delay)
        finally:
            fresh.cancel()
            for task in list(self._tasks):
                task.cancel()

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id=self.create_from, mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def step(self) -> None:
        """One round: entries pending too long, taken over; then new entries (blocking)."""
        await self._start(await self._take_over(), again=True)
        batches = await self.redis.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=self.count, block=self.block_ms
        )
        for _stream, entries in batches or []:
            await self._start(entries, again=False)

    async def wait_idle(self) -> None:
        """Waits until every entry started has been handled (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _own_pending(self) -> None:
        """Entries this consumer name read before (a restart), oldest first."""
        after = "0"
        while True:
            batches = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: after}, count=self.count)
            entries = [entry for _stream, found in batches or [] for entry in found]
            if not entries:
                return
            await self._start(entries, again=True)
            after = entries[-1][0]

    async def _take_over(self) -> List[Entry]:
        """Entries of the group idle for claim_idle_ms (XAUTOCLAIM, Redis 6.2+), scanning the
        pending list a batch per round; entries deleted meanwhile are acknowledged."""
        reply = await self.redis.xautoclaim(
            self.stream,
            self.group,
            self.consumer,
            min_idle_time=self.claim_idle_ms,
            start_id=self._claim_from,
            count=self.count,
        )
        self._claim_from = reply[0] or "0-0"
        entries = [
            (entry_id, fields)
            for entry_id, fields in reply[1]
            if entry_id is not None and fields and entry_id not in self.in_flight
        ]
        if any(entry_id is None or not fields for entry_id, fields in reply[1]):
            await self._forget_deleted({entry_id for entry_id, _ in entries})
        if entries:
            logger.warning(
                "stream %s: %s took over %d entries pending over %d ms",
                self.stream,
                self.consumer,
                len(entries),
                self.claim_idle_ms,
            )
        return entries

    async def _forget_deleted(self, kept: Set[str]) -> None:
        """Acknowledges this consumer's pending entries that were deleted from the stream (erased,
        trimmed): Redis 6.2 claims them without their id, so they are found through XPENDING."""
        pending = await self.redis.xpending_range(
            self.stream, self.group, min="-", max="+", count=self.count, consumername=self.consumer
        )
        for item in pending:
            entry_id = item["message_id"]
            if entry_id in kept or entry_id in self.in_flight:
                continue
            if not await self.redis.xrange(self.stream, min=entry_id, max=entry_id):
                await self.redis.xack(self.stream, self.group, entry_id)

    async def _start(self, entries: List[Entry], *, again: bool) -> None:
        for entry_id, fields in entries:
            if entry_id in self.in_flight:
                continue
            if not fields:  # deleted after it was read: nothing to do
                await self.redis.xack(self.stream, self.group, entry_id)
                continue
            await self._running_slots().acquire()
            self.in_flight.add(entry_id)
            task = asyncio.ensure_future(self._one(entry_id, fields, again))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            if self.concurrency == 1:
                await asyncio.shield(task)  # in order; cancelling run() cancels it via _tasks

    async def _one(self, entry_id: str, fields: Mapping[str, str], again: bool) -> None:
        try:
            await self.handle(entry_id, fields, again)
            await self.redis.xack(self.stream, self.group, entry_id)
            if self.delete_after_ack:
                await self.redis.xdel(self.stream, entry_id)
        except asyncio.CancelledError:
            raise  # stopping: left pending, taken over later
        except Exception:  # noqa: BLE001 - left pending: handled again after claim_idle_ms
            logger.exception(
                "stream %s: entry %s failed; it is handled again after %d ms", self.stream, entry_id, self.claim_idle_ms
            )
        finally:
            self.in_flight.discard(entry_id)
            self._running_slots().release()

    def _running_slots(self) -> asyncio.Semaphore:
        """The semaphore bounding entries in hand; made by `run` (in its event loop)."""
        if self._slots is None:
            raise RuntimeError("StreamConsumer: entries handled before run()")
        return self._slots

    async def _keep_fresh(self) -> None:
        """Resets the idle time of entries being handled, so no other consumer takes them over."""
        while True:
            await asyncio.sleep(self.claim_idle_ms / 3000)
            ids = list(self.in_flight)
            if ids:
                try:
                    await self.redis.xclaim(self.stream, self.group, self.consumer, 0, ids, justid=True)
                except Exception as error:  # noqa: BLE001 - the next round tries again
                    logger.warning("stream %s: keeping %d entries fresh failed: %s", self.stream, len(ids), error)


async def _unless_cancelled(work: Awaitable[None]) -> None:
    """Awaits `work` in a task of its own, so that cancelling the caller ends the caller at once:
    a step cancelled inside the Redis client may never finish (seen in tests: the web outbox reader,
    cancelled after the desk's tests had run in the same process, stayed pending for ever; the cause
    inside redis-py 4.6 was not found), and a reader told to stop would then block its owner's
    shutdown. The abandoned step is cancelled too."""
    step = asyncio.ensure_future(work)
    try:
        await asyncio.shield(step)
    except asyncio.CancelledError:
        step.cancel()
        raise
