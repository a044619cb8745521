"""Tickets, callback requests and the rules of the queue, as dataclasses and pure functions.

A ticket is one conversation waiting for, or held by, a person. Its life:

    enqueued ──▶ waiting ──claimed──▶ assigned ──returned──▶ returned   (the bot resumes)
                   ▲  │                 │  │
                   │  └──returned/closed│  └──closed──────▶ closed     (reason code and note)
                   └──released/requeued/transferred to a language queue
                                        assigned ──transferred to an agent──▶ assigned

A private note (`add_note`) adds a `noted` entry and changes nothing else.

`returned` and `closed` are final: the next handoff of that conversation opens a new ticket.
Every function here takes a ticket and returns a new one with one more history entry; none
touches Redis (handoff/queue.py stores the result atomically).
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from handoff.exceptions import InvalidRequest, InvalidTransition, NotHolder


class Priority(str, Enum):
    """Who is served first: crisis, then urgent distress, complexity, asked for a person, callback."""

    CRISIS = "crisis"
    URGENT = "urgent"
    COMPLEX = "complex"
    REQUESTED = "requested"
    CALLBACK = "callback"

    @property
    def rank(self) -> int:
        """0 for crisis (served first) to 4 for callback."""
        return list(Priority).index(self)

    def outranks(self, other: "Priority") -> bool:
        return self.rank < other.rank


class State(str, Enum):
    WAITING = "waiting"
    ASSIGNED = "assigned"
    RETURNED = "returned"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self in (State.WAITING, State.ASSIGNED)


class ContactKind(str, Enum):
    PHONE = "phone"
    WECHAT = "wechat"


#: Why a ticket was closed. `callback_*` are for callback tickets.
CLOSE_REASONS = (
    "resolved",              # the agent answered or sorted it out
    "referred",              # sent on to an office, another service or the emergency services
    "callback_done",         # the claimant was called back
    "callback_unreachable",  # called back, nobody answered after the attempts the office requires
    "claimant_left",         # the claimant stopped answering
    "duplicate",             # another ticket covers it
    "other",                 # say what in the note
)
#: What a ticket was handed over for, in a word (a metric's label: bounded). The actions write
#: the reason as "<kind>: <evidence>" (actions/crisis.py, actions/privacy.py), or a phrase
#: (actions/handoff.py, handoff/brief.py); the desk's callbacks "callback: <the ticket's reason>".
REASON_KINDS = ("crisis", "urgent", "complex", "concern", "data_rights", "complaint_appeal",
                "asked_for_person", "escalated", "callback", "other")
_REASON_HEADS = {"crisis": "crisis", "urgent": "urgent", "complex": "complex", "concern": "concern",
                 "data rights": "data_rights", "complaint or appeal": "complaint_appeal",
                 "asked for a person": "asked_for_person", "callback": "callback"}
MAX_NOTE_CHARS = 2000
#: The most tickets one agent may be allowed to hold at once (an account's capacity is 1 to this).
MAX_CAPACITY = 1000
MAX_REASON_CHARS = 500
MAX_PREFERRED_TIME_CHARS = 200

# Key parts and ids: no whitespace or control characters, so keys and logs stay readable.
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})?$")
_AGENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
# WeChat IDs: 6-20 letters, digits, underscores or hyphens, starting with a letter
# (https://www.hacos.cn/en/blog/2020/06/05/6627d747a8/).
_WECHAT_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{5,19}$")
# Mainland mobile numbers are 11 digits starting 13-19; landlines are a 3-4 digit area code
# starting 0 and a 7-8 digit local number
# (https://oryoy.com/news/jie-mi-shou-ji-hao-ma-yu-gu-ding-dian-hua-de-shu-zi-gui-lv-qing-song-zhang-wo-zheng-ze-biao-da-shi-s.html).
# Numbers abroad are E.164: "+", then at most 15 digits (ITU-T E.164).
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_CN_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
_INTERNATIONAL = re.compile(r"^\+[1-9]\d{6,14}$")


def reason_kind(reason: str) -> str:
    """The kind of a ticket's reason (one of REASON_KINDS): the words before its first colon."""
    head = reason.split(":", 1)[0].strip().lower()
    if head.startswith("escalated after"):
        return "escalated"
    return _REASON_HEADS.get(head, "other")


