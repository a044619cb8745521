"""The agent desk's messages to WeChat claimants: the reader of `renben:outbox:wechat`.

The desk appends entries (docs/claimant-outbox.md); every WeChat process reads the stream in
the consumer group `wechat` (core/stream_consumer.py), so one process sends each entry through
the customer-service API, then acknowledges it (XACK). An entry a dead process had read but not
acknowledged is taken over (XAUTOCLAIM) after CLAIM_IDLE_MS and sent: at least once. `outbox_text(entry)` (pure) is
what the claimant reads; entries with nothing to show (`typing`) are acknowledged unsent. A
`question`'s buttons become numbered options, remembered for the claimant like a bot reply's.
"""
from __future__ import annotations

import json
import logging
import math
from typing import Any, Dict, Mapping, Optional, Tuple

from bot.channels.wechat import phrases
from core.redis_keys import WECHAT_OUTBOX_GROUP as OUTBOX_GROUP, WECHAT_OUTBOX_STREAM as OUTBOX_STREAM
from core.privacy.identity import openid_of
from bot.channels.wechat.delivery import Delivery
from bot.channels.wechat.render import Options, Rendered, render, split_text
from core.language_codes import LANGUAGES
from core.stream_consumer import StreamConsumer

logger = logging.getLogger(__name__)

CLAIM_IDLE_MS = 60_000


def outbox_text(entry: Mapping[str, Any]) -> Optional[str]:
    """The text a claimant reads for one outbox entry, None when there is nothing to show."""
    kind = entry.get("type")
    language = entry.get("language") if entry.get("language") in LANGUAGES else "zh"
    name = str(entry.get("agent_name") or "").strip()
    name = name if language == "zh" else (f" {name}" if name else "")
    text = str(entry.get("text") or "").strip()
    if kind == "agent_message":
        return phrases.say("agent_says", language, name=name, text=text) if text else None
    if kind in ("agent_joined", "agent_left"):
        return phrases.say(kind, language, name=name)
    if kind == "queue_position":
        position = entry.get("position")
        if not isinstance(position, int) or position < 1:
            return None
        if position == 1:
            return phrases.say("queue_next", language)
        seconds = entry.get("estimate_seconds")
        if isinstance(seconds, (int, float)) and seconds > 0:
            return phrases.say("queue_position", language, ahead=position - 1,
                               minutes=max(1, math.ceil(seconds / 60)))
        return phrases.say("queue_position_unknown", language, ahead=position - 1)
    if kind in ("bot_resumed", "notice"):
        return text or None
    if kind == "question":
        return "\n\n".join(question(entry).texts) or None
    return None  # typing, and types added later


def question(entry: Mapping[str, Any]) -> Rendered:
    """A desk question with its buttons as numbered options ("1. ..."): a reply "3" is the third
    button's payload once the options are remembered (render.Options)."""
    buttons = [b for b in entry.get("buttons") or [] if isinstance(b, Mapping)]
    return render([{"text": str(entry.get("text") or ""), "buttons": buttons}])


def parse_entry(fields: Mapping[str, str]) -> Optional[Tuple[str, Dict[str, Any]]]:
    """(openid, entry) for a WeChat outbox entry, None for one that cannot be delivered."""
    try:
        entry = json.loads(fields.get("data", ""))
    except ValueError:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("conversation_id"), str):
        return None
    openid = openid_of(entry["conversation_id"])
    return (openid, entry) if openid else None


class OutboxReader:
    """Sends each entry through the customer-service API, in order, and acknowledges it after
    (core/stream_consumer.py: consumer group `wechat`, entries of a dead process taken over after
    CLAIM_IDLE_MS)."""

    def __init__(self, redis: Any, delivery: Delivery, *, consumer: str, block_ms: int = 2000,
                 options: Optional[Options] = None) -> None:
        self.delivery = delivery
        self.options = options or Options(redis)
        # The group starts at the stream's start: entries written before any WeChat process ran
        # are delivered too.
        self.reader = StreamConsumer(redis, OUTBOX_STREAM, OUTBOX_GROUP, consumer, self.handle,
                                     claim_idle_ms=CLAIM_IDLE_MS, create_from="0", block_ms=block_ms)

    async def handle(self, entry_id: str, fields: Mapping[str, str], again: bool = False) -> None:
        parsed = parse_entry(fields)
        if parsed is None:
            logger.warning("wechat outbox: entry %s is not for a WeChat claimant; skipped", entry_id)
            return
        openid, entry = parsed
        if entry.get("type") == "question":  # remembered first, so that an answer "3" finds them
            rendered = question(entry)
            await self.options.remember(openid, rendered.options)
        text = outbox_text(entry)
        if text:  # a process that died between sending and acknowledging has it sent again: at least once
            await self.delivery.send(openid, split_text(text), source="outbox",
                                     entry_id=str(entry.get("id") or entry_id))

    async def run(self) -> None:
        """Runs until cancelled; a Redis error is logged and retried after a backoff."""
        await self.reader.run()
