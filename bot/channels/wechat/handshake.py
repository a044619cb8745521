"""Who answers one message: the gateway (a passive reply) or the Rasa side (the API), never
both and never neither.

One key per message, `renben:wechat:turn:<dedupe key>`, is set once with SET NX by whichever
side decides first:

- the Rasa side, with the answer ready before the gateway's deadline, offers it:
  `passive:<json texts>`; it wins, publishes the key on ANSWERS_CHANNEL, and sends nothing itself;
- the gateway, at its deadline (or woken by that publication), gives up waiting: `async`;
  if it wins it answers `success` and the Rasa side, finding `async`, sends through the API;
  if it loses, the value is the passive answer it replies with.

The Rasa side offers `async` itself when it finishes after the deadline (or the key is gone):
it then sends. After sending it writes `sent`, so a message taken over from a dead Rasa
process (inbox.py) is not answered twice. The decisions are pure functions below; `Handshake`
is the Redis I/O around them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, List, Optional

from core.redis_keys import WECHAT_ANSWERS_CHANNEL as ANSWERS_CHANNEL, WECHAT_TURN as TURN
from bot.channels.wechat.constants import TURN_TTL

PASSIVE = "passive:"
ASYNC = "async"
SENT = "sent"

#: What the Rasa side does after offering: nothing more (the gateway has the answer), send it
#: through the API, or nothing at all (answered already, by an earlier run of this message).
HANDED, DELIVER, DONE = "handed", "deliver", "done"


@dataclass(frozen=True)
class Turn:
    state: str  # PASSIVE (without the colon: "passive"), ASYNC or SENT
    texts: Optional[List[str]] = None  # for "passive"


def passive_value(texts: List[str]) -> str:
    return PASSIVE + json.dumps(list(texts), ensure_ascii=False)


def turn_of(value: Optional[str]) -> Optional[Turn]:
    """The stored value as a Turn; None when nobody has decided (or the key expired).
    A value that cannot be read counts as `async`: the Rasa side then sends, nothing is lost."""
    if value is None:
        return None
    if value.startswith(PASSIVE):
        try:
            texts = json.loads(value[len(PASSIVE):])
        except ValueError:
            texts = None
        if isinstance(texts, list) and all(isinstance(text, str) for text in texts):
            return Turn("passive", texts)
        return Turn(ASYNC)
    return Turn(SENT if value == SENT else ASYNC)


def gateway_reply(won: bool, current: Optional[str]) -> Optional[List[str]]:
    """After the gateway's `SET async NX`: the passive reply texts, or None to answer `success`
    (the gateway won, so the Rasa side sends; or the Rasa side already decided to send)."""
    if won:
        return None
    turn = turn_of(current)
    return turn.texts if turn is not None and turn.state == "passive" else None


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

    async def give_up(self, key: str) -> Optional[List[str]]:
        """The gateway stops waiting: the texts to reply passively, or None for `success`."""
        # One round trip: the gateway is at its deadline.
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(TURN + key, ASYNC, nx=True, ex=self.ttl)
        pipe.get(TURN + key)
        won, current = await pipe.execute()
        return gateway_reply(bool(won), current)

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
