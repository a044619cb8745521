"""What bench/scale_out.py checks after a load, as pure functions: the trackers (from PostgreSQL)
against what the claimants sent, and the lock holds bench/lock_probe.py recorded.

Trackers, per conversation, against the messages its claimant sent (`Sent`):

- lost: a message sent that is not in the tracker; doubled: one that is there more than once;
  stray: a claimant message in the tracker that was never sent (or has no id);
- out of order: a message that is in the tracker before one that was answered before it was sent
  (`step`: a claimant sends step n+1 only once every message of step n was answered; the two
  messages of one step are sent at once, to two Rasa processes, and may be in either order);
- unanswered: a message the bot handled whose turn has no bot message before the next claimant
  message (two turns run at once would interleave: user, user, bot, bot), or one written while a
  person held the conversation (after `pause`) that is followed by neither an agent's message nor
  the return to the bot (`resume`).

Lock holds: two holds of one conversation that overlap in time (the lock not held); how many
conversations had turns on more than one process; how many holds waited for another, and how long
after the other let go they took the lock (the waiting turn's polling).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

#: Where a channel puts the claimant's message id in the user event's metadata.
ID_FIELDS = ("client_message_id", "wechat_key")
#: A hold that waited longer than this for the lock waited for another turn.
WAITED_SECONDS = 0.05


@dataclass(frozen=True)
class Sent:
    conversation: str
    message_id: str
    step: int


@dataclass
class TrackerFindings:
    messages: int = 0
    lost: List[str] = field(default_factory=list)
    doubled: List[str] = field(default_factory=list)
    stray: List[str] = field(default_factory=list)
    out_of_order: List[str] = field(default_factory=list)
    unanswered: List[str] = field(default_factory=list)

    def add(self, other: "TrackerFindings") -> None:
        self.messages += other.messages
        for name in ("lost", "doubled", "stray", "out_of_order", "unanswered"):
            getattr(self, name).extend(getattr(other, name))

    @property
    def failures(self) -> int:
        return len(self.lost) + len(self.doubled) + len(self.stray) + len(self.out_of_order) + len(self.unanswered)


def message_id(event: Mapping[str, Any]) -> Optional[str]:
    metadata = event.get("metadata") or {}
    for name in ID_FIELDS:
        if metadata.get(name):
            return str(metadata[name])
    return None


def check_conversation(events: Sequence[Mapping[str, Any]], sent: Iterable[Sent]) -> TrackerFindings:
    """`events`: the tracker's events in stored order (Rasa's event dicts)."""
    sent = list(sent)
    steps = {s.message_id: s.step for s in sent}
    found = TrackerFindings(messages=len(sent))
    seen: Counter = Counter()
    users: List[int] = []  # indexes of user events
    for index, event in enumerate(events):
        if event.get("event") == "user":
            users.append(index)
            seen[message_id(event) or ""] += 1
    found.lost = [s.message_id for s in sent if seen[s.message_id] == 0]
    found.doubled = [s.message_id for s in sent if seen[s.message_id] > 1]
    found.stray = [mid or "(no id)" for mid in seen if mid not in steps]

    latest = -1
    for index in users:
        mid = message_id(events[index])
        step = steps.get(mid or "")
        if step is None:
            continue
        if step < latest:
            found.out_of_order.append(mid)
        latest = max(latest, step)

    paused = False
    for position, index in enumerate(users):
        for event in events[(users[position - 1] + 1 if position else 0):index]:
            paused = {"pause": True, "resume": False}.get(event.get("event"), paused)
        end = users[position + 1] if position + 1 < len(users) else len(events)
        mid = message_id(events[index]) or "(no id)"
        if paused:
            later = events[index + 1:]
            answered = any(e.get("event") == "resume" or
                           (e.get("event") == "bot" and (e.get("metadata") or {}).get("agent_id")) for e in later)
        else:
            answered = any(e.get("event") == "bot" for e in events[index + 1:end])
        if not answered:
            found.unanswered.append(mid)
    return found


def check_trackers(trackers: Mapping[str, Sequence[Mapping[str, Any]]], sent: Iterable[Sent]) -> TrackerFindings:
    by_conversation: Dict[str, List[Sent]] = defaultdict(list)
    for s in sent:
        by_conversation[s.conversation].append(s)
    total = TrackerFindings()
    for conversation, messages in by_conversation.items():
        total.add(check_conversation(trackers.get(conversation, ()), messages))
    return total


@dataclass
class LockFindings:
    holds: int = 0
    overlapping: List[str] = field(default_factory=list)  # conversations whose holds overlapped
    conversations: int = 0
    on_several_processes: int = 0  # conversations with holds on more than one process
    waited: List[float] = field(default_factory=list)  # seconds, of holds that waited for another turn
    #: seconds from the previous hold's release to the acquisition, of holds that waited for it
    handover: List[float] = field(default_factory=list)
    by_process: Dict[str, int] = field(default_factory=dict)


def check_holds(holds: Iterable[Mapping[str, Any]], conversations: Optional[Iterable[str]] = None) -> LockFindings:
    """`holds`: bench/lock_probe.read_holds(); only those of `conversations` when given."""
    wanted = set(conversations) if conversations is not None else None
    by_conversation: Dict[str, List[Mapping[str, Any]]] = defaultdict(list)
    for hold in holds:
        if wanted is None or hold["conversation"] in wanted:
            by_conversation[hold["conversation"]].append(hold)
    found = LockFindings(conversations=len(by_conversation))
    processes: Counter = Counter()
    for conversation, held in by_conversation.items():
        held = sorted(held, key=lambda h: h["acquired"])
        found.holds += len(held)
        processes.update(h["process"] for h in held)
        if len({h["process"] for h in held}) > 1:
            found.on_several_processes += 1
        found.waited += [h["acquired"] - h["asked"] for h in held if h["acquired"] - h["asked"] > WAITED_SECONDS]
        if any(later["acquired"] < earlier["released"] for earlier, later in zip(held, held[1:])):
            found.overlapping.append(conversation)
        found.handover += [later["acquired"] - earlier["released"] for earlier, later in zip(held, held[1:])
                           if later["asked"] < earlier["released"] <= later["acquired"]]
    found.by_process = dict(sorted(processes.items()))
    return found
