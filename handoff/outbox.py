"""The writer of the claimant outbox: one Redis stream per claimant channel.

The contract (fields, types, who reads) is docs/claimant-outbox.md; keep the two in step.
`message(...)` builds an entry (pure); `Outbox.send` appends it to the stream of the
conversation's channel and returns the entry id, or None for channels without push (`rest`).
Everything the desk says to claimants passes here, so here it is counted: an entry with text is
a message out (core/monitoring/definitions.py), from an agent or from the desk itself.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any, Dict, List, Optional

import redis

from core.monitoring import definitions as metrics
from core import redis_keys as k
from handoff.exceptions import InvalidRequest, QueueUnavailable

TYPES = ("agent_message", "agent_joined", "agent_left", "typing", "queue_position", "bot_resumed", "notice",
         "question")
#: Channels whose processes read an outbox. Others (rest) cannot be pushed to.
PUSH_CHANNELS = ("web", "wechat")


def message(kind: str, *, conversation_id: str, language: str, text: Optional[str] = None,
            agent_id: Optional[str] = None, agent_name: Optional[str] = None,
            position: Optional[int] = None, estimate_seconds: Optional[float] = None,
            buttons: Optional[List[Dict[str, str]]] = None, at: Optional[float] = None) -> Dict[str, Any]:
    """One outbox entry. Raises InvalidRequest for an unknown type, a message without text, or a
    question without buttons."""
    if kind not in TYPES:
        raise InvalidRequest(f"outbox type must be one of {list(TYPES)}, not {kind!r}")
    if kind in ("agent_message", "bot_resumed", "notice", "question") and not (isinstance(text, str) and text.strip()):
        raise InvalidRequest(f"an outbox {kind} needs text")
    if kind == "question" and not (buttons and all(isinstance(b, dict) and b.get("title") and b.get("payload")
                                                   for b in buttons)):
        raise InvalidRequest("an outbox question needs buttons, each with a title and a payload")
    entry: Dict[str, Any] = {"id": uuid.uuid4().hex, "conversation_id": conversation_id,
                             "type": kind, "language": language, "at": time.time() if at is None else at}
    optional = {"text": text, "agent_id": agent_id, "agent_name": agent_name, "position": position,
                "estimate_seconds": None if estimate_seconds is None else round(estimate_seconds),
                "buttons": [dict(b) for b in buttons] if buttons else None}
    entry.update({key: value for key, value in optional.items() if value is not None})
    if kind == "queue_position":
        entry.setdefault("estimate_seconds", None)
    return entry


class Outbox:
    def __init__(self, client: "redis.Redis[str]", *, maxlen: int = 100_000):
        self.redis, self.maxlen = client, maxlen

    def send(self, channel: str, entry: Dict[str, Any]) -> Optional[str]:
        """Appends `entry` to renben:outbox:<channel>; None if the channel has no push."""
        if channel not in PUSH_CHANNELS:
            return None
        try:
            entry_id = self.redis.xadd(k.OUTBOX + channel, {"data": json.dumps(entry, ensure_ascii=False)},
                                       maxlen=self.maxlen, approximate=True)
        except redis.RedisError as error:
            raise QueueUnavailable(f"Redis: {error}") from error
        _count(channel, entry)
        return entry_id

    def send_in(self, pipe: "redis.client.Pipeline", channel: str, entry: Dict[str, Any]) -> None:
        """Queues `send` in a transaction (`pipe`): the entry is appended when it executes."""
        if channel in PUSH_CHANNELS:
            pipe.xadd(k.OUTBOX + channel, {"data": json.dumps(entry, ensure_ascii=False)},
                      maxlen=self.maxlen, approximate=True)
            _count(channel, entry)


def _count(channel: str, entry: Dict[str, Any]) -> None:
    if entry.get("text"):
        metrics.sent(channel=channel, language=entry.get("language"),
                     sender="agent" if entry.get("type") == "agent_message" else "desk")
