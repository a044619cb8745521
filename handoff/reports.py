"""The supervisor's figures, computed from what the desk already records (pure: no I/O).

Two views, both numbers only (no transcript, no conversation id, nothing a claimant wrote):

* `live_view`: the queue now: waiting tickets by priority and language, the longest wait,
  agents available / away / busy with the tickets they hold, tickets past their wait threshold.
* `period_report`: over a chosen period, per language and channel: conversations, handoff rate,
  share resolved by the bot, time to first agent reply and handling time (p50, p90), abandonment,
  callbacks asked and done, CSAT (the surveys' ratings given in the period), and the
  two charts' series (queue length over the period, waits by priority). `to_csv` writes the rows.

Sources (handoff/report_sources.py reads them): ticket histories (handoff/tickets.py) and the
conversation events the Rasa event broker streams (bot/event_broker.py: `user` events with
`input_channel`, `parse_data.intent` and `parse_data.language`; `slot` events of `language`; the
agents' messages, `bot` events with `metadata.agent_id`).

Definitions (docs/supervisor-view.md says the same for supervisors):

* a conversation is counted in a period when the claimant wrote in it during the period; its
  language is the last `language` slot set (else the last detected language), its channel the
  `input_channel` of its messages; a conversation known only from a ticket takes the ticket's;
* handed off: a ticket of the conversation was enqueued in the period; handoff rate = handed off
  ÷ conversations;
* resolved by the bot: not handed off, and the claimant's last message in the period was
  understood (intent not `nlu_fallback`);
* ticket figures (first reply, handling, abandonment, callbacks) count tickets enqueued in the
  period, grouped by the ticket's language and channel;
* time to first agent reply: enqueued → the first agent message in the conversation after it
  (live tickets; a callback is answered by telephone);
* handling time: first claim → returned or closed;
* abandoned: a live ticket that left the queue without ever being claimed because the claimant
  went: they said "never mind" (returned by `claimant`, unless they left a callback number at
  that moment: a callback ticket of the conversation enqueued within `CALLBACK_PAIRING_SECONDS`),
  or it was closed `claimant_left` while waiting;
* callbacks asked: callback tickets enqueued; done: callback tickets closed `callback_done`;
* p50/p90 are nearest-rank percentiles (the smallest value with at least p % of values at or
  below it); a figure with nothing to measure is None (an empty cell in the CSV).
"""
from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from handoff.exceptions import InvalidRequest
from handoff.tickets import Priority, State, Ticket, overdue

#: The longest period one report may cover.
MAX_PERIOD_SECONDS = 31 * 86400
#: About this many points on the queue-length chart; buckets are whole quarter hours.
CHART_POINTS = 96
QUARTER_HOUR = 900
#: A "never mind" this close after a callback ticket of the same conversation was a callback.
CALLBACK_PAIRING_SECONDS = 60.0
#: History entries a CSAT rating would be recorded as (issue 16a): detail {"score": 1..5}.
ALL = "all"
FALLBACK_INTENT = "nlu_fallback"

#: The report's CSV columns, in order (docs/supervisor-view.md explains each).
CSV_COLUMNS = (
    "period_from", "period_to", "language", "channel", "conversations", "handed_off",
    "handoff_rate", "bot_resolved", "bot_resolved_share", "tickets", "first_reply_p50_s",
    "first_reply_p90_s", "handling_p50_s", "handling_p90_s", "abandoned", "abandonment_rate",
    "callbacks_asked", "callbacks_done", "csat_mean", "csat_count",
)


@dataclass(frozen=True)
class Period:
    """[start, end) in epoch seconds. Build with `create`, which checks it."""

    start: float
    end: float

    @classmethod
    def create(cls, start: Any, end: Any) -> "Period":
        for value in (start, end):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InvalidRequest("a period's from and to are epoch seconds")
        if end <= start:
            raise InvalidRequest("a period ends after it starts")
        if end - start > MAX_PERIOD_SECONDS:
            raise InvalidRequest(f"a period is at most {MAX_PERIOD_SECONDS // 86400} days")
        return cls(float(start), float(end))

    def __contains__(self, at: Optional[float]) -> bool:
        return at is not None and self.start <= at < self.end

    @property
    def step(self) -> int:
        """Seconds per bucket of the queue-length chart: whole quarter hours, about CHART_POINTS."""
        quarters = math.ceil((self.end - self.start) / CHART_POINTS / QUARTER_HOUR)
        return max(1, quarters) * QUARTER_HOUR


