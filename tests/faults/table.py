"""The fault suite's figures: what the tracker holds for each claimant message, and the table
`make faults` prints (fault, messages sent / answered / lost / doubled, worst wait after restart)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional

ROWS: List["FaultRow"] = []


@dataclass(frozen=True)
class Outcome:
    """What the tracker holds for one claimant message."""

    user_events: int  # user events carrying its client id: 1, or 0 (lost), or more (doubled)
    answered: bool  # a bot message follows its (first) user event before the next user event


def outcome_of(events: Iterable[Dict[str, Any]], message_id: str) -> Outcome:
    """Pure: the tracker's events (JSON) for one widget message id."""
    events = list(events)
    positions = [i for i, e in enumerate(events)
                 if e.get("event") == "user" and (e.get("metadata") or {}).get("client_message_id") == message_id]
    if not positions:
        return Outcome(0, False)
    answered = False
    for event in events[positions[0] + 1:]:
        if event.get("event") == "user":
            break
        if event.get("event") == "bot" and (event.get("text") or event.get("data", {}).get("buttons")):
            answered = True
    return Outcome(len(positions), answered)


@dataclass(frozen=True)
class FaultRow:
    fault: str
    sent: int
    answered: int
    lost: int
    doubled: int
    worst_wait: Optional[float]  # seconds after the process served again; None: nothing answered


def record(fault: str, outcomes: List[Outcome], waits: List[float]) -> FaultRow:
    row = FaultRow(fault=fault, sent=len(outcomes),
                   answered=sum(1 for o in outcomes if o.user_events == 1 and o.answered),
                   lost=sum(1 for o in outcomes if o.user_events == 0 or not o.answered),
                   doubled=sum(1 for o in outcomes if o.user_events > 1),
                   worst_wait=max(waits) if waits else None)
    ROWS.append(row)
    return row


def table(rows: Iterable[FaultRow]) -> str:
    head = ("fault", "sent", "answered", "lost", "doubled", "worst wait after restart")
    lines = [head] + [(r.fault, str(r.sent), str(r.answered), str(r.lost), str(r.doubled),
                       "-" if r.worst_wait is None else f"{r.worst_wait:.1f} s") for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)
