"""A scripted day at the desk (Monday 4 March 2024, Beijing time) with the figures it must give.

One script, two drivers: `pure_tickets()` applies handoff/tickets.py's functions (unit tests);
`play(queue, clock)` drives a real Queue on Redis with a settable clock (desk and browser tests).
`events()` are the conversation events the Rasa event broker would have streamed that day, and
`add_to_stream` writes them to renben:events with ids at their own times.

Agents: li and wang take zh, sam takes en. Conversations `day-b*` never reach a person.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

from core import redis_keys as k
from handoff import tickets as t
from handoff.tickets import CallbackRequest, Ticket

#: 2024-03-04 00:00 +08:00
DAY = 1709481600.0
PERIOD = (DAY, DAY + 86400)


def at(clock: str) -> float:
    hours, minutes, *seconds = (int(part) for part in clock.split(":"))
    return DAY + hours * 3600 + minutes * 60 + (seconds[0] if seconds else 0)


#: ticket key -> (conversation, channel, language)
TICKETS = {
    "t1": ("day-t1", "web", "zh"), "t2": ("day-t2", "web", "zh"), "t3": ("day-t3", "web", "en"),
    "t4": ("day-t4", "wechat", "zh"), "c4": ("day-t4", "wechat", "zh"), "t5": ("day-t5", "wechat", "en"),
    "t6": ("day-t6", "web", "zh"), "t7": ("day-t7", "web", "zh"), "t8": ("day-t8", "web", "en"),
    "c8": ("day-t8", "web", "en"),
}

#: (time, action, ticket key, fields), in order.
STEPS: List[Tuple[str, str, str, Dict[str, Any]]] = [
    ("09:00", "enqueue", "t1", {"priority": "requested"}),
    ("09:01", "enqueue", "t2", {"priority": "crisis"}),
    ("09:01:30", "claim", "t2", {"agent": "wang"}),
    ("09:02", "claim", "t1", {"agent": "li"}),
    ("09:06:30", "return", "t2", {"by": "wang"}),
    ("09:12", "close", "t1", {"by": "li", "reason_code": "resolved"}),
    ("10:00", "enqueue", "t3", {"priority": "requested"}),
    ("10:05", "return", "t3", {"by": "claimant"}),            # "never mind": abandoned
    ("10:10", "enqueue", "t4", {"priority": "requested"}),
    ("10:12", "enqueue", "c4", {"priority": "callback", "contact": "13812345678"}),
    ("10:12", "return", "t4", {"by": "claimant"}),            # left a number: not abandoned
    ("11:00", "enqueue", "t5", {"priority": "urgent"}),
    ("11:04", "claim", "t5", {"agent": "sam"}),
    ("11:06", "release", "t5", {"agent": "sam"}),
    ("11:10", "claim", "t5", {"agent": "sam"}),
    ("11:20", "close", "t5", {"by": "sam", "reason_code": "resolved"}),
    ("14:00", "claim", "c4", {"agent": "li"}),
    ("14:05", "close", "c4", {"by": "li", "reason_code": "callback_done"}),
    ("15:00", "enqueue", "t6", {"priority": "complex"}),
    ("15:30", "close", "t6", {"by": "supervisor:boss", "reason_code": "claimant_left"}),  # abandoned
    ("16:00", "enqueue", "t7", {"priority": "requested"}),
    ("16:20", "claim", "t7", {"agent": "li"}),
    ("16:40", "close", "t7", {"by": "li", "reason_code": "duplicate"}),
    ("16:59", "enqueue", "t8", {"priority": "requested"}),
    ("17:00", "enqueue", "c8", {"priority": "callback", "contact": "+4420712345678"}),
    ("17:00", "return", "t8", {"by": "claimant"}),
    ("17:20", "claim", "c8", {"agent": "sam"}),
    ("17:30", "close", "c8", {"by": "sam", "reason_code": "callback_unreachable"}),
]


def _user(conversation: str, clock: str, channel: str, language: str, intent: str) -> Dict[str, Any]:
    return {"event": "user", "sender_id": conversation, "timestamp": at(clock), "text": "…",
            "input_channel": channel, "parse_data": {"intent": {"name": intent, "confidence": 0.9},
                                                     "language": {"code": language}}}


def _agent(conversation: str, clock: str, agent: str) -> Dict[str, Any]:
    return {"event": "bot", "sender_id": conversation, "timestamp": at(clock), "text": "您好",
            "metadata": {"agent_id": agent}}


def events() -> List[Dict[str, Any]]:
    """The day's conversation events, in time order."""
    found = [
        _user("day-b1", "08:59", "web", "zh", "ask_unemployment"),
        _user("day-b1", "09:00", "web", "zh", "ask_unemployment"),
        _user("day-t1", "09:00", "web", "zh", "request_human"),
        _user("day-t2", "09:01", "web", "zh", "request_human"),
        _user("day-b2", "09:30", "wechat", "zh", "ask_pension"),
        _agent("day-t2", "09:01:40", "wang"),
        _agent("day-t1", "09:03", "li"),
        _agent("day-t1", "09:05", "li"),
        _user("day-b3", "10:00", "web", "en", "nlu_fallback"),   # the bot did not follow: not resolved
        _user("day-t3", "10:00", "web", "en", "request_human"),
        _user("day-t4", "10:10", "wechat", "zh", "request_human"),
        _user("day-b4", "11:00", "web", "zh", "ask_maternity"),
        _user("day-t5", "11:00", "wechat", "en", "request_human"),
        _agent("day-t5", "11:05", "sam"),
        _user("day-t6", "15:00", "web", "zh", "request_human"),
        _user("day-t7", "16:00", "web", "zh", "request_human"),
        _user("day-t8", "16:59", "web", "en", "request_human"),
        # the day before and the day after: outside the period
        {**_user("day-x1", "09:00", "web", "zh", "ask_pension"), "timestamp": at("09:00") - 86400},
        {**_user("day-x2", "09:00", "web", "en", "ask_pension"), "timestamp": at("09:00") + 86400},
    ]
    return sorted(found, key=lambda e: e["timestamp"])