def percentile(values: Iterable[float], p: float) -> Optional[float]:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


# ----- the live view -------------------------------------------------------------------------

@dataclass(frozen=True)
class AgentPresence:
    """An agent as the live view shows them. `status` is the desk's: available, away, offline."""

    agent_id: str
    name: str
    role: str
    languages: Tuple[str, ...]
    status: str


def live_view(*, waiting: Sequence[Ticket], agents: Sequence[AgentPresence],
              held: Mapping[str, Sequence[Ticket]], now: float,
              thresholds: Mapping[Priority, float]) -> Dict[str, Any]:
    """The queue now. An agent who holds a ticket and is not offline is `busy`."""
    grid: Dict[str, Dict[str, int]] = {}
    for ticket in waiting:
        row = grid.setdefault(ticket.language, {p.value: 0 for p in Priority})
        row[ticket.priority.value] += 1
    by_priority = {p.value: sum(row[p.value] for row in grid.values()) for p in Priority}
    longest = max(waiting, key=lambda x: now - x.waiting_since, default=None)
    late = [a for a in (overdue(x, now=now, thresholds=thresholds) for x in waiting) if a is not None]
    people = []
    for agent in agents:
        holding = [x for x in held.get(agent.agent_id, ()) if x.state is State.ASSIGNED]
        status = "busy" if holding and agent.status != "offline" else agent.status
        people.append({
            "agent_id": agent.agent_id, "name": agent.name or agent.agent_id, "role": agent.role,
            "languages": list(agent.languages), "status": status,
            "holding": [{"ticket_id": x.id, "language": x.language, "channel": x.channel,
                         "priority": x.priority.value,
                         "held_seconds": _round(now - (x.assigned_at or now))} for x in holding],
        })
    order = {"busy": 0, "available": 1, "away": 2, "offline": 3}
    people.sort(key=lambda a: (order.get(a["status"], 4), a["agent_id"]))
    return {
        "at": now,
        "waiting": {"total": len(waiting), "by_priority": by_priority,
                    "by_language": {lang: sum(row.values()) for lang, row in sorted(grid.items())},
                    "grid": dict(sorted(grid.items()))},
        "longest_wait": None if longest is None else {
            "ticket_id": longest.id, "language": longest.language, "priority": longest.priority.value,
            "seconds": _round(now - longest.waiting_since)},
        "agents": people,
        "agent_counts": {s: sum(a["status"] == s for a in people) for s in ("available", "away", "busy", "offline")},
        "overdue": [{"ticket_id": a.ticket_id, "language": a.language, "priority": a.priority.value,
                     "waited_seconds": a.waited_seconds, "threshold_seconds": a.threshold_seconds}
                    for a in sorted(late, key=lambda a: -a.waited_seconds)],
    }


# ----- what the event stream says ------------------------------------------------------------

@dataclass
class ConversationFacts:
    """One conversation's activity in a period, from its events."""

    language: str = ""
    channel: str = ""
    last_intent: str = ""
    messages: int = 0


def conversations(events: Iterable[Mapping[str, Any]], period: Period) -> Dict[str, ConversationFacts]:
    """Conversations the claimant wrote in during the period, from stream events (each the
    event's JSON with `sender_id`), in stream order."""
    found: Dict[str, ConversationFacts] = {}
    slot_language: Dict[str, str] = {}
    for event in events:
        sender, kind, at = event.get("sender_id"), event.get("event"), _number(event.get("timestamp"))
        if not sender or at is None or at >= period.end:
            continue
        if kind == "slot" and event.get("name") == "language" and isinstance(event.get("value"), str):
            slot_language[sender] = event["value"]
        if kind != "user" or at < period.start:
            continue
        facts = found.setdefault(sender, ConversationFacts())
        parse = event.get("parse_data") if isinstance(event.get("parse_data"), Mapping) else {}
        detected = parse.get("language")
        detected = detected.get("code") if isinstance(detected, Mapping) else detected
        intent = parse.get("intent") if isinstance(parse.get("intent"), Mapping) else {}
        facts.language = slot_language.get(sender) or (detected if isinstance(detected, str) else "") or facts.language
        facts.channel = str(event.get("input_channel") or facts.channel)
        facts.last_intent = str(intent.get("name") or "")
        facts.messages += 1
    for sender, facts in found.items():  # a slot set after the last message still names the language
        facts.language = slot_language.get(sender) or facts.language
    return found


