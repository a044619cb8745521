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

Every change to a lock is one atomic script here (issue 21). Rasa's RedisLockStore issues a ticket,
lets one go and tidies expired ones by reading the lock, changing it in the process and writing it
back: two Rasa processes doing so at the same moment overwrite each other (RasaHQ/rasa#9213).
Two turns then got the same ticket and ran at once, and the second save stored none of its events
(bench/scale_out.py lost acknowledged messages that way), or a waiting turn's ticket vanished and
it failed with LockError. Scripts change the lock in Rasa's own format (TicketLock), so Rasa's
reads of it (`get_lock`, `_acquire_lock`) are unchanged.

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
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

from bot import redis_clients

logger = logging.getLogger(__name__)

LIFETIME_SECONDS = 10.0
#: How long a turn waiting for another turn of its conversation sleeps before it looks again.
#: Rasa's 1 s made the second of two messages written at once start on average half a second
#: after it could (bench/scale_out.py); each look is two Redis round trips.
WAIT_SECONDS = 0.1

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

# The lock's JSON in Rasa's format, from a Lua list of ticket texts (written by hand: cjson
# would write an empty list as an object).
_LOCK_LIB = """
local function tickets_alive(raw, now)
  local kept = {}
  if raw then
    for _, text in ipairs(cjson.decode(raw)['tickets'] or {}) do
      if cjson.decode(text)['expires'] >= now then table.insert(kept, text) end
    end
  end
  return kept
end
local function save(key, conversation_id, tickets)
  if #tickets == 0 then return redis.call('DEL', key) end
  local texts = {}
  for i, text in ipairs(tickets) do texts[i] = cjson.encode(text) end
  return redis.call('SET', key, '{"conversation_id": ' .. cjson.encode(conversation_id) ..
                    ', "tickets": [' .. table.concat(texts, ', ') .. ']}')
end
"""

# Issues the next ticket (Rasa's TicketLock.issue_ticket): expired tickets dropped, number one
# more than the last ticket's. KEYS[1]: the lock; ARGV: conversation id, now, expiry. Returns it.
_ISSUE = _LOCK_LIB + """
local tickets = tickets_alive(redis.call('GET', KEYS[1]), tonumber(ARGV[2]))
local number = 0
if #tickets > 0 then number = cjson.decode(tickets[#tickets])['number'] + 1 end
table.insert(tickets, cjson.encode({number = number, expires = tonumber(ARGV[3])}))
save(KEYS[1], ARGV[1], tickets)
return number
"""

# Lets a ticket go (Rasa's LockStore.cleanup): drops it and the expired ones, deletes the lock
# when no ticket is left. KEYS[1]: the lock; ARGV: conversation id, now, ticket ('' for none:
# only the expired ones, Rasa's update_lock).
_LET_GO = _LOCK_LIB + """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local kept = {}
for _, text in ipairs(tickets_alive(raw, tonumber(ARGV[2]))) do
  if ARGV[3] == '' or cjson.decode(text)['number'] ~= tonumber(ARGV[3]) then table.insert(kept, text) end
end
save(KEYS[1], ARGV[1], kept)
return 1
"""


class RenewingLockStore(RedisLockStore):
    """Rasa's RedisLockStore with short tickets renewed while held; its client reconnects with
    backoff (bot/redis_clients.py). Rasa builds it from endpoints.yml: `type: bot.lock_store.RenewingLockStore`."""

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
        self._issue = self.red.register_script(_ISSUE)
        self._let_go = self.red.register_script(_LET_GO)
        self._held: Dict[Tuple[str, int], int] = {}  # (conversation, ticket) -> holders
        self._guard = threading.Lock()
        self._renewer: Optional[threading.Thread] = None

    @asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = WAIT_SECONDS) -> AsyncGenerator[TicketLock, None]:
        """Rasa's lock, with a ticket of `self.lifetime` renewed until the turn ends
        (`lock_lifetime`, Rasa's 60 s default, is not used), looked at every
        `wait_time_in_seconds` while another turn holds it (Rasa calls it without: WAIT_SECONDS)."""
        ticket = self.issue_ticket(conversation_id, self.lifetime)
        key = (conversation_id, ticket)
        self._hold(key)
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            self._release(key)
            self.cleanup(conversation_id, ticket)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A new ticket for the conversation's lock, in one atomic step (see the module's text)."""
        now = time.time()
        try:
            return int(self._issue(keys=[self.key_prefix + conversation_id],
                                   args=[conversation_id, repr(now), repr(now + lock_lifetime)]))
        except redis.RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Lets the ticket go, and deletes the lock when no other ticket is left, in one step."""
        self._let_go(keys=[self.key_prefix + conversation_id],
                     args=[conversation_id, repr(time.time()), str(ticket_number)])

    def update_lock(self, conversation_id: Text) -> None:
        """Drops the lock's expired tickets (a waiting turn does this between tries), in one step."""
        self._let_go(keys=[self.key_prefix + conversation_id], args=[conversation_id, repr(time.time()), ""])

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
