"""Rasa's Redis lock store with short-lived tickets, renewed while their turn runs (issue 17, item 4).

Rasa serialises the turns of one conversation with a ticket lock in Redis (rasa.core.lock_store):
each turn takes a ticket that expires `lock_lifetime` after it was issued, 60 s by default
(`TICKET_LOCK_LIFETIME`). A process that dies mid-turn leaves its ticket behind, and the
conversation's next message waits for it to expire: a minute. A shorter lifetime alone would let a
long turn (an action server taking its time) lose its ticket while it still runs.

Here a ticket lives `lifetime_seconds` (10 s) and a thread of the process renews every ticket it
holds or waits with, every third of that, in one atomic script (Rasa's own read-modify-write of
the lock would otherwise race with the renewal). A dead process renews nothing: its tickets expire
within `lifetime_seconds`. A thread, not an asyncio task, so a turn that blocks the event loop
(NLU, a synchronous tracker store) keeps its ticket. A process stopped (SIGSTOP) for longer than
the lifetime loses its tickets like a dead one; the turn it resumes may then overlap the next.

endpoints.yml (bot/settings.py writes it):

    lock_store:
      type: bot.lock_store.RenewingLockStore
      url: <host>   port: <port>   db: 0   password: ...   use_ssl: false   key_prefix: renben
      lifetime_seconds: 10
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Dict, Optional, Text, Tuple

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore

from core import redis_clients

logger = logging.getLogger(__name__)

LIFETIME_SECONDS = 10.0

# Sets one ticket's expiry in the lock's JSON (Rasa's TicketLock.dumps: each ticket is itself a
# JSON text), in one step. KEYS[1]: the lock; ARGV: ticket number, new expiry (epoch seconds).
# Returns 1 when the ticket was there and renewed, 0 when it is gone (served, or expired and removed).
_RENEW = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local lock = cjson.decode(raw)
for i, text in ipairs(lock['tickets'] or {}) do
  local ticket = cjson.decode(text)
  if ticket['number'] == tonumber(ARGV[1]) then
    ticket['expires'] = tonumber(ARGV[2])
    lock['tickets'][i] = cjson.encode(ticket)
    redis.call('SET', KEYS[1], cjson.encode(lock))
    return 1
  end
end
return 0
"""


class RenewingLockStore(RedisLockStore):
    """Rasa's RedisLockStore with short tickets renewed while held; its client reconnects with
    backoff (core/redis_clients.py). Rasa builds it from endpoints.yml: `type: bot.lock_store.RenewingLockStore`."""

    def __init__(self, endpoint_config: Any = None, *, host: str = "localhost", port: int = 6379,
                 db: int = 0, password: Optional[str] = None, use_ssl: bool = False,
                 key_prefix: Optional[str] = None, lifetime_seconds: float = LIFETIME_SECONDS) -> None:
        if endpoint_config is not None:
            options = dict(endpoint_config.kwargs)
            host = endpoint_config.url or host
            port, db = int(options.get("port", port)), int(options.get("db", db))
            password, use_ssl = options.get("password", password), bool(options.get("use_ssl", use_ssl))
            key_prefix = options.get("key_prefix", key_prefix)
            lifetime_seconds = float(options.get("lifetime_seconds", lifetime_seconds))
        # RedisLockStore.__init__ would build a client without retries: set up its parts here.
        self.red = redis.Redis(host=host, port=port, db=db, password=password, ssl=use_ssl,
                               **redis_clients.options(asyncio=False, decode_responses=False, socket_timeout=10))
        self.key_prefix = "lock:"
        if key_prefix:
            self._set_key_prefix(key_prefix)
        self.lifetime = lifetime_seconds
        self._renew = self.red.register_script(_RENEW)
        self._held: Dict[Tuple[str, int], int] = {}  # (conversation, ticket) -> holders
        self._guard = threading.Lock()
        self._renewer: Optional[threading.Thread] = None

    @asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        """Rasa's lock, with a ticket of `self.lifetime` renewed until the turn ends
        (`lock_lifetime`, Rasa's 60 s default, is not used)."""
        ticket = self.issue_ticket(conversation_id, self.lifetime)
        key = (conversation_id, ticket)
        self._hold(key)
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            self._release(key)
            self.cleanup(conversation_id, ticket)

    def renew(self, conversation_id: str, ticket: int) -> bool:
        """Moves the ticket's expiry to `lifetime` from now; False when the ticket is gone."""
        return bool(self._renew(keys=[self.key_prefix + conversation_id],
                                args=[ticket, repr(time.time() + self.lifetime)]))

    def _hold(self, key: Tuple[str, int]) -> None:
        with self._guard:
            self._held[key] = self._held.get(key, 0) + 1
            if self._renewer is None or not self._renewer.is_alive():
                self._renewer = threading.Thread(target=self._renew_forever, name="lock-renewer", daemon=True)
                self._renewer.start()

    def _release(self, key: Tuple[str, int]) -> None:
        with self._guard:
            left = self._held.get(key, 1) - 1
            if left > 0:
                self._held[key] = left
            else:
                self._held.pop(key, None)

    def _renew_forever(self) -> None:
        while True:
            time.sleep(self.lifetime / 3)
            with self._guard:
                held = list(self._held)
            for conversation_id, ticket in held:
                try:
                    if not self.renew(conversation_id, ticket) and (conversation_id, ticket) in self._held:
                        logger.warning("lock of %s: ticket %s was gone before it was renewed",
                                       conversation_id, ticket)
                except redis.RedisError as error:  # it has the rest of its lifetime to succeed
                    logger.warning("lock of %s: renewing failed: %s", conversation_id, error)