def agent_replies(events: Iterable[Mapping[str, Any]]) -> Dict[str, List[float]]:
    """When agents wrote, per conversation (sorted): `bot` events with `metadata.agent_id`."""
    replies: Dict[str, List[float]] = {}
    for event in events:
        metadata = event.get("metadata") if isinstance(event.get("metadata"), Mapping) else {}
        at = _number(event.get("timestamp"))
        if event.get("event") == "bot" and metadata.get("agent_id") and at is not None and event.get("sender_id"):
            replies.setdefault(str(event["sender_id"]), []).append(at)
    for times in replies.values():
        times.sort()
    return replies


# ----- what a ticket's history says ----------------------------------------------------------

@dataclass(frozen=True)
class Spell:
    """A stretch of time a ticket spent in a language queue. `end` None: still waiting.
    `ended_by`: served (claimed or transferred to an agent), moved (to another language's
    queue), returned, closed. `wait_from`: when this wait began, across moves between queues."""

    language: str
    priority: str
    start: float
    end: Optional[float]
    ended_by: Optional[str]
    wait_from: float


@dataclass(frozen=True)
class TicketFacts:
    ticket: Ticket
    enqueued_at: float
    first_claim_at: Optional[float]
    ended_at: Optional[float]
    ended_event: Optional[str]
    spells: Tuple[Spell, ...]
    left_waiting_by_claimant: Optional[float]  # when the claimant left the queue, if they did

    @property
    def handling_seconds(self) -> Optional[float]:
        if self.first_claim_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.first_claim_at


def ticket_facts(ticket: Ticket) -> TicketFacts:
    """Walks the history: the ticket's spells in the queues, first claim, end, and whether the
    claimant left while waiting."""
    spells: List[Spell] = []
    current: Optional[Dict[str, Any]] = None
    priority, language = ticket.priority.value, ticket.language
    first_claim = ended_at = left = None
    ended_event = None
    enqueued_at = ticket.history[0].at if ticket.history else ticket.created_at

    def stop(at: float, how: str) -> None:
        nonlocal current
        if current is not None:
            spells.append(Spell(current["language"], priority, current["start"], at, how, current["wait_from"]))
            current = None

    def start(at: float, wait_from: Optional[float] = None) -> None:
        nonlocal current
        current = {"language": language, "start": at, "wait_from": at if wait_from is None else wait_from}

    for entry in ticket.history:
        detail, at = entry.detail, entry.at
        if entry.event == "enqueued":
            priority = str(detail.get("priority") or priority)
            language = str(detail.get("language") or language)
            start(at)
        elif entry.event == "priority_raised":
            priority = str(detail.get("to") or priority)
        elif entry.event == "claimed" or (entry.event == "transferred" and detail.get("to_agent")):
            stop(at, "served")
            first_claim = at if first_claim is None else first_claim
        elif entry.event == "transferred" and detail.get("to_language"):
            wait_from = current["wait_from"] if current is not None else at
            stop(at, "moved")
            language = str(detail["to_language"])
            start(at, wait_from)
        elif entry.event in ("released", "requeued"):
            start(at)
        elif entry.event in ("returned", "closed"):
            was_waiting = current is not None
            stop(at, entry.event)
            ended_at, ended_event = at, entry.event
            if was_waiting and first_claim is None and (
                    (entry.event == "returned" and entry.by == "claimant")
                    or (entry.event == "closed" and detail.get("reason_code") == "claimant_left")):
                left = at
    if current is not None:
        spells.append(Spell(current["language"], priority, current["start"], None, None, current["wait_from"]))
    return TicketFacts(ticket, enqueued_at, first_claim, ended_at, ended_event, tuple(spells), left)


