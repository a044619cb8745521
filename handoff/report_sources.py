"""Reads what the supervisor's figures are computed from (handoff/reports.py does the computing).

* tickets and their histories: every `renben:ticket:<id>` (SCAN; tickets are few beside the
  events, and retention deletes them with their conversation);
* conversation events: `renben:events` by stream id (an entry's id is the time the broker wrote
  it, within seconds of the event's own timestamp), with an hour's margin either side, then
  filtered by the event's timestamp; the stream is trimmed (DeskSettings.stream_maxlen), so the
  oldest entry's time goes with the report;
* presence: the access store's desk accounts, their presence records and the tickets they hold;
* satisfaction: the surveys answered in the period (handoff/csat_store.py).

Blocking (redis-py); the desk calls these in worker threads. Raises QueueUnavailable.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Optional, Tuple

import redis

from core.privacy import access
from core.privacy import exceptions as privacy_errors
from core import redis_keys as k
from handoff import reports
from handoff.agents import ROLES
from handoff.csat_store import CsatStore
from handoff.exceptions import QueueUnavailable
from handoff.queue import Queue
from handoff.tickets import Ticket

#: Events are read this far before and after the period (the broker may write late after an outage).
STREAM_MARGIN_SECONDS = 3600
_BATCH = 500


def live(queue: Queue) -> Dict[str, Any]:
    """reports.live_view of the queue now."""
    now = queue.clock()
    people = agents(queue)
    held = {agent.agent_id: queue.agent_tickets(agent.agent_id) for agent in people}
    return reports.live_view(waiting=queue.waiting(), agents=people, held=held, now=now,
                             thresholds=queue.settings.thresholds)


def period(queue: Queue, span: reports.Period) -> Dict[str, Any]:
    """reports.period_report of `span`."""
    found = tickets(queue.redis, span)
    events, events_from = stream_events(queue.redis, span)
    return reports.period_report(tickets=found, events=events, period=span, now=queue.clock(),
                                 ratings=ratings(queue.redis, span), events_from=events_from)


def ratings(client: "redis.Redis[str]", span: reports.Period) -> List[reports.Rating]:
    """The CSAT scores given in `span` (a survey asked before it may be answered in it)."""
    with _RedisErrors():
        surveys = CsatStore(client).asked_between(span.start - 7 * 86400, span.end)
    return [reports.Rating(s.language, s.channel, s.score, s.rated_at) for s in surveys
            if s.score is not None and s.rated_at is not None and span.start <= s.rated_at < span.end]


def agents(queue: Queue) -> List[reports.AgentPresence]:
    """Every desk account (agents and supervisors) with its presence; never seen: offline."""
    try:
        accounts = access.users(queue.redis)
    except privacy_errors.StoreUnavailable as error:
        raise QueueUnavailable(str(error)) from None
    with _RedisErrors():
        pipe = queue.redis.pipeline(transaction=False)
        desk = sorted(user for user, account in accounts.items() if account.get("role") in ROLES)
        for user in desk:
            pipe.hget(k.AGENT + user, "status")
        statuses = pipe.execute()
    return [reports.AgentPresence(user, str(accounts[user].get("name") or user), accounts[user]["role"],
                                  tuple(accounts[user].get("languages") or ()), status or "offline")
            for user, status in zip(desk, statuses)]


def tickets(client: "redis.Redis[str]", span: reports.Period) -> List[Ticket]:
    """Tickets whose life overlaps the period (enqueued before its end; open, or with history
    after its start)."""
    found = []
    for ticket in _all_tickets(client):
        first = ticket.history[0].at if ticket.history else ticket.created_at
        last = ticket.history[-1].at if ticket.history else ticket.created_at
        if first < span.end and (ticket.state.is_open or last >= span.start):
            found.append(ticket)
    return found


def _all_tickets(client: "redis.Redis[str]") -> Iterator[Ticket]:
    with _RedisErrors():
        ids = [key[len(k.TICKET):] for key in client.scan_iter(match=k.TICKET + "*", count=1000)]
    for offset in range(0, len(ids), _BATCH):
        batch = ids[offset:offset + _BATCH]
        with _RedisErrors():
            pipe = client.pipeline(transaction=False)
            for ticket_id in batch:
                pipe.hget(k.TICKET + ticket_id, "data")
                pipe.lrange(k.TICKET_HISTORY + ticket_id, 0, -1)
            replies = pipe.execute()
        for data, history in zip(replies[::2], replies[1::2]):
            if not data:  # erased between the scan and the read
                continue
            stored = json.loads(data)
            stored["history"] = [json.loads(entry) for entry in history]
            yield Ticket.from_dict(stored)


def stream_events(client: "redis.Redis[str]", span: reports.Period) -> Tuple[List[Dict[str, Any]], Optional[float]]:
    """The events around the period, in stream order (each the event's JSON with `sender_id`),
    and the time of the oldest entry the stream still holds (None when it is empty)."""
    low = f"{int(max(0.0, span.start - STREAM_MARGIN_SECONDS) * 1000)}-0"
    high = f"{int((span.end + STREAM_MARGIN_SECONDS) * 1000)}-18446744073709551615"
    events: List[Dict[str, Any]] = []
    with _RedisErrors():
        oldest = client.xrange(k.EVENTS_STREAM, count=1)
        while True:
            batch = client.xrange(k.EVENTS_STREAM, min=low, max=high, count=_BATCH)
            for entry_id, fields in batch:
                if fields.get("event") not in ("user", "bot", "slot"):
                    continue
                try:
                    event = json.loads(fields.get("data") or "")
                except ValueError:
                    continue
                if isinstance(event, dict):
                    event.setdefault("sender_id", fields.get("sender_id"))
                    events.append(event)
            if len(batch) < _BATCH:
                break
            low = "(" + batch[-1][0]
    events_from = int(oldest[0][0].split("-")[0]) / 1000 if oldest else None
    return events, events_from


class _RedisErrors:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, trace) -> bool:  # noqa: ANN001
        if error is not None and isinstance(error, redis.RedisError):
            raise QueueUnavailable(f"Redis: {error}") from error
        return False
