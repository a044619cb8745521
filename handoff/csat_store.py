"""The satisfaction surveys in Redis (keys in core/redis_keys.py: `renben:csat:<ticket_id>`,
`renben:csat-asked`). The desk writes a survey when it asks; the action server records the rating
and the comment, only on a survey that exists and belongs to the conversation answering. Erased
and purged with the conversation (core/privacy/retention.py). Raises QueueUnavailable.
"""
from __future__ import annotations

from typing import List, Optional

import redis

from core import redis_keys as k
from handoff.csat import SCORES, Survey, clean_comment
from handoff.exceptions import InvalidRequest, QueueUnavailable

# KEYS: 1 the survey. ARGV: 1 conversation id, then field, value pairs.
# Sets the fields only when the survey exists and belongs to that conversation: 1, else 0.
_ANSWER = """
if redis.call('HGET', KEYS[1], 'conversation_id') ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""


class CsatStore:
    def __init__(self, client: "redis.Redis[str]"):
        self.redis = client
        self._answer = client.register_script(_ANSWER)

    def ask(self, survey: Survey) -> None:
        """Records that the question was asked (a second ask for the same ticket replaces it)."""
        try:
            pipe = self.redis.pipeline(transaction=True)
            self.ask_in(pipe, survey)
            pipe.execute()
        except redis.RedisError as error:
            raise QueueUnavailable(f"Redis: {error}") from error

    @staticmethod
    def ask_in(pipe: "redis.client.Pipeline", survey: Survey) -> None:
        """Queues `ask` in a transaction (`pipe`)."""
        pipe.delete(k.CSAT + survey.ticket_id)
        pipe.hset(k.CSAT + survey.ticket_id, mapping=survey.as_fields())
        pipe.zadd(k.CSAT_ASKED, {survey.ticket_id: survey.asked_at})

    def rate(self, ticket_id: str, *, conversation_id: str, score: int, at: float) -> bool:
        """Records (or changes) the rating; False when there is no such survey for that conversation."""
        if score not in SCORES:
            raise InvalidRequest(f"a rating is one of {SCORES}, not {score!r}")
        return self._set(ticket_id, conversation_id, score=str(score), rated_at=str(at))

    def comment(self, ticket_id: str, *, conversation_id: str, text: str, at: float) -> bool:
        """Records the comment (as given to it: redact it first); False when there is no such survey."""
        return self._set(ticket_id, conversation_id, comment=clean_comment(text), commented_at=str(at))

    def get(self, ticket_id: str) -> Optional[Survey]:
        try:
            fields = self.redis.hgetall(k.CSAT + ticket_id)
        except redis.RedisError as error:
            raise QueueUnavailable(f"Redis: {error}") from error
        return Survey.from_fields(fields) if fields else None

    def asked_between(self, since: float = float("-inf"), until: float = float("inf")) -> List[Survey]:
        """The surveys asked in [since, until), oldest first."""
        try:
            ids = self.redis.zrangebyscore(k.CSAT_ASKED, since, f"({until}" if until != float("inf") else "+inf")
            pipe = self.redis.pipeline(transaction=False)
            for ticket_id in ids:
                pipe.hgetall(k.CSAT + ticket_id)
            found = pipe.execute()
        except redis.RedisError as error:
            raise QueueUnavailable(f"Redis: {error}") from error
        return [Survey.from_fields(fields) for fields in found if fields]

    def _set(self, ticket_id: str, conversation_id: str, **fields: str) -> bool:
        args = [conversation_id] + [part for pair in fields.items() for part in pair]
        try:
            return bool(self._answer(keys=[k.CSAT + ticket_id], args=args))
        except redis.RedisError as error:
            raise QueueUnavailable(f"Redis: {error}") from error
