"""The agent console protocol, version 3: JSON text frames, parsed and built here without I/O.

Every frame is a JSON object with `type`; a console may add `ref` (a string or number) to a
request and gets it back on the answer (`ok` or `error`). `v` is the protocol version (3; a
version 1 or 2 request means the same and is accepted; frames without `v` are taken as the current
version). The first frame on a connection must be `auth`.

Console -> desk (`REQUESTS`, with their fields; all ids are strings):
    auth        token, language?              `language`: the console's (zh | en), in which the
                                              desk writes the brief's summary; another value or
                                              none: the agent's first language, else en
    snapshot                                  the queues and the tickets the agent holds
    claim       ticket_id                     or `claim_next` without one
    claim_next
    brief       ticket_id                     the ticket with its brief and current transcript
    release     ticket_id
    transfer    ticket_id, to_agent | to_language
    return      ticket_id                     return to the bot ("anything else?")
    close       ticket_id, reason_code, note?
    message     ticket_id, text, id?          to the claimant (and into the tracker); with `id`
                                              (the console's, unique per ticket) a resend of
                                              the same id writes nothing twice (`duplicate`)
    typing      ticket_id, active (bool)
    presence    status: available | away
    flag        ticket_id, text?, suggested_intent?, note?   "the bot should have handled this":
                                              text defaults to the claimant's last message
    reveal      ticket_id, turn, index?       the unmasked identifier `index` (0) of transcript
                                              turn `turn`; held tickets only; audited
    supervision                               supervisors: the live queue and who holds what
    report      from, to (epoch seconds)      supervisors: the period's figures (handoff/reports.py)

    note        ticket_id, text               a private note (1-2000 characters) in the ticket's
                                              history; the holder, or a supervisor on any ticket;
                                              never shown to the claimant
    csat        by?, since?, until?           satisfaction surveys grouped by agent (default),
                                              topic, language or channel; supervisors only
    suggest     ticket_id, topic?             the knowledge-base answer for the claimant's latest
                                              question (or for `topic`), in the claimant's
                                              language with its sources; the holder only

Desk -> console (`EVENTS`): hello (with the agent's `capacity` and the console's `language`), snapshot
(with `capacity`), ticket (one ticket changed), claimed and brief (with the `summary`, and for the
holder the `suggestion`), claimant_message (with a `suggestion` when it asks a topic question),
agent_message, alert, supervision, report, ok, error.

Errors (`error.code`): bad_frame (not JSON / not an object), unknown_type, bad_request (a field
missing or wrong), not_found (also a `suggest` topic the knowledge base lacks), taken (claim lost:
someone else holds it), not_holder (also a `suggest` by anyone but the holder),
invalid_transition, at_capacity (a claim by an agent who holds as many tickets as they may),
unavailable (Redis or Rasa down, or the audit log cannot be written: retry),
forbidden (not your language, or your role may not: `supervision`, `report` and `csat` are for supervisors).
Close codes: 4001 authentication failed (unknown or revoked token, or a trainer account),
4002 no auth frame in time, 1009 frame over 64 KiB.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from core.language_codes import EN, LANGUAGES

from handoff.exceptions import (AtCapacity, AuthenticationFailed, BriefError, DeskError, InvalidRequest,
                                InvalidTransition, NotHolder, ProtocolError, QueueUnavailable,
                                RasaUnavailable, TicketNotFound, UnknownAgent)

VERSION = 3
#: Versions whose requests this desk accepts (version 2 added `note`, `csat`, capacity and notes in
#: frames; version 3 agent assist: `suggest`, `auth.language`, `summary` and `suggestion` in frames).
ACCEPTED_VERSIONS = (1, 2, 3)
CLOSE_AUTH_FAILED = 4001
CLOSE_AUTH_TIMEOUT = 4002
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013  # the desk cannot reach Redis: an `unavailable` error frame comes first
MAX_TEXT_CHARS = 4000

_ID = (str,)
#: type -> (required fields with their types, optional fields with their types)
REQUESTS: Dict[str, Tuple[Dict[str, tuple], Dict[str, tuple]]] = {
    "auth": ({"token": _ID}, {"language": _ID}),
    "snapshot": ({}, {}),
    "claim": ({"ticket_id": _ID}, {}),
    "claim_next": ({}, {}),
    "brief": ({"ticket_id": _ID}, {}),
    "release": ({"ticket_id": _ID}, {}),
    "transfer": ({"ticket_id": _ID}, {"to_agent": _ID, "to_language": _ID}),
    "return": ({"ticket_id": _ID}, {}),
    "close": ({"ticket_id": _ID, "reason_code": _ID}, {"note": _ID}),
    "message": ({"ticket_id": _ID, "text": _ID}, {"id": _ID}),
    "typing": ({"ticket_id": _ID, "active": (bool,)}, {}),
    "presence": ({"status": _ID}, {}),
    "flag": ({"ticket_id": _ID}, {"text": _ID, "suggested_intent": _ID, "note": _ID}),
    "reveal": ({"ticket_id": _ID, "turn": (int,)}, {"index": (int,)}),
    "supervision": ({}, {}),
    "report": ({"from": (int, float), "to": (int, float)}, {}),
    "note": ({"ticket_id": _ID, "text": _ID}, {}),
    "csat": ({}, {"by": _ID, "since": (int, float), "until": (int, float)}),
    "suggest": ({"ticket_id": _ID}, {"topic": _ID}),
}
EVENTS = ("hello", "snapshot", "ticket", "claimed", "brief", "claimant_message", "agent_message",
          "alert", "supervision", "report", "ok", "error")


@dataclass(frozen=True)
class Request:
    type: str
    ref: Any = None
    fields: Dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


def parse(frame: Any) -> Request:
    """A console frame as a Request; raises ProtocolError (bad_frame, unknown_type, bad_request)."""
    if isinstance(frame, bytes):
        try:
            frame = frame.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("bad_frame", "frames must be UTF-8 JSON text") from None
    try:
        data = json.loads(frame)
    except (TypeError, ValueError):
        raise ProtocolError("bad_frame", "a frame must be a JSON object") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_frame", "a frame must be a JSON object")
    ref = data.get("ref")
    if ref is not None and (not isinstance(ref, (str, int)) or isinstance(ref, bool) or len(str(ref)) > 64):
        raise ProtocolError("bad_request", "ref must be a short string or number")
    version = data.get("v", VERSION)
    if version not in ACCEPTED_VERSIONS or isinstance(version, bool):
        raise ProtocolError("bad_request", f"this desk speaks protocol versions {ACCEPTED_VERSIONS}, "
                                           f"not {version!r}", ref)
    kind = data.get("type")
    if kind not in REQUESTS:
        raise ProtocolError("unknown_type", f"unknown frame type {kind!r}", ref)
    required, optional = REQUESTS[kind]
    fields: Dict[str, Any] = {}
    for name, types in required.items():
        if name not in data:
            raise ProtocolError("bad_request", f"{kind} needs {name}", ref)
    for name, types in {**required, **optional}.items():
        if name not in data or (name in optional and data[name] is None):
            continue
        value = data[name]
        if not isinstance(value, types) or (isinstance(value, str) and not value.strip() and name != "note"):
            raise ProtocolError("bad_request", f"{kind}.{name} must be a non-empty {types[0].__name__}", ref)
        if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
            raise ProtocolError("bad_request", f"{kind}.{name} is longer than {MAX_TEXT_CHARS} characters", ref)
        fields[name] = value
    if kind == "transfer" and ("to_agent" in fields) == ("to_language" in fields):
        raise ProtocolError("bad_request", "transfer needs exactly one of to_agent and to_language", ref)
    if kind == "presence" and fields["status"] not in ("available", "away"):
        raise ProtocolError("bad_request", "presence.status must be 'available' or 'away'", ref)
    return Request(kind, ref, fields)


def event(kind: str, **fields: Any) -> str:
    """A desk -> console frame as JSON text."""
    if kind not in EVENTS:
        raise ValueError(f"unknown event type {kind!r}")
    return json.dumps({"v": VERSION, "type": kind, **fields}, ensure_ascii=False)


def ok(ref: Any = None, **fields: Any) -> str:
    return event("ok", ref=ref, **fields)


def error(code: str, message: str, ref: Any = None) -> str:
    return event("error", code=code, message=message, ref=ref)


def error_code(failure: BaseException) -> str:
    """The `error.code` for an exception raised while serving a request."""
    if isinstance(failure, ProtocolError):
        return failure.code
    for kind, code in ((TicketNotFound, "not_found"), (UnknownAgent, "not_found"),
                       (NotHolder, "not_holder"), (InvalidTransition, "invalid_transition"),
                       (InvalidRequest, "bad_request"), (BriefError, "bad_request"),
                       (AtCapacity, "at_capacity"),
                       (QueueUnavailable, "unavailable"), (RasaUnavailable, "unavailable"),
                       (AuthenticationFailed, "unauthorized")):
        if isinstance(failure, kind):
            return code
    return "unavailable" if isinstance(failure, DeskError) else "internal"


def ticket_summary(ticket: Mapping[str, Any]) -> Dict[str, Any]:
    """What the queue list shows of a ticket (no transcript): from Ticket.as_dict()."""
    brief = ticket.get("brief") or {}
    return {key: ticket.get(key) for key in ("id", "conversation_id", "channel", "language", "priority",
                                             "reason", "state", "agent", "waiting_since", "created_at",
                                             "seq")} | {
        "highest_distress": brief.get("highest_distress", "none"),
        "callback": ticket.get("callback"),
    }


def auth_token(request: Request) -> str:
    """The token of the first frame; raises ProtocolError if the frame is not `auth`."""
    if request.type != "auth":
        raise ProtocolError("bad_request", "the first frame must be auth", request.ref)
    return request["token"]


def console_language(requested: Any, agent_languages: Sequence[str]) -> str:
    """The language the desk writes a console's summaries in: the one the console asked for when
    the desk has words for it, else the agent's first such language, else English."""
    if requested in LANGUAGES:
        return requested
    return next((language for language in agent_languages if language in LANGUAGES), EN)


def optional_text(value: Optional[str]) -> str:
    return value.strip() if isinstance(value, str) else ""
