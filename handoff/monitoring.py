"""The desk's figures read from Redis when Prometheus scrapes its /metrics: handoffs so far, the
queue now and the agents now, for the whole deployment (bot/monitoring/definitions.py FAMILIES).
Every desk process reports the same values; aggregate them with `max`.

`families(...)` is pure: waiting tickets, agents' presence and the handoff counts in, metric
families out, every priority and language at 0 when nothing is there (a dashboard shows 0, not a
gap). `QueueCollector` reads what it needs with the queue's client (blocking: the desk runs the
scrape in a worker thread); when Redis cannot be read it reports none of these figures for that
scrape and counts the error `metrics_unreadable`.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

import redis

from bot.language_codes import LANGUAGES
from bot.monitoring import definitions as metrics
from handoff import constants as k
from handoff import report_sources
from handoff.exceptions import DeskError
from handoff.queue import Queue
from handoff.reports import AgentPresence
from handoff.tickets import REASON_KINDS, Priority, Ticket

logger = logging.getLogger(__name__)


def families(*, waiting: Sequence[Ticket], agents: Iterable[AgentPresence], holding: Mapping[str, int],
             handoff_counts: Mapping[str, str], now: float) -> List[Any]:
    """The families of definitions.FAMILIES. `holding`: agent id -> tickets held; `handoff_counts`:
    the hash HANDOFF_COUNTS ("<reason kind>|<priority>" -> count)."""
    languages = list(LANGUAGES) + sorted({metrics.language_label(x.language) for x in waiting} - set(LANGUAGES))
    grid = [(priority.value, language) for priority in Priority for language in languages]
    depth: Dict[Tuple[str, str], int] = dict.fromkeys(grid, 0)
    oldest: Dict[Tuple[str, str], float] = dict.fromkeys(grid, 0.0)
    for ticket in waiting:
        cell = (ticket.priority.value, metrics.language_label(ticket.language))
        depth[cell] += 1
        oldest[cell] = max(oldest[cell], now - ticket.waiting_since)

    people: Dict[Tuple[str, str], int] = {(state, language): 0 for state in metrics.AGENT_STATES
                                          for language in LANGUAGES}
    for agent in agents:
        if agent.status == "offline":
            continue
        state = "busy" if holding.get(agent.agent_id) else agent.status
        if state not in metrics.AGENT_STATES:
            continue
        for language in dict.fromkeys(metrics.language_label(x) for x in agent.languages):
            people[(state, language)] = people.get((state, language), 0) + 1

    handoffs: Dict[Tuple[str, str], float] = {}
    priorities = {p.value for p in Priority}
    for field, count in handoff_counts.items():
        reason, _, priority = field.partition("|")
        if priority not in priorities:
            continue
        key = (reason if reason in REASON_KINDS else "other", priority)
        handoffs[key] = handoffs.get(key, 0.0) + float(count)

    built = []
    for family, values in ((metrics.QUEUE_DEPTH, depth), (metrics.QUEUE_OLDEST_WAIT, oldest),
                           (metrics.AGENTS, people), (metrics.HANDOFFS, handoffs)):
        made = family.build()
        for labels, value in sorted(values.items()):
            made.add_metric(list(labels), round(value, 3) if isinstance(value, float) else value)
        built.append(made)
    return built


class QueueCollector:
    """A prometheus_client collector of the desk's Redis figures (registered by handoff/server.py)."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    def describe(self) -> List[Any]:
        return [family.build() for family in metrics.FAMILIES]

    def collect(self) -> List[Any]:
        try:
            waiting = self.queue.waiting()
            agents = [agent for agent in report_sources.agents(self.queue) if agent.status != "offline"]
            pipe = self.queue.redis.pipeline(transaction=False)
            for agent in agents:
                pipe.scard(k.AGENT_TICKETS + agent.agent_id)
            pipe.hgetall(k.HANDOFF_COUNTS)
            *held, counts = pipe.execute()
        except (DeskError, redis.RedisError) as error:
            logger.warning("metrics: the queue's figures could not be read: %s", error)
            metrics.error("metrics_unreadable")
            return []
        return families(waiting=waiting, agents=agents, holding=dict(zip((a.agent_id for a in agents), held)),
                        handoff_counts=counts, now=self.queue.clock())