@dataclass(frozen=True)
class Rating:
    """One CSAT answer (1-5), from the satisfaction surveys (handoff/csat_store.py, read by
    handoff/report_sources.py `ratings`)."""

    language: str
    channel: str
    score: int
    at: float


# ----- the period report ---------------------------------------------------------------------

@dataclass
class _Group:
    conversations: int = 0
    handed_off: int = 0
    bot_resolved: int = 0
    tickets: int = 0
    first_replies: List[float] = field(default_factory=list)
    handling: List[float] = field(default_factory=list)
    live_tickets: int = 0
    abandoned: int = 0
    callbacks_asked: int = 0
    callbacks_done: int = 0
    scores: List[int] = field(default_factory=list)

    def row(self, language: str, channel: str) -> Dict[str, Any]:
        return {
            "language": language, "channel": channel,
            "conversations": self.conversations, "handed_off": self.handed_off,
            "handoff_rate": _ratio(self.handed_off, self.conversations),
            "bot_resolved": self.bot_resolved, "bot_resolved_share": _ratio(self.bot_resolved, self.conversations),
            "tickets": self.tickets,
            "first_reply_p50_s": _round(percentile(self.first_replies, 50)),
            "first_reply_p90_s": _round(percentile(self.first_replies, 90)),
            "handling_p50_s": _round(percentile(self.handling, 50)),
            "handling_p90_s": _round(percentile(self.handling, 90)),
            "abandoned": self.abandoned, "abandonment_rate": _ratio(self.abandoned, self.live_tickets),
            "callbacks_asked": self.callbacks_asked, "callbacks_done": self.callbacks_done,
            "csat_mean": _round(sum(self.scores) / len(self.scores), 2) if self.scores else None,
            "csat_count": len(self.scores),
        }


def period_report(*, tickets: Sequence[Ticket], events: Sequence[Mapping[str, Any]], period: Period,
                  now: float, ratings: Sequence[Rating] = (),
                  events_from: Optional[float] = None) -> Dict[str, Any]:
    """The figures of `period` (see the module's definitions). `tickets`: every ticket that may
    touch the period (others are ignored); `events`: the stream's events around it, in order;
    `events_from`: the oldest event the stream still holds (older ones were trimmed), so the
    report can say when its conversation figures are partial."""
    talk = conversations(events, period)
    replies = agent_replies(events)
    facts = [ticket_facts(x) for x in tickets]
    in_period = [f for f in facts if f.enqueued_at in period]
    groups: Dict[Tuple[str, str], _Group] = {}

    def add(language: str, channel: str) -> List[_Group]:
        return [groups.setdefault((language or "?", channel or "?"), _Group()), groups.setdefault((ALL, ALL), _Group())]

    handed_off: Dict[str, TicketFacts] = {}
    for f in in_period:
        handed_off.setdefault(f.ticket.conversation_id, f)
    for conversation_id in set(talk) | set(handed_off):
        seen, ticket = talk.get(conversation_id), handed_off.get(conversation_id)
        language = (seen.language if seen else "") or (ticket.ticket.language if ticket else "")
        channel = (seen.channel if seen else "") or (ticket.ticket.channel if ticket else "")
        for group in add(language, channel):
            group.conversations += 1
            group.handed_off += ticket is not None
            group.bot_resolved += ticket is None and seen is not None and seen.last_intent != FALLBACK_INTENT

    callbacks_at = {}
    for f in facts:
        if f.ticket.callback is not None:
            callbacks_at.setdefault(f.ticket.conversation_id, []).append(f.enqueued_at)
    for f in in_period:
        ticket = f.ticket
        for group in add(ticket.language, ticket.channel):
            group.tickets += 1
            if f.handling_seconds is not None:
                group.handling.append(f.handling_seconds)
            if ticket.callback is not None:
                group.callbacks_asked += 1
                group.callbacks_done += ticket.close_reason == "callback_done"
                continue
            group.live_tickets += 1
            first = next((at for at in replies.get(ticket.conversation_id, ())
                          if at >= f.enqueued_at and (f.ended_at is None or at <= f.ended_at)), None)
            if first is not None:
                group.first_replies.append(first - f.enqueued_at)
            if f.left_waiting_by_claimant is not None and not any(
                    0 <= f.left_waiting_by_claimant - at <= CALLBACK_PAIRING_SECONDS
                    for at in callbacks_at.get(ticket.conversation_id, ())):
                group.abandoned += 1
    for rating in ratings:
        if rating.at in period:
            for group in add(rating.language, rating.channel):
                group.scores.append(rating.score)

    rows = [group.row(language, channel) for (language, channel), group in sorted(groups.items())
            if (language, channel) != (ALL, ALL)]
    total = groups.get((ALL, ALL), _Group()).row(ALL, ALL)
    return {
        "period": {"from": period.start, "to": period.end},
        "generated_at": now,
        "coverage": {"events_from": events_from,
                     "partial": events_from is None or events_from > period.start},
        "rows": rows, "total": total,
        "queue_length": queue_length(facts, period, now=now),
        "waits_by_priority": waits_by_priority(facts, period),
    }


