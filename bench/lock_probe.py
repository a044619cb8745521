"""Rasa's lock store as Renben runs it (bot/lock_store.py), recording every hold, for
bench/scale_out.py.

Each time a turn (or an append through Rasa's HTTP API) has held a conversation's lock, one
entry is appended to the Redis stream `bench:locks`: the conversation, the process
(`BENCH_PROCESS`), the ticket, and when the ticket was asked for, the lock acquired and released
(epoch seconds; every process runs on the same machine, so on the same clock). The bench reads
it back to show which processes served each conversation, how often a turn waited for another,
and that no two holds of one conversation overlapped. The entry is written after the lock is
let go, so the hold itself is not lengthened.

    endpoints.yml:  lock_store: {type: bench.lock_probe.RecordingLockStore, ...the same options}
"""
from __future__ import annotations

import logging
import os
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Dict, List, Text

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME

from bot.lock_store import WAIT_SECONDS, RenewingLockStore

logger = logging.getLogger(__name__)

STREAM = "bench:locks"


class RecordingLockStore(RenewingLockStore):
    @asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = WAIT_SECONDS) -> AsyncGenerator[TicketLock, None]:
        asked = time.time()
        record: Dict[str, Any] = {"conversation": conversation_id, "asked": repr(asked),
                                  "process": os.environ.get("BENCH_PROCESS", "")}
        try:
            async with super().lock(conversation_id, lock_lifetime, wait_time_in_seconds) as held:
                record["acquired"] = repr(time.time())
                try:
                    yield held
                finally:
                    record["released"] = repr(time.time())
        finally:
            if "released" in record:
                try:
                    self.red.xadd(STREAM, record)
                except redis.RedisError as error:  # a bench figure, never a turn's failure
                    logger.warning("lock probe: could not record a hold: %s", error)


def read_holds(client: "redis.Redis") -> List[Dict[str, Any]]:
    """Every recorded hold: conversation, process, asked, acquired, released (floats)."""
    holds = []
    for _, fields in client.xrange(STREAM):
        text = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                for k, v in fields.items()}
        holds.append({"conversation": text["conversation"], "process": text["process"],
                      "asked": float(text["asked"]), "acquired": float(text["acquired"]),
                      "released": float(text["released"])})
    return holds