def add_to_stream(client) -> None:
    """Writes the day's events to renben:events, each with a stream id at its own time."""
    for n, event in enumerate(events()):
        entry_id = f"{int(event['timestamp'] * 1000)}-{n}"
        client.xadd(k.EVENTS_STREAM, {"sender_id": event["sender_id"], "event": event["event"],
                                      "data": json.dumps(event, ensure_ascii=False)}, id=entry_id)


def _callback(key: str, fields: Dict[str, Any]):
    if "contact" not in fields:
        return None
    return CallbackRequest.create(contact_kind="phone", contact=fields["contact"], language=TICKETS[key][2])


def pure_tickets() -> List[Ticket]:
    """The day's tickets, by handoff/tickets.py alone."""
    made: Dict[str, Ticket] = {}
    for seq, (clock, action, key, fields) in enumerate(STEPS, start=1):
        when = at(clock)
        if action == "enqueue":
            conversation, channel, language = TICKETS[key]
            made[key] = t.new_ticket(ticket_id=key, conversation_id=conversation, channel=channel,
                                     language=language, priority=fields["priority"], reason="asked for a person",
                                     brief={}, at=when, seq=seq, callback=_callback(key, fields),
                                     by="claimant" if key.startswith("c") else "bot")
        elif action == "claim":
            made[key] = t.claim(made[key], agent=fields["agent"], at=when)
        elif action == "release":
            made[key] = t.release(made[key], agent=fields["agent"], at=when)
        elif action == "return":
            made[key] = t.return_to_bot(made[key], by=fields["by"], at=when)
        elif action == "close":
            made[key] = t.close(made[key], by=fields["by"], at=when, reason_code=fields["reason_code"])
    return list(made.values())


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def play(queue, clock: Clock) -> Dict[str, str]:
    """Drives `queue` (built with `clock`) through the day; returns ticket key -> ticket id.
    Leaves the clock where it was."""
    ids: Dict[str, str] = {}
    before = clock.now
    try:
        for clock_time, action, key, fields in STEPS:
            clock.now = at(clock_time)
            if action == "enqueue":
                conversation, channel, language = TICKETS[key]
                ticket = queue.enqueue(conversation_id=conversation, channel=channel, language=language,
                                       priority=fields["priority"], reason="asked for a person", brief={},
                                       callback=_callback(key, fields),
                                       by="claimant" if key.startswith("c") else "bot")
                ids[key] = ticket.id
            elif action == "claim":
                assert queue.claim(ids[key], agent=fields["agent"]) is not None
            elif action == "release":
                queue.release(ids[key], agent=fields["agent"])
            elif action == "return":
                queue.return_to_bot(ids[key], by=fields["by"])
            elif action == "close":
                queue.close(ids[key], by=fields["by"], reason_code=fields["reason_code"])
    finally:
        clock.now = before
    return ids


