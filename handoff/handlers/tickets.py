"""Requests that change tickets or talk to the claimant: claim, claim_next, release, transfer,
return, close, note, message, typing, presence (handoff/handlers/__init__.py)."""
from __future__ import annotations

import time
from typing import Any, Dict

from core.monitoring import definitions as metrics
from handoff import agent_messages, agents, endings, protocol
from handoff import tickets as t
from handoff.desk_context import DeskContext
from handoff.exceptions import NotHolder, ProtocolError
from handoff.outbox import PUSH_CHANNELS, message as outbox_message
from handoff.rasa_api import agent_message_event
from handoff.session import Session
from handoff.ticket_view import full
from handoff.tickets import State, Ticket


async def visible(desk: DeskContext, session: Session, ticket_id: str) -> Ticket:
    """The ticket, if `session` may see it (its language, or it holds it, or a supervisor)."""
    ticket = await desk.io(desk.queue.get, ticket_id)
    if not session.may_see(ticket.language, ticket.agent):
        raise ProtocolError("forbidden", f"ticket {ticket_id!r} is in the {ticket.language} queue, "
                                         f"which you do not take")
    return ticket


async def held(desk: DeskContext, session: Session, request: protocol.Request, event: str) -> Ticket:
    """The ticket, if `session`'s agent holds it; NotHolder otherwise."""
    ticket = await desk.io(desk.queue.get, request["ticket_id"])
    if ticket.state is not State.ASSIGNED or ticket.agent != session.agent_id:
        raise NotHolder(ticket.id, ticket.state.value, event, f"{session.agent_id!r} does not hold it")
    return ticket


async def claim(desk: DeskContext, session: Session, request: protocol.Request) -> Dict[str, Any]:
    await visible(desk, session, request["ticket_id"])
    won = await desk.io(desk.queue.claim, request["ticket_id"], agent=session.agent_id)
    if won is None:
        raise ProtocolError("taken", "someone else has this ticket, or it is no longer waiting", request.ref)
    await _after_claim(desk, session, won)
    return {"ticket_id": won.id}


async def claim_next(desk: DeskContext, session: Session, request: protocol.Request) -> Dict[str, Any]:
    languages = (await desk.io(desk.queue.languages) if session.account.is_supervisor
                 else list(session.account.languages))
    won = await desk.io(desk.queue.claim_next, agent=session.agent_id, languages=languages)
    if won is not None:
        await _after_claim(desk, session, won)
    return {"ticket_id": won.id if won else None}


async def _after_claim(desk: DeskContext, session: Session, ticket: Ticket) -> None:
    await desk.to_claimant(ticket, "agent_joined", text=desk.phrases.say("utter_handoff_agent_joined", ticket.language),
                           agent_id=session.agent_id, agent_name=session.account.name)
    await session.send(protocol.event("claimed", ticket=await full(desk, session, ticket)))


async def release(desk: DeskContext, session: Session, request: protocol.Request) -> None:
    ticket = await desk.io(desk.queue.release, request["ticket_id"], agent=session.agent_id)
    await desk.back_in_queue(ticket, session.agent_id)


async def transfer(desk: DeskContext, session: Session, request: protocol.Request) -> None:
    """To a colleague: the claimant sees who took over. To another language's queue: the claimant is
    told, in that language, that they are waiting again."""
    if request.get("to_agent"):
        ticket = await desk.io(desk.queue.transfer_to_agent, request["ticket_id"], to_agent=request["to_agent"],
                               by=session.agent_id, holder=session.holder())
        colleague = await desk.io(agents.account, desk.queue.redis, ticket.agent)
        previous = ticket.history[-1].detail.get("from_agent")
        if previous:
            await desk.to_claimant(ticket, "agent_left", agent_id=previous)
        await desk.to_claimant(ticket, "agent_joined", text=desk.phrases.say("utter_handoff_agent_joined", ticket.language),
                               agent_id=ticket.agent, agent_name=colleague.name if colleague else None)
    else:
        ticket = await desk.io(desk.queue.transfer_to_language, request["ticket_id"],
                               language=request["to_language"], by=session.agent_id, holder=session.holder())
        previous = ticket.history[-1].detail.get("from_agent")
        await desk.back_in_queue(ticket, previous, phrase="utter_handoff_transferred_language")


async def return_(desk: DeskContext, session: Session, request: protocol.Request) -> Dict[str, Any]:
    return await endings.return_to_bot(desk, request["ticket_id"], by=session.agent_id, holder=session.holder())


async def close(desk: DeskContext, session: Session, request: protocol.Request) -> Dict[str, Any]:
    return await endings.close(desk, request["ticket_id"], by=session.agent_id, reason_code=request["reason_code"],
                        note=protocol.optional_text(request.get("note")), holder=session.holder())


async def note(desk: DeskContext, session: Session, request: protocol.Request) -> Dict[str, Any]:
    """A private note: into the ticket's history only (never the tracker or the outbox, so
    the claimant never sees it, and it goes with the ticket when it is purged or erased)."""
    ticket = await visible(desk, session, request["ticket_id"])
    noted = await desk.io(desk.queue.add_note, ticket.id, by=session.agent_id, text=request["text"],
                          holder=session.holder())
    return {"ticket_id": noted.id, "note": t.notes(noted)[-1]}


async def message(desk: DeskContext, session: Session, request: protocol.Request) -> Dict[str, Any]:
    ticket = await held(desk, session, request, "message")
    text = request["text"].strip()
    message_id = request.get("id")
    if message_id is None:  # a console that never resends
        at = time.time()
        await desk.rasa.append(ticket.conversation_id, [agent_message_event(text, session.agent_id, at)])
        await desk.to_claimant(ticket, "agent_message", text=text, agent_id=session.agent_id,
                               agent_name=session.account.name, at=at)
        return {"ticket_id": ticket.id, "at": at}
    # Once per id (handoff/agent_messages.py): a resend after a desk died writes nothing twice.
    progress = await desk.io(desk.agent_messages.begin, ticket.id, message_id, time.time())
    if not progress.tracker:
        written = progress.again and agent_messages.in_tracker(
            (await desk.rasa.tracker(ticket.conversation_id)).get("events") or [], message_id)
        if not written:
            await desk.rasa.append(ticket.conversation_id, [
                agent_message_event(text, session.agent_id, progress.at, message_id=message_id)])
        await desk.io(desk.agent_messages.in_tracker, ticket.id, message_id)
    if not progress.outbox and ticket.channel in PUSH_CHANNELS:
        entry = outbox_message("agent_message", conversation_id=ticket.conversation_id, language=ticket.language,
                               text=text, agent_id=session.agent_id, agent_name=session.account.name,
                               at=progress.at)
        if await desk.io(desk.agent_messages.send_once, ticket.id, message_id, ticket.channel, entry):
            metrics.sent(channel=ticket.channel, language=ticket.language, sender="agent")
    return {"ticket_id": ticket.id, "at": progress.at, "id": message_id, "duplicate": progress.outbox}


async def typing(desk: DeskContext, session: Session, request: protocol.Request) -> None:
    ticket = await held(desk, session, request, "typing")
    if request["active"]:
        await desk.to_claimant(ticket, "typing", agent_id=session.agent_id)


async def presence(desk: DeskContext, session: Session, request: protocol.Request) -> None:
    await desk.io(desk.queue.agent_status, session.agent_id, request["status"])
