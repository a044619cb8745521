"""The end of a handoff as one atomic step with a recorded outcome.

A return or close (and the claimant's own "never mind" or callback) changes the ticket and writes
its ending's record in the same Lua step (handoff/queue.py `_COMMIT`): the conversation, the tracker
events that resume the bot (handoff/rasa_api.py `resume_events`, marked with the ticket's id), the
outbox entries the claimant is then sent, the satisfaction survey, and `rasa_write: pending`. Then:

1. the events are appended to the tracker through Rasa's API;
2. written, one Redis transaction sends the claimant's entries, records the survey and sets
   `rasa_write: done`; not written (Rasa down), `rasa_write: failed` and the write is due again
   after a backoff.

The leader (handoff/leader.py) tries every due write again. A write tried again first reads the
tracker: if the marked `resume` event is there (the first try reached Rasa and the desk died or
timed out before recording it) it is not appended twice. So whatever fails or dies between the
steps, a ticket is never returned or closed with the bot left paused for good, and the bot is never
resumed for a ticket still open; the claimant is told the bot is back only once it is.
Keys (core/redis_keys.py): RASA_WRITE, RASA_WRITES_DUE.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Dict, List, Mapping, Optional

import redis

from core import redis_keys as k
from handoff.csat import Survey
from handoff.csat_store import CsatStore
from handoff.exceptions import QueueUnavailable, RasaUnavailable
from handoff.outbox import Outbox
from handoff.rasa_api import RasaAPI, written

logger = logging.getLogger(__name__)
#: A write being tried is not tried again by the leader before this long (longer than Rasa's timeout).
LEASE_SECONDS = 15.0
#: Tried again after 1, 2, 4 ... seconds, at most this long apart.
MAX_BACKOFF_SECONDS = 60.0
#: A done write's record is kept this long, then expires.
RASA_WRITE_DAYS = 7
STATES = ("pending", "done", "failed")

# KEYS: 1 the due set. ARGV: 1 ticket id, 2 now, 3 lease end. 1 if due (and now leased), else 0.
_LEASE = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""


def record(*, conversation_id: str, events: List[Dict[str, Any]], channel: str,
           then: List[Dict[str, Any]], survey: Optional[Survey]) -> Dict[str, Any]:
    """An ending's record: `events` for the tracker, then the outbox entries `then` on `channel`."""
    return {"conversation_id": conversation_id, "events": events, "channel": channel, "then": then,
            "survey": survey.as_fields() if survey else None}


def first_due(now: Optional[float] = None) -> float:
    """When the leader may first try a write the desk is trying now."""
    return (time.time() if now is None else now) + LEASE_SECONDS


class RasaWrites:
    def __init__(self, client: "redis.Redis[str]", rasa: RasaAPI, outbox: Outbox):
        self.redis, self.rasa, self.outbox = client, rasa, outbox
        self._lease = client.register_script(_LEASE)

    def state(self, ticket_id: str) -> Dict[str, str]:
        """{rasa_write, attempts, error, record}; empty if the ticket has no ending recorded."""
        return self._redis(lambda: self.redis.hgetall(k.RASA_WRITE + ticket_id))

    def due(self, now: Optional[float] = None) -> List[str]:
        """Tickets whose write may be tried now."""
        return self._redis(lambda: self.redis.zrangebyscore(k.RASA_WRITES_DUE, "-inf", time.time() if now is None else now))

    def lease(self, ticket_id: str) -> bool:
        """Takes a due write for LEASE_SECONDS; False if it is not due (another is trying it, or done)."""
        now = time.time()
        return bool(self._redis(lambda: self._lease(keys=[k.RASA_WRITES_DUE], args=[ticket_id, now, now + LEASE_SECONDS])))

    async def complete(self, ticket_id: str, *, again: bool) -> bool:
        """Tries the write of `ticket_id`'s ending; True once done.
        `again`: it may have reached Rasa before, so the tracker is read first."""
        stored = await asyncio.to_thread(self.state, ticket_id)
        if not stored or stored.get("rasa_write") == "done":
            return True
        ending = json.loads(stored["record"])
        try:
            if not (again and written(await self.rasa.tracker(ending["conversation_id"]), ticket_id)):
                await self.rasa.append(ending["conversation_id"], ending["events"])
        except RasaUnavailable as error:
            attempts = int(stored.get("attempts") or 0) + 1
            backoff = min(MAX_BACKOFF_SECONDS, 2.0 ** (attempts - 1))
            reason = str(error)[:200]
            logger.warning("the bot is not yet told that ticket %s ended (attempt %d): %s", ticket_id, attempts, reason)

            def failed() -> None:
                pipe = self.redis.pipeline(transaction=True)
                pipe.hset(k.RASA_WRITE + ticket_id, mapping={"rasa_write": "failed", "attempts": attempts,
                                                              "error": reason})
                pipe.zadd(k.RASA_WRITES_DUE, {ticket_id: time.time() + backoff})
                pipe.execute()
            await asyncio.to_thread(self._redis, failed)
            return False
        await asyncio.to_thread(self._redis, lambda: self._done(ticket_id, ending))
        return True

    def _done(self, ticket_id: str, ending: Mapping[str, Any]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        for entry in ending.get("then") or []:
            self.outbox.send_in(pipe, ending["channel"], entry)
        if ending.get("survey"):
            CsatStore.ask_in(pipe, Survey.from_fields(ending["survey"]))
        pipe.hset(k.RASA_WRITE + ticket_id, mapping={"rasa_write": "done", "record": json.dumps(
            {"conversation_id": ending["conversation_id"]}), "error": ""})
        pipe.expire(k.RASA_WRITE + ticket_id, RASA_WRITE_DAYS * 86400)
        pipe.zrem(k.RASA_WRITES_DUE, ticket_id)
        pipe.execute()

    @staticmethod
    def _redis(call: Any) -> Any:
        try:
            return call()
        except redis.RedisError as error:
            raise QueueUnavailable(f"Redis: {error}") from error

