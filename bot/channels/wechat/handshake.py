"""Who answers one message: the gateway (a passive reply) or the Rasa side (the API), never
both and never neither.

One key per message, `renben:wechat:turn:<dedupe key>`, is set once with SET NX by whichever
side decides first:

- the Rasa side, with the answer ready before the gateway's deadline, offers it:
  `passive:<json texts>`; it wins, publishes the key on ANSWERS_CHANNEL, and sends nothing itself;
- the gateway, at its deadline (or woken by that publication), gives up waiting: `async`;
  if it wins it answers `success` and the Rasa side, finding `async`, sends through the API;
  if it loses to an offer, it turns `passive:` into `collected:` (the same texts) in the same
  script and replies with them. A retry of the message (WeChat's, to any gateway) collects an
  offer the same way (`collect`); with no offer yet it answers `success`, as before.

The Rasa side offers `async` itself when it finishes after the deadline (or the key is gone):
it then sends. After sending it writes `sent`, so a message taken over from a dead Rasa
process (inbox.py) is not answered twice. An offer still not collected when WeChat's last try is
over (the gateway died holding it, and none came back in time) is taken back (`passive:` →
`async`, atomically, so a gateway collecting at that moment and the Rasa side never both win)
and sent through the API. The decisions are pure functions below; `Handshake` is the Redis I/O
around them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, List, Optional

from core.redis_keys import WECHAT_ANSWERS_CHANNEL as ANSWERS_CHANNEL, WECHAT_TURN as TURN
from bot.channels.wechat.constants import TURN_TTL

PASSIVE = "passive:"
COLLECTED = "collected:"  # the gateway took the offered texts for its reply
ASYNC = "async"
SENT = "sent"

# KEYS: the turn. ARGV: ttl. The value, an offer turned into `collected:` (the gateway replies
# with it); nil when nobody decided yet.
_COLLECT = """
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, 8) == 'passive:' then
  value = 'collected:' .. string.sub(value, 9)
  redis.call('SET', KEYS[1], value, 'EX', ARGV[1])
end
return value
"""

# The gateway gives up waiting: nil when it set `async` (it answers `success`); else as _COLLECT.
_GIVE_UP = """
if redis.call('SET', KEYS[1], 'async', 'NX', 'EX', ARGV[1]) then
  return false
end
""" + _COLLECT

# KEYS: the turn. ARGV: ttl. The Rasa side takes an offer nobody collected back: the offered
# texts' JSON when it did (it now sends them), nil when the offer was collected or is gone.
_TAKE_BACK = """
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, 8) == 'passive:' then
  redis.call('SET', KEYS[1], 'async', 'EX', ARGV[1])
  return string.sub(value, 9)
end
return false
"""

#: What the Rasa side does after offering: nothing more (the gateway has the answer), send it
#: through the API, or nothing at all (answered already, by an earlier run of this message).
HANDED, DELIVER, DONE = "handed", "deliver", "done"


@dataclass(frozen=True)
class Turn:
    state: str  # "passive" (offered), "collected" (taken by a gateway), ASYNC or SENT
    texts: Optional[List[str]] = None  # for "passive" and "collected"


def passive_value(texts: List[str]) -> str:
    return PASSIVE + json.dumps(list(texts), ensure_ascii=False)


def turn_of(value: Optional[str]) -> Optional[Turn]:
    """The stored value as a Turn; None when nobody has decided (or the key expired).
    A value that cannot be read counts as `async`: the Rasa side then sends, nothing is lost."""
    if value is None:
        return None
    for prefix in (PASSIVE, COLLECTED):
        if value.startswith(prefix):
            texts = texts_of(value[len(prefix):])
            return Turn(prefix[:-1], texts) if texts is not None else Turn(ASYNC)
    return Turn(SENT if value == SENT else ASYNC)


def texts_of(encoded: str) -> Optional[List[str]]:
    """The texts of an offer's JSON; None when it cannot be read."""
    try:
        texts = json.loads(encoded)
    except ValueError:
        return None
    return texts if isinstance(texts, list) and all(isinstance(text, str) for text in texts) else None


def gateway_reply(won: bool, current: Optional[str]) -> Optional[List[str]]:
    """After the gateway's `SET async NX`: the passive reply texts, or None to answer `success`
    (the gateway won, so the Rasa side sends; or the Rasa side already decided to send)."""
    if won:
        return None
    turn = turn_of(current)
    return turn.texts if turn is not None and turn.state in ("passive", "collected") else None


def bot_next(offered_passive: bool, won: bool, current: Optional[str]) -> str:
    """After the Rasa side's SET NX of its offer: HANDED, DELIVER or DONE."""
    if won:
        return HANDED if offered_passive else DELIVER
    turn = turn_of(current)
    if turn is None or turn.state == ASYNC:
        return DELIVER  # the gateway gave up (or the key expired meanwhile): send it
    return DONE  # the answer was handed over or sent by an earlier run of this message


class Handshake:
    """The turn keys in Redis (asyncio client, text replies)."""

    def __init__(self, redis: Any, *, ttl: int = TURN_TTL) -> None:
        self.redis, self.ttl = redis, ttl
        self._give_up = redis.register_script(_GIVE_UP)
        self._collect = redis.register_script(_COLLECT)
        self._take_back = redis.register_script(_TAKE_BACK)

    async def give_up(self, key: str) -> Optional[List[str]]:
        """The gateway stops waiting: the texts to reply passively, now marked collected, or
        None for `success`."""
        # One round trip: the gateway is at its deadline.
        current = await self._give_up(keys=[TURN + key], args=[self.ttl])
        return gateway_reply(current is None, current)

    async def collect(self, key: str) -> Optional[List[str]]:
        """A retry of the message (its first request may have died): the offered texts, now
        marked collected; None when there is no offer (yet, or the Rasa side sends)."""
        return gateway_reply(False, await self._collect(keys=[TURN + key], args=[self.ttl]))

    async def take_back(self, key: str) -> Optional[List[str]]:
        """The Rasa side's offer nobody collected: its texts, now the Rasa side's to send (then
        call `sent`); None when a gateway collected it (or it is gone)."""
        encoded = await self._take_back(keys=[TURN + key], args=[self.ttl])
        return None if encoded is None else (texts_of(encoded) or [])

    async def offer(self, key: str, texts: List[str], *, late: bool) -> str:
        """The Rasa side's answer is ready: HANDED (the gateway replies with `texts`), DELIVER
        (send them through the API, then call `sent`) or DONE (nothing to do). `late`: the
        gateway's deadline has passed, so the answer is not offered for a passive reply."""
        value = ASYNC if late else passive_value(texts)
        won = bool(await self.redis.set(TURN + key, value, nx=True, ex=self.ttl))
        if won and not late:
            await self.redis.publish(ANSWERS_CHANNEL, key)
        return bot_next(not late, won, None if won else await self.redis.get(TURN + key))

    async def sent(self, key: str) -> None:
        await self.redis.set(TURN + key, SENT, ex=self.ttl)

    async def turn(self, key: str) -> Optional[Turn]:
        return turn_of(await self.redis.get(TURN + key))
