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

`encode_job` and `decode_job` are pure; `Inbox` writes, `InboxReader` reads (through the one
stream-consumer helper, core/stream_consumer.py).
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional

from core.redis_keys import WECHAT_INBOX_GROUP as INBOX_GROUP, WECHAT_INBOX_STREAM as INBOX_STREAM
from core.privacy.identity import wechat_conversation_id as conversation_id
from core.stream_consumer import StreamConsumer

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
    """The stream entry's fields; `conversation_id` lets erasure find it (core/privacy)."""
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
    """Runs `handle` for each entry, many at once (core/stream_consumer.py: consumer group `rasa`,
    entries taken over after reclaim_ms, running ones kept fresh); an entry is acknowledged and
    deleted after its handler returns. The handler tells the claimant about a failed bot run
    itself; when it raises (Redis away), the entry stays pending and is taken over after reclaim_ms."""

    def __init__(self, redis: Any, handle: Handler, *, consumer: str, reclaim_ms: int,
                 block_ms: int = 2000, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.handle = handle
        self.reader = StreamConsumer(redis, INBOX_STREAM, INBOX_GROUP, consumer, self._one,
                                     claim_idle_ms=reclaim_ms, create_from="0", delete_after_ack=True,
                                     concurrency=max_in_flight, block_ms=block_ms)

    async def _one(self, entry_id: str, fields: Mapping[str, str], again: bool) -> None:
        job = decode_job(fields)
        if job is None:
            logger.error("wechat inbox: entry %s is not a job; dropped", entry_id)
            return
        await self.handle(job, again)

    async def run(self) -> None:
        """Runs until cancelled; a Redis error is logged and retried after a backoff."""
        await self.reader.run()