def queue_length(facts: Sequence[TicketFacts], period: Period, *, now: float) -> Dict[str, Any]:
    """The longest each language's queue was in each bucket of the period (and all together)."""
    step = period.step
    starts = [period.start + n * step for n in range(math.ceil((period.end - period.start) / step))]
    spells = [s for f in facts for s in f.spells]
    languages = sorted({s.language for s in spells})
    series = {language: _bucket_maxima([s for s in spells if s.language == language], starts, step, now)
              for language in languages}
    series[ALL] = _bucket_maxima(spells, starts, step, now)
    return {"step": step, "buckets": starts, "series": series}


def _bucket_maxima(spells: Sequence[Spell], starts: Sequence[float], step: float, now: float) -> List[int]:
    # +1 when a spell starts, -1 when it ends; at one instant ends come first (not concurrent).
    changes = sorted([(s.start, 1) for s in spells] + [(min(s.end if s.end is not None else now, now), -1)
                                                       for s in spells if (s.end if s.end is not None else now) >= s.start],
                     key=lambda c: (c[0], c[1]))
    maxima, length, i = [], 0, 0
    for start in starts:
        while i < len(changes) and changes[i][0] <= start:
            length += changes[i][1]
            i += 1
        highest = length
        while i < len(changes) and changes[i][0] < start + step:
            length += changes[i][1]
            highest = max(highest, length)
            i += 1
        maxima.append(highest if start <= now else 0)
    return maxima


def waits_by_priority(facts: Iterable[TicketFacts], period: Optional[Period] = None) -> Dict[str, Dict[str, Any]]:
    """How long claimants waited until a person took their ticket, by the priority it had then:
    count, p50, p90, longest (seconds)."""
    waits: Dict[str, List[float]] = {p.value: [] for p in Priority}
    for f in facts:
        for spell in f.spells:
            if spell.ended_by == "served" and spell.end is not None and (period is None or spell.end in period):
                waits.setdefault(spell.priority, []).append(spell.end - spell.wait_from)
    return {priority: {"count": len(values), "p50": _round(percentile(values, 50)),
                       "p90": _round(percentile(values, 90)), "max": _round(max(values, default=None))}
            for priority, values in waits.items()}


def to_csv(report: Mapping[str, Any]) -> str:
    """The report's rows and total as CSV (CSV_COLUMNS), times as ISO 8601 UTC."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    period = {"period_from": _iso(report["period"]["from"]), "period_to": _iso(report["period"]["to"])}
    for row in list(report["rows"]) + [report["total"]]:
        writer.writerow({**period, **{key: "" if value is None else value for key, value in row.items()}})
    return out.getvalue()


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _ratio(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def _round(value: Optional[float], digits: int = 1) -> Optional[float]:
    return None if value is None else round(float(value), digits)


def _number(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