def _row(conversations, handed_off, bot_resolved, tickets, first_reply, handling, abandoned,
         abandonment_rate, callbacks_asked, callbacks_done) -> Dict[str, Any]:
    return {"conversations": conversations, "handed_off": handed_off,
            "handoff_rate": round(handed_off / conversations, 4), "bot_resolved": bot_resolved,
            "bot_resolved_share": round(bot_resolved / conversations, 4), "tickets": tickets,
            "first_reply_p50_s": first_reply[0], "first_reply_p90_s": first_reply[1],
            "handling_p50_s": handling[0], "handling_p90_s": handling[1], "abandoned": abandoned,
            "abandonment_rate": abandonment_rate, "callbacks_asked": callbacks_asked,
            "callbacks_done": callbacks_done, "csat_mean": None, "csat_count": 0}


#: (language, channel) -> the figures the day must give. Worked by hand:
#: zh/web: b1 b4 t1 t2 t6 t7; replies t2 40 s, t1 180 s; handling t2 300, t1 600, t7 1200; t6 left.
#: zh/wechat: b2 t4 (+ callback c4, done, handled 300 s); t4 left a number: not abandoned.
#: en/web: b3 (not understood) t3 t8 (+ callback c8, unreachable, handled 600 s); t3 left.
#: en/wechat: t5, reply 300 s after it was queued, handled 11:04-11:20 = 960 s.
EXPECTED = {
    ("en", "web"): _row(3, 2, 0, 3, (None, None), (600.0, 600.0), 1, 0.5, 1, 0),
    ("en", "wechat"): _row(1, 1, 0, 1, (300.0, 300.0), (960.0, 960.0), 0, 0.0, 0, 0),
    ("zh", "web"): _row(6, 4, 2, 4, (40.0, 180.0), (600.0, 1200.0), 1, 0.25, 0, 0),
    ("zh", "wechat"): _row(2, 1, 1, 2, (None, None), (300.0, 300.0), 0, 0.0, 1, 1),
    ("all", "all"): _row(12, 8, 3, 10, (180.0, 300.0), (600.0, 1200.0), 2, 0.25, 2, 1),
}

#: priority -> waits until a person took the ticket: count, p50, p90, longest.
EXPECTED_WAITS = {
    "crisis": {"count": 1, "p50": 30.0, "p90": 30.0, "max": 30.0},
    "urgent": {"count": 2, "p50": 240.0, "p90": 240.0, "max": 240.0},
    "complex": {"count": 0, "p50": None, "p90": None, "max": None},
    "requested": {"count": 2, "p50": 120.0, "p90": 1200.0, "max": 1200.0},
    "callback": {"count": 2, "p50": 1200.0, "p90": 13680.0, "max": 13680.0},
}

#: The longest the queue was (every language) in some quarter hours, and the day's peak.
EXPECTED_QUEUE = {"09:00": 2, "09:15": 0, "10:00": 1, "10:15": 1, "11:00": 2, "11:15": 1,
                  "13:45": 1, "14:00": 0, "15:15": 1, "16:45": 1, "17:15": 1, "17:30": 0}
EXPECTED_PEAK = 2
