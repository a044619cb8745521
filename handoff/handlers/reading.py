"""Requests that read conversations: snapshot, brief, suggest, reveal, flag (handoff/handlers/__init__.py)."""
from __future__ import annotations

import time
from typing import Any, Dict

from core import redis_keys as k
from core.privacy import access
from core.privacy.redaction import find_identifiers
from handoff import protocol
from handoff import suggestion as suggestions
from handoff.brief import build_brief
from handoff.desk_context import DeskContext
from handoff.exceptions import NotHolder, ProtocolError
from handoff.handlers.tickets import held, visible
from handoff.session import Session
from handoff.ticket_view import audited, full, stored_conversation
from handoff.tickets import State


async def snapshot(desk: DeskContext, session: Session, ref: Any) -> None:
    """What the console shows first: the waiting tickets it may see, those it holds, alerts for supervisors."""
    languages = None if session.account.is_supervisor else list(session.account.languages)
    waiting = await desk.io(desk.queue.waiting, languages)
    mine = await desk.io(desk.queue.agent_tickets, session.agent_id)
    alerts = await desk.io(desk.queue.alerts) if session.account.is_supervisor else []
    capacity = await desk.io(desk.queue.capacity, session.agent_id)
    await session.send(protocol.event(
        "snapshot", ref=ref, tickets=[protocol.ticket_summary(x.as_dict()) for x in waiting],
        held=[protocol.ticket_summary(x.as_dict()) for x in mine if x.state is State.ASSIGNED],
        alerts=[a.as_dict() for a in alerts], capacity=capacity))


async def snapshot_request(desk: DeskContext, session: Session, request: protocol.Request) -> None:
    await snapshot(desk, session, request.ref)


async def brief(desk: DeskContext, session: Session, request: protocol.Request) -> None:
    ticket = await visible(desk, session, request["ticket_id"])
    await session.send(protocol.event("brief", ref=request.ref, ticket=await full(desk, session, ticket)))


async def suggest(desk: DeskContext, session: Session, request: protocol.Request) -> Dict[str, Any]:
    """The suggested answer to the claimant's latest question (or to `topic`), for the agent
    holding the ticket only. Knowledge-base words, no claimant's: not a transcript read."""
    ticket = await held(desk, session, request, "suggest")
    topic = request.get("topic")
    if topic is None:
        conversation = await stored_conversation(desk, ticket)
        topic = suggestions.latest_topic(conversation.get("events") or [], desk.knowledge)
    elif desk.knowledge.get(topic) is None:
        raise ProtocolError("not_found", f"the knowledge base has no topic {topic!r}", request.ref)
    return {"ticket_id": ticket.id, "suggestion": desk.suggestion(topic, ticket.language)}


async def reveal(desk: DeskContext, session: Session, request: protocol.Request) -> Dict[str, Any]:
    """The unmasked identifier number `index` (default 0) of transcript turn `turn`, for the
    agent holding the ticket (or a supervisor). Each reveal is audited: who, when, which
    conversation, which field; never the value."""
    ticket = await desk.io(desk.queue.get, request["ticket_id"])
    if not session.account.is_supervisor and (ticket.state is not State.ASSIGNED
                                              or ticket.agent != session.agent_id):
        raise NotHolder(ticket.id, ticket.state.value, "reveal", f"{session.agent_id!r} does not hold it")
    turn, index = request.get("turn"), request.get("index", 0)
    if any(not isinstance(n, int) or isinstance(n, bool) or n < 0 for n in (turn, index)):
        raise ProtocolError("bad_request", "reveal needs `turn` and `index` as numbers from 0", request.ref)
    tracker = await desk.rasa.tracker(ticket.conversation_id)
    transcript = build_brief(tracker, waiting_since=ticket.waiting_since, reason=ticket.reason,
                             priority=ticket.priority.value, mask_identifiers=False).transcript
    found = find_identifiers(transcript[turn].text) if turn < len(transcript) else []
    if index >= len(found):
        raise ProtocolError("not_found", f"turn {turn} has no identifier number {index}", request.ref)
    identifier = found[index]
    await audited(desk, access.reveal, session.account, ticket.conversation_id,
                  f"turn{turn}.{identifier.kind}.{index}", language=ticket.language)
    return {"ticket_id": ticket.id, "turn": turn, "index": index, "identifier_kind": identifier.kind,
            "value": transcript[turn].text[identifier.start:identifier.end]}


async def flag(desk: DeskContext, session: Session, request: protocol.Request) -> Dict[str, Any]:
    """Writes a flag for the trainers' review inbox (tooling/trainers/review_sources.py reads it)."""
    ticket = await visible(desk, session, request["ticket_id"])
    text = protocol.optional_text(request.get("text"))
    if not text:
        transcript = (await full(desk, session, ticket))["brief"].get("transcript") or []
        said = [turn["text"] for turn in transcript if turn.get("speaker") == "claimant"]
        text = said[-1] if said else ""
    entry = {"ticket_id": ticket.id, "conversation_id": ticket.conversation_id, "text": text,
             "agent_id": session.agent_id, "language": ticket.language, "reason": ticket.reason,
             "suggested_intent": protocol.optional_text(request.get("suggested_intent")),
             "note": protocol.optional_text(request.get("note")), "at": str(time.time())}
    flag_id = await desk.events.xadd(k.REVIEW_FLAGS, entry, maxlen=desk.settings.stream_maxlen, approximate=True)
    return {"flag_id": flag_id}
