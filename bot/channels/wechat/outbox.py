"""The agent desk's messages to WeChat claimants: the reader of `renben:outbox:wechat`.

The desk appends entries (docs/claimant-outbox.md); every WeChat process reads the stream in
the consumer group `wechat`, so exactly one process sends each entry through the
customer-service API, then acknowledges it (XACK). An entry a dead process had read but not
acknowledged is taken over (XAUTOCLAIM) after CLAIM_IDLE_MS. `outbox_text(entry)` (pure) is
what the claimant reads; entries with nothing to show (`typing`) are acknowledged unsent.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot.channels.wechat import phrases
from bot.channels.wechat.constants import OUTBOX_GROUP, OUTBOX_STREAM, openid_of
from bot.channels.wechat.delivery import Delivery
from bot.channels.wechat.render import split_text
from bot.language_codes import LANGUAGES

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
    return None  # typing, and types added later


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
    def __init__(self, redis: Any, delivery: Delivery, *, consumer: str, block_ms: int = 2000) -> None:
        self.redis, self.delivery, self.consumer, self.block_ms = redis, delivery, consumer, block_ms

    async def ensure_group(self) -> None:
        """Creates the consumer group at the stream's start, so entries written before any
        WeChat process ran are delivered too."""
        try:
            await self.redis.xgroup_create(OUTBOX_STREAM, OUTBOX_GROUP, id="0", mkstream=True)
        except Exception as error:  # BUSYGROUP: another process made it
            if "BUSYGROUP" not in str(error):
                raise

    async def handle(self, entry_id: str, fields: Mapping[str, str]) -> None:
        parsed = parse_entry(fields)
        if parsed is None:
            logger.warning("wechat outbox: entry %s is not for a WeChat claimant; skipped", entry_id)
        else:
            openid, entry = parsed
            text = outbox_text(entry)
            if text:
                await self.delivery.send(openid, split_text(text), source="outbox",
                                         entry_id=str(entry.get("id") or entry_id))
        await self.redis.xack(OUTBOX_STREAM, OUTBOX_GROUP, entry_id)

    async def _batch(self) -> List[Tuple[str, Mapping[str, str]]]:
        entries: List[Tuple[str, Mapping[str, str]]] = []
        try:  # entries a dead consumer read but never acknowledged
            claimed = await self.redis.xautoclaim(OUTBOX_STREAM, OUTBOX_GROUP, self.consumer,
                                                  min_idle_time=CLAIM_IDLE_MS, start_id="0-0", count=50)
            entries.extend((entry_id, fields) for entry_id, fields in claimed[1] if fields)
        except Exception as error:
            logger.debug("wechat outbox: XAUTOCLAIM unavailable: %s", error)
        if entries:
            return entries
        batches = await self.redis.xreadgroup(OUTBOX_GROUP, self.consumer, {OUTBOX_STREAM: ">"},
                                              count=50, block=self.block_ms)
        for _stream, found in batches or []:
            entries.extend(found)
        return entries

    async def run(self) -> None:
        """Runs until cancelled; a Redis error is logged and retried after a second."""
        while True:
            try:
                await self.ensure_group()
                # our own entries read before a restart of this consumer name
                pending = await self.redis.xreadgroup(OUTBOX_GROUP, self.consumer, {OUTBOX_STREAM: "0"},
                                                      count=100)
                for _stream, found in pending or []:
                    for entry_id, fields in found:
                        await self.handle(entry_id, fields)
                while True:
                    for entry_id, fields in await self._batch():
                        await self.handle(entry_id, fields)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("wechat outbox: reading %s failed; retrying", OUTBOX_STREAM)
                await asyncio.sleep(1.0)
