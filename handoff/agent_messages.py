"""An agent's message written once per id, whatever fails in between (issue 17).

An agent's `message` writes two things: the bot event in the tracker (through Rasa's API) and
the claimant outbox entry. A desk that dies between them, or before the console has its `ok`,
leaves the console not knowing; it sends the message again with the same `id` (to whichever
desk serves it next). One hash per message, `renben:agent-message:<ticket>:<id>`, says how far
the first attempt got: `at` (its time, kept so the retry writes the same event), `tracker` (the
event was appended) and `outbox` (the entry was written, in the same Lua script as the XADD, so
never twice). A retry that finds `at` but no `tracker` looks in the tracker itself: the desk may
have died after Rasa appended the event and before `tracker` was set.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Iterable

import redis

from core import redis_keys as k
from handoff.exceptions import QueueUnavailable

#: Seconds a message's record is kept: a console resends within seconds or minutes.
RECORD_TTL = 24 * 3600

# KEYS: record, outbox stream. ARGV: entry JSON, maxlen, ttl. 1: written now, 0: written before.
_SEND_ONCE = """
if redis.call('HSETNX', KEYS[1], 'outbox', '1') == 0 then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'data', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


@dataclass(frozen=True)
class Progress:
    at: float  # the first attempt's time: the tracker event's timestamp
    again: bool  # an attempt was made before this one
    tracker: bool  # the tracker has the event
    outbox: bool  # the outbox has the entry


def in_tracker(events: Iterable[Dict[str, Any]], message_id: str) -> bool:
    """Pure: whether the tracker's events hold the agent message `message_id`."""
    return any(event.get("event") == "bot" and (event.get("metadata") or {}).get("message_id") == message_id
               for event in events)


class AgentMessages:
    def __init__(self, client: "redis.Redis[str]", *, maxlen: int = 100_000) -> None:
        self.redis, self.maxlen = client, maxlen
        self._send_once = client.register_script(_SEND_ONCE)

    @staticmethod
    def key(ticket_id: str, message_id: str) -> str:
        return f"{k.AGENT_MESSAGE}{ticket_id}:{message_id}"

    def begin(self, ticket_id: str, message_id: str, at: float) -> Progress:
        """Records the attempt (its time, if it is the first) and says how far earlier ones got."""
        key = self.key(ticket_id, message_id)
        try:
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.hsetnx(key, "at", repr(at))
                pipe.expire(key, RECORD_TTL)
                pipe.hgetall(key)
                first, _, record = pipe.execute()
        except redis.RedisError as error:
            raise QueueUnavailable(f"Redis: {error}") from error
        return Progress(at=float(record.get("at", at)), again=not first, tracker="tracker" in record,
                        outbox="outbox" in record)

    def in_tracker(self, ticket_id: str, message_id: str) -> None:
        try:
            self.redis.hset(self.key(ticket_id, message_id), "tracker", "1")
        except redis.RedisError as error:
            raise QueueUnavailable(f"Redis: {error}") from error

    def send_once(self, ticket_id: str, message_id: str, channel: str, entry: Dict[str, Any]) -> bool:
        """Appends `entry` to the channel's outbox unless an attempt did; True when it did now."""
        try:
            return bool(self._send_once(keys=[self.key(ticket_id, message_id), k.OUTBOX + channel],
                                        args=[json.dumps(entry, ensure_ascii=False), self.maxlen, RECORD_TTL]))
        except redis.RedisError as error:
            raise QueueUnavailable(f"Redis: {error}") from error