def check_language(language: Any) -> str:
    """A language code such as `zh` or `en`; raises InvalidRequest otherwise."""
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        raise InvalidRequest(f"language must be a code like 'zh' or 'en', not {language!r}")
    return language


def check_agent_id(agent_id: Any) -> str:
    """Letters, digits and . _ @ - (at most 128, starting with a letter or digit)."""
    if not isinstance(agent_id, str) or not _AGENT_ID.match(agent_id):
        raise InvalidRequest(f"agent id must be letters, digits and . _ @ -, not {agent_id!r}")
    return agent_id


def check_capacity(capacity: Any) -> int:
    """How many tickets an agent may hold at once: a whole number from 1 to MAX_CAPACITY."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        raise InvalidRequest(f"capacity must be a whole number from 1 to {MAX_CAPACITY}, not {capacity!r}")
    return capacity


def check_conversation_id(conversation_id: Any) -> str:
    if (not isinstance(conversation_id, str) or not conversation_id or len(conversation_id) > 256
            or any(ch.isspace() or not ch.isprintable() for ch in conversation_id)):
        raise InvalidRequest(f"conversation id must be 1-256 printable characters without spaces, "
                             f"not {conversation_id!r}")
    return conversation_id


def as_priority(value: Any) -> Priority:
    try:
        return Priority(value)
    except ValueError:
        raise InvalidRequest(f"priority must be one of {[p.value for p in Priority]}, not {value!r}") from None


@dataclass(frozen=True)
class HistoryEntry:
    """One thing that happened to a ticket: `event` by `by` (an agent id, `bot`, `claimant`,
    `desk` or `supervisor:<id>`) at `at` (epoch seconds), with event-specific `detail`."""

    event: str
    by: str
    at: float
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, Any]:
        return {"event": self.event, "by": self.by, "at": self.at, "detail": dict(self.detail)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HistoryEntry":
        return cls(str(data["event"]), str(data["by"]), float(data["at"]), dict(data.get("detail") or {}))


@dataclass(frozen=True)
class CallbackRequest:
    """A claimant's request to be contacted when nobody was available. Build with `create`,
    which checks and normalises the contact (phone numbers lose spaces, dashes and +86)."""

    contact_kind: ContactKind
    contact: str
    preferred_time: str
    language: str

    @classmethod
    def create(cls, *, contact_kind: Any, contact: Any, preferred_time: Any = "",
               language: Any) -> "CallbackRequest":
        try:
            kind = ContactKind(contact_kind)
        except ValueError:
            raise InvalidRequest(f"contact kind must be 'phone' or 'wechat', not {contact_kind!r}") from None
        if not isinstance(contact, str):
            raise InvalidRequest("contact must be text")
        normalised = normalise_phone(contact) if kind is ContactKind.PHONE else contact.strip()
        if kind is ContactKind.WECHAT and not _WECHAT_ID.match(normalised):
            raise InvalidRequest("a WeChat ID is 6-20 letters, digits, _ or -, starting with a letter")
        if not isinstance(preferred_time, str) or len(preferred_time.strip()) > MAX_PREFERRED_TIME_CHARS:
            raise InvalidRequest(f"preferred time must be text of at most {MAX_PREFERRED_TIME_CHARS} characters")
        return cls(kind, normalised, preferred_time.strip(), check_language(language))

    def as_dict(self) -> Dict[str, Any]:
        return {"contact_kind": self.contact_kind.value, "contact": self.contact,
                "preferred_time": self.preferred_time, "language": self.language}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CallbackRequest":
        return cls.create(contact_kind=data.get("contact_kind"), contact=data.get("contact"),
                          preferred_time=data.get("preferred_time", ""), language=data.get("language"))


def normalise_phone(text: str) -> str:
    """A mainland mobile or landline number as bare digits, or an international one as +digits.
    Raises InvalidRequest for anything else."""
    compact = re.sub(r"[\s\-().\u3000\uff08\uff09]", "", text.strip())
    compact = compact.translate(str.maketrans("０１２３４５６７８９＋", "0123456789+"))
    for prefix in ("+86", "0086"):
        if compact.startswith(prefix) and _CN_MOBILE.match(compact[len(prefix):]):
            return compact[len(prefix):]
        if compact.startswith(prefix) and _CN_LANDLINE.match("0" + compact[len(prefix):]):
            return "0" + compact[len(prefix):]
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if _CN_MOBILE.match(compact) or _CN_LANDLINE.match(compact) or _INTERNATIONAL.match(compact):
        return compact
    raise InvalidRequest("a phone number is an 11-digit mobile, a landline with its area code, "
                         "or an international number starting with +")


@dataclass(frozen=True)
class Ticket:
    """One conversation waiting for, or held by, a person.

    `language` is the language the ticket is routed by: the claimant's language, or for a
    callback the language they want to be called in. `brief` is `handoff.brief.Brief.as_dict()`.
    `seq` orders tickets within a priority (lower first); the queue sets it. `waiting_since` is
    when the current wait began (reset when the ticket goes back to a queue); `created_at` when
    the claimant first asked.
    """

    id: str
    conversation_id: str
    channel: str
    language: str
    priority: Priority
    reason: str
    brief: Mapping[str, Any]
    created_at: float
    waiting_since: float
    state: State = State.WAITING
    agent: Optional[str] = None
    history: Tuple[HistoryEntry, ...] = ()
    callback: Optional[CallbackRequest] = None
    seq: int = 0
    assigned_at: Optional[float] = None
    close_reason: Optional[str] = None
    close_note: str = ""

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready; `from_dict` reverses it."""
        return {
            "id": self.id, "conversation_id": self.conversation_id, "channel": self.channel,
            "language": self.language, "priority": self.priority.value, "reason": self.reason,
            "brief": dict(self.brief), "created_at": self.created_at,
            "waiting_since": self.waiting_since, "state": self.state.value, "agent": self.agent,
            "history": [entry.as_dict() for entry in self.history],
            "callback": self.callback.as_dict() if self.callback else None, "seq": self.seq,
            "assigned_at": self.assigned_at, "close_reason": self.close_reason,
            "close_note": self.close_note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Ticket":
        try:
            state = State(data.get("state", State.WAITING.value))
        except ValueError:
            raise InvalidRequest(f"unknown ticket state {data.get('state')!r}") from None
        callback = data.get("callback")
        return cls(
            id=str(data["id"]), conversation_id=str(data["conversation_id"]),
            channel=str(data.get("channel") or ""), language=check_language(data.get("language")),
            priority=as_priority(data.get("priority")), reason=str(data.get("reason") or ""),
            brief=dict(data.get("brief") or {}), created_at=float(data["created_at"]),
            waiting_since=float(data["waiting_since"]), state=state, agent=data.get("agent") or None,
            history=tuple(HistoryEntry.from_dict(h) for h in data.get("history") or ()),
            callback=CallbackRequest.from_dict(callback) if callback else None,
            seq=int(data.get("seq") or 0),
            assigned_at=float(data["assigned_at"]) if data.get("assigned_at") is not None else None,
            close_reason=data.get("close_reason") or None, close_note=str(data.get("close_note") or ""),
        )


def new_ticket(*, ticket_id: str, conversation_id: str, channel: str, language: str,
               priority: Any, reason: str, brief: Mapping[str, Any], at: float, seq: int,
               callback: Optional[CallbackRequest] = None, waiting_since: Optional[float] = None,
               by: str = "bot") -> Ticket:
    """A waiting ticket with its `enqueued` history entry. A callback ticket routes by the
    callback's language and must have priority `callback`, or `crisis` for a crisis callback."""
    level = as_priority(priority)
    if callback is not None:
        if level not in (Priority.CALLBACK, Priority.CRISIS):
            raise InvalidRequest("a callback ticket's priority is 'callback', or 'crisis' for a crisis")
        language = callback.language
    elif level is Priority.CALLBACK:
        raise InvalidRequest("priority 'callback' needs a callback request (contact and time)")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_CHARS:
        raise InvalidRequest(f"reason must be 1-{MAX_REASON_CHARS} characters")
    if not isinstance(brief, Mapping):
        raise InvalidRequest("brief must be a mapping (Brief.as_dict())")
    detail: Dict[str, Any] = {"priority": level.value, "language": check_language(language),
                              "reason": reason}
    if callback is not None:
        detail["callback"] = True
    return Ticket(
        id=ticket_id, conversation_id=check_conversation_id(conversation_id),
        channel=str(channel or ""), language=language, priority=level, reason=reason.strip(),
        brief=dict(brief), created_at=at, waiting_since=at if waiting_since is None else float(waiting_since),
        history=(HistoryEntry("enqueued", by, at, detail),), callback=callback, seq=seq,
    )


def _require(ticket: Ticket, event: str, *states: State) -> None:
    if ticket.state not in states:
        raise InvalidTransition(ticket.id, ticket.state.value, event)


def _require_holder(ticket: Ticket, event: str, holder: Optional[str]) -> None:
    if holder is not None and (ticket.state is not State.ASSIGNED or ticket.agent != holder):
        raise NotHolder(ticket.id, ticket.state.value, event, f"{holder!r} does not hold it")


def _with(ticket: Ticket, entry: HistoryEntry, **changes: Any) -> Ticket:
    return dataclasses.replace(ticket, history=ticket.history + (entry,), **changes)


def claim(ticket: Ticket, *, agent: str, at: float) -> Ticket:
    """waiting -> assigned to `agent`."""
    _require(ticket, "claimed", State.WAITING)
    return _with(ticket, HistoryEntry("claimed", check_agent_id(agent), at),
                 state=State.ASSIGNED, agent=agent, assigned_at=at)


def release(ticket: Ticket, *, agent: str, at: float) -> Ticket:
    """assigned to `agent` -> waiting again, in its old place (same seq)."""
    _require(ticket, "released", State.ASSIGNED)
    _require_holder(ticket, "released", agent)
    return _with(ticket, HistoryEntry("released", agent, at), state=State.WAITING, agent=None,
                 assigned_at=None, waiting_since=at)


def transfer_to_agent(ticket: Ticket, *, to_agent: str, by: str, at: float,
                      holder: Optional[str] = None) -> Ticket:
    """waiting or assigned -> assigned to `to_agent`. With `holder`, only if that agent holds it."""
    _require(ticket, "transferred", State.WAITING, State.ASSIGNED)
    _require_holder(ticket, "transferred", holder)
    check_agent_id(to_agent)
    if ticket.agent == to_agent:
        raise InvalidTransition(ticket.id, ticket.state.value, "transferred", f"{to_agent!r} already holds it")
    entry = HistoryEntry("transferred", by, at, {"from_agent": ticket.agent, "to_agent": to_agent})
    return _with(ticket, entry, state=State.ASSIGNED, agent=to_agent, assigned_at=at)


def transfer_to_language(ticket: Ticket, *, language: str, by: str, at: float,
                         holder: Optional[str] = None) -> Ticket:
    """waiting or assigned -> waiting in the `language` queue, keeping its place by arrival."""
    _require(ticket, "transferred", State.WAITING, State.ASSIGNED)
    _require_holder(ticket, "transferred", holder)
    entry = HistoryEntry("transferred", by, at, {"from_agent": ticket.agent,
                                                 "from_language": ticket.language,
                                                 "to_language": check_language(language)})
    return _with(ticket, entry, state=State.WAITING, agent=None, assigned_at=None,
                 language=language, waiting_since=at)


def return_to_bot(ticket: Ticket, *, by: str, at: float, holder: Optional[str] = None) -> Ticket:
    """waiting or assigned -> returned: the bot takes the conversation back."""
    _require(ticket, "returned", State.WAITING, State.ASSIGNED)
    _require_holder(ticket, "returned", holder)
    return _with(ticket, HistoryEntry("returned", by, at, {"agent": ticket.agent}),
                 state=State.RETURNED)


def close(ticket: Ticket, *, by: str, at: float, reason_code: str, note: str = "",
          holder: Optional[str] = None) -> Ticket:
    """waiting or assigned -> closed, with one of CLOSE_REASONS and a free-text note."""
    _require(ticket, "closed", State.WAITING, State.ASSIGNED)
    _require_holder(ticket, "closed", holder)
    if reason_code not in CLOSE_REASONS:
        raise InvalidRequest(f"close reason must be one of {list(CLOSE_REASONS)}, not {reason_code!r}")
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
        raise InvalidRequest(f"note must be text of at most {MAX_NOTE_CHARS} characters")
    entry = HistoryEntry("closed", by, at, {"agent": ticket.agent, "reason_code": reason_code, "note": note})
    return _with(ticket, entry, state=State.CLOSED, close_reason=reason_code, close_note=note)


def add_note(ticket: Ticket, *, by: str, at: float, text: Any, holder: Optional[str] = None) -> Ticket:
    """The ticket with a private `noted` entry: staff's words about the ticket, kept in its
    history and never sent to the claimant (not in the tracker, not in the outbox). With
    `holder`, only while that agent holds the ticket; without (a supervisor), in any state."""
    _require_holder(ticket, "noted", holder)
    text = text.strip() if isinstance(text, str) else text
    if not isinstance(text, str) or not text:
        raise InvalidRequest("a note needs text")
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidRequest(f"a note is at most {MAX_NOTE_CHARS} characters, not {len(text)}")
    return _with(ticket, HistoryEntry("noted", by, at, {"text": text}))


def notes(ticket: Ticket) -> List[Dict[str, Any]]:
    """The ticket's private notes, oldest first: {by, at, text}."""
    return [{"by": entry.by, "at": entry.at, "text": entry.detail.get("text", "")}
            for entry in ticket.history if entry.event == "noted"]


def with_brief(ticket: Ticket, brief: Mapping[str, Any]) -> Ticket:
    """The ticket with its brief brought up to date (handoff/brief_record.py): no history entry,
    the ticket's state is not changed."""
    if not isinstance(brief, Mapping):
        raise InvalidRequest("brief must be a mapping (Brief.as_dict())")
    return dataclasses.replace(ticket, brief=dict(brief))


def raise_priority(ticket: Ticket, *, priority: Any, by: str, at: float,
                   evidence: Optional[Mapping[str, Any]] = None) -> Ticket:
    """An open ticket at a higher priority; the same ticket object if it is already as high
    (priority never goes down). A waiting ticket keeps its arrival order in the new band."""
    level = as_priority(priority)
    _require(ticket, "priority_raised", State.WAITING, State.ASSIGNED)
    if not level.outranks(ticket.priority):
        return ticket
    detail: Dict[str, Any] = {"from": ticket.priority.value, "to": level.value}
    if evidence:
        detail["evidence"] = dict(evidence)
    return _with(ticket, HistoryEntry("priority_raised", by, at, detail), priority=level)


def requeue(ticket: Ticket, *, by: str, at: float, why: str, seq: int) -> Ticket:
    """assigned -> waiting with a new `seq` (the queue picks one that puts it at the head of
    its priority), e.g. when its agent disconnected past the grace period."""
    _require(ticket, "requeued", State.ASSIGNED)
    return _with(ticket, HistoryEntry("requeued", by, at, {"agent": ticket.agent, "why": why}),
                 state=State.WAITING, agent=None, assigned_at=None, waiting_since=at, seq=seq)


def record_alert(ticket: Ticket, *, at: float, threshold: float) -> Ticket:
    """A waiting ticket with an `alerted` entry: it has waited past its priority's threshold."""
    _require(ticket, "alerted", State.WAITING)
    detail = {"priority": ticket.priority.value, "waited": round(at - ticket.waiting_since, 3),
              "threshold": threshold}
    return _with(ticket, HistoryEntry("alerted", "desk", at, detail))


# ----- the rules of the queue ---------------------------------------------------------------

#: A priority's band of scores is BAND wide; a ticket's score is rank * BAND + OFFSET + seq, so
#: every crisis ticket sorts before every urgent one and, within a priority, lower seq first.
#: seq may go below zero (requeued at the head). Scores stay exact integers in a double.
BAND = 2 ** 40
OFFSET = 2 ** 39


def queue_score(priority: Priority, seq: int) -> int:
    if not -OFFSET < seq < OFFSET:
        raise InvalidRequest(f"sequence {seq} is outside the queue's range")
    return priority.rank * BAND + OFFSET + seq


def band(priority: Priority) -> Tuple[int, int]:
    """The lowest score of a priority and the lowest of the next (exclusive)."""
    return priority.rank * BAND, (priority.rank + 1) * BAND


def seq_of_score(priority: Priority, score: float) -> int:
    return int(score) - priority.rank * BAND - OFFSET


@dataclass(frozen=True)
class WaitEstimate:
    """What a waiting claimant is told. `seconds` is None when no agent for their language is
    online: the claimant must be told that, not a number. `measured` says whether the mean
    handling time came from recent tickets or is the configured default."""

    position: int
    agents_online: int
    mean_handling_seconds: float
    seconds: Optional[float]
    measured: bool

    def as_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


def estimate_wait(*, position: int, agents_online: int, handling_seconds: Sequence[float],
                  default_handling_seconds: float) -> WaitEstimate:
    """Expected wait = position × mean handling time ÷ agents online for the language.

    Each agent clears one ticket per mean handling time, so n agents clear the p tickets up to
    and including ours in about p × mean ÷ n. It assumes every agent is busy (the conservative
    case: an idle agent would claim at once) and ignores time already spent on current tickets.
    The mean is over the recent handling times given; with none, the configured default.
    """
    samples = [s for s in handling_seconds if s >= 0 and math.isfinite(s)]
    mean = sum(samples) / len(samples) if samples else default_handling_seconds
    seconds = position * mean / agents_online if agents_online > 0 else None
    return WaitEstimate(position, agents_online, mean, seconds, bool(samples))


@dataclass(frozen=True)
class Alert:
    """A waiting ticket past its priority's wait-time threshold, for supervisors."""

    ticket_id: str
    conversation_id: str
    language: str
    priority: Priority
    waited_seconds: float
    threshold_seconds: float
    at: float

    def as_dict(self) -> Dict[str, Any]:
        data = dataclasses.asdict(self)
        data["priority"] = self.priority.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Alert":
        return cls(str(data["ticket_id"]), str(data["conversation_id"]), str(data["language"]),
                   as_priority(data["priority"]), float(data["waited_seconds"]),
                   float(data["threshold_seconds"]), float(data["at"]))


def overdue(ticket: Ticket, *, now: float, thresholds: Mapping[Priority, float]) -> Optional[Alert]:
    """The alert for a waiting ticket that has waited longer than its priority's threshold."""
    threshold = thresholds.get(ticket.priority)
    if ticket.state is not State.WAITING or threshold is None:
        return None
    waited = now - ticket.waiting_since
    if waited <= threshold:
        return None
    return Alert(ticket.id, ticket.conversation_id, ticket.language, ticket.priority,
                 round(waited, 3), float(threshold), now)


def already_alerted(ticket: Ticket) -> bool:
    """Whether an alert was raised for this ticket's current wait at its current priority."""
    return any(entry.event == "alerted" and entry.at >= ticket.waiting_since
               and entry.detail.get("priority") == ticket.priority.value
               for entry in ticket.history)
