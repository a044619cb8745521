"""Messages for the bot, from the gateway to the Rasa processes: the stream `renben:wechat:inbox`.

The gateway appends one entry per text (or recognised voice) message; every Rasa process reads
the stream in the consumer group `rasa`, so each entry is handled by one of them, which
acknowledges and deletes it once the answer is handed over or sent (handshake.py). An entry a
process read but never acknowledged (it died, or was stopped mid-turn) is taken over by another
process, or by the same one after a restart, once it has been idle for WECHAT_RECLAIM_SECONDS;
a running turn keeps its entries fresh, so only a dead process's entries go idle. Such an entry
is handed over with `again=True`: if its turn was saved in the tracker, the handler sends the
saved answer instead of running it again (channel.py, replay.py); if not, it runs from the start.
Never lost, and in the tracker once.

`encode_job` and `decode_job` are pure; `Inbox` writes, `InboxReader` reads.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Set, Tuple

from bot.channels.wechat.constants import INBOX_GROUP, INBOX_STREAM, conversation_id

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 500  # turns one Rasa process runs at once; more wait in the stream


@dataclass(frozen=True)
class Job:
    key: str  # the message's dedupe key (MsgId, or the event's sender and time)
    openid: str
    text: str
    msg_type: str
    msg_id: Optional[str]
    deadline: float  # epoch seconds when the gateway stops waiting for a passive answer


def encode_job(job: Job) -> Dict[str, str]:
    """The stream entry's fields; `conversation_id` lets erasure find it (bot/privacy)."""
    return {"data": json.dumps({**asdict(job), "conversation_id": conversation_id(job.openid)},
                               ensure_ascii=False)}


def decode_job(fields: Mapping[str, str]) -> Optional[Job]:
    """The Job of an entry, None for one that is not a job (it is then logged and dropped)."""
    try:
        data = json.loads(fields.get("data") or "")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    key, openid, text = data.get("key"), data.get("openid"), data.get("text")
    if not all(isinstance(value, str) and value for value in (key, openid, text)):
        return None
    msg_id, deadline = data.get("msg_id"), data.get("deadline")
    if not isinstance(deadline, (int, float)) or isinstance(deadline, bool):
        return None
    return Job(key=key, openid=openid, text=text, msg_type=str(data.get("msg_type") or "text"),
               msg_id=msg_id if isinstance(msg_id, str) else None, deadline=float(deadline))


class Inbox:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def put(self, job: Job) -> str:
        return await self.redis.xadd(INBOX_STREAM, encode_job(job))


#: handle(job, again): `again` is True for an entry a consumer read before (taken over, or
#: our own from before a restart).
Handler = Callable[[Job, bool], Awaitable[None]]


class InboxReader:
    """Runs `handle` for each entry, many at once; acknowledges and deletes an entry after its
    handler returns. The handler tells the claimant about a failed bot run itself; when it
    raises (Redis away), the entry stays pending and is taken over after reclaim_ms."""

    def __init__(self, redis: Any, handle: Handler, *, consumer: str, reclaim_ms: int,
                 block_ms: int = 2000, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.redis, self.handle, self.consumer = redis, handle, consumer
        self.reclaim_ms, self.block_ms = reclaim_ms, block_ms
        self.slots = asyncio.Semaphore(max_in_flight)
        self.in_flight: Set[str] = set()
        self.tasks: Set[asyncio.Task] = set()

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(INBOX_STREAM, INBOX_GROUP, id="0", mkstream=True)
        except Exception as error:  # BUSYGROUP: another process made it
            if "BUSYGROUP" not in str(error):
                raise

    async def _one(self, entry_id: str, fields: Mapping[str, str], again: bool) -> None:
        try:
            job = decode_job(fields)
            if job is None:
                logger.error("wechat inbox: entry %s is not a job; dropped", entry_id)
            else:
                await self.handle(job, again)
            await self.redis.xack(INBOX_STREAM, INBOX_GROUP, entry_id)
            await self.redis.xdel(INBOX_STREAM, entry_id)
        except asyncio.CancelledError:
            raise  # stopping: the entry stays pending and is taken over
        except Exception:  # Redis away mid-turn: left pending, it runs again after reclaim_ms
            logger.exception("wechat inbox: entry %s failed; it is tried again", entry_id)
        finally:
            self.in_flight.discard(entry_id)
            self.slots.release()

    async def _start(self, entries: List[Tuple[str, Mapping[str, str]]], again: bool = False) -> None:
        for entry_id, fields in entries:
            if entry_id in self.in_flight:
                continue  # our own turn, still running
            await self.slots.acquire()
            self.in_flight.add(entry_id)
            task = asyncio.ensure_future(self._one(entry_id, fields, again))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _reclaimed(self) -> List[Tuple[str, Mapping[str, str]]]:
        """Entries idle for reclaim_ms: a dead consumer's (XAUTOCLAIM, Redis 6.2+)."""
        try:
            claimed = await self.redis.xautoclaim(INBOX_STREAM, INBOX_GROUP, self.consumer,
                                                  min_idle_time=self.reclaim_ms, start_id="0-0", count=50)
        except Exception as error:
            logger.debug("wechat inbox: XAUTOCLAIM unavailable: %s", error)
            return []
        found = [(entry_id, fields) for entry_id, fields in claimed[1] if fields]
        if found:
            logger.warning("wechat inbox: took over %d message(s) of a stopped Rasa process", len(found))
        return found

    async def _keep_fresh(self) -> None:
        """Resets the idle time of running turns, so no other process takes them over."""
        while True:
            await asyncio.sleep(self.reclaim_ms / 3000)
            ids = list(self.in_flight)
            if ids:
                try:
                    await self.redis.xclaim(INBOX_STREAM, INBOX_GROUP, self.consumer, 0, ids, justid=True)
                except Exception:
                    logger.exception("wechat inbox: refreshing running turns failed")

    async def run(self) -> None:
        """Runs until cancelled; a Redis error is logged and retried after a second."""
        fresh = asyncio.ensure_future(self._keep_fresh())
        try:
            while True:
                try:
                    await self.ensure_group()
                    # our own entries read before a restart of this consumer name
                    pending = await self.redis.xreadgroup(INBOX_GROUP, self.consumer, {INBOX_STREAM: "0"},
                                                          count=MAX_IN_FLIGHT)
                    for _stream, found in pending or []:
                        await self._start([(i, f) for i, f in found if f], again=True)
                    while True:
                        await self._start(await self._reclaimed(), again=True)
                        batches = await self.redis.xreadgroup(INBOX_GROUP, self.consumer, {INBOX_STREAM: ">"},
                                                              count=50, block=self.block_ms)
                        for _stream, found in batches or []:
                            await self._start(found)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("wechat inbox: reading %s failed; retrying", INBOX_STREAM)
                    await asyncio.sleep(1.0)
        finally:
            fresh.cancel()
            for task in list(self.tasks):
                task.cancel()
