"""A ticket as a console is shown it (`claimed`, `brief`): its brief as stored with the ticket and
kept up to date by the stream worker (handoff/brief_record.py), the summary in the console's language (handoff/assist.py), for the agent holding it the
suggested answer to the claimant's latest question (handoff/suggestion.py), and its private notes.
Every view is a transcript read, written to the audit log before anything is sent.

No tracker is read for a ticket made with its conversation (by the handoff action). A ticket
stored without one (made by hand, or before the desk kept it) has it made from the tracker at its
first view and stored: every later view reads the stored one.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Mapping

from core.privacy import access
from core.privacy import exceptions as privacy_errors
from handoff import assist, brief_record
from handoff import suggestion as suggestions
from handoff import tickets as t
from handoff.brief import build_brief
from handoff.desk_context import DeskContext
from handoff.exceptions import DeskError, ProtocolError
from handoff.session import Session
from handoff.tickets import State, Ticket

logger = logging.getLogger(__name__)


def holds(session: Session, ticket: Ticket) -> bool:
    return ticket.state is State.ASSIGNED and ticket.agent == session.agent_id


async def audited(desk: DeskContext, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """An access check that writes the audit log first; refused or unrecorded, nothing is shown."""
    try:
        return await desk.io(call, desk.queue.redis, *args, mirror=desk.settings.audit_mirror, **kwargs)
    except privacy_errors.Forbidden as refused:
        raise ProtocolError("forbidden", str(refused)) from None
    except privacy_errors.InvalidRequest as wrong:
        raise ProtocolError("bad_request", str(wrong)) from None
    except privacy_errors.StoreUnavailable as error:
        raise ProtocolError("unavailable", f"the audit log cannot be written, so nothing is shown: {error}") from None


async def full(desk: DeskContext, session: Session, ticket: Ticket) -> Dict[str, Any]:
    """The ticket as `session`'s console is shown it (see the module's docstring)."""
    await audited(desk, access.open_transcript, session.account, ticket.conversation_id, ticket.language)
    data = ticket.as_dict()
    data["brief"] = brief_record.shown(ticket.brief)
    data["summary"] = data["suggestion"] = None
    try:
        conversation = await stored_conversation(desk, ticket)
        brief = build_brief(conversation, waiting_since=ticket.waiting_since, reason=ticket.reason,
                            priority=ticket.priority.value)
        fresh = brief.as_dict()
        data["brief"] = {**data["brief"], "transcript": fresh["transcript"], "signals": fresh["signals"]}
        data["summary"] = assist.summarise(brief, conversation, language=session.language,
                                           titles=desk.titles).as_dict()
        if holds(session, ticket):
            data["suggestion"] = desk.suggestion(
                suggestions.latest_topic(conversation.get("events") or [], desk.knowledge), ticket.language)
    except DeskError as error:
        logger.warning("showing the brief of %s as stored: %s", ticket.id, error)
    data["notes"] = t.notes(ticket)
    return data


async def stored_conversation(desk: DeskContext, ticket: Ticket) -> Mapping[str, Any]:
    """The conversation stored with the ticket (masked, shaped like a tracker); for a ticket stored
    without one, made from the tracker now and stored. Raises RasaUnavailable (no tracker read)."""
    conversation = brief_record.as_tracker(ticket.brief)
    if conversation is not None:
        return conversation
    made = brief_record.make(await desk.rasa.tracker(ticket.conversation_id), waiting_since=ticket.waiting_since,
                             reason=ticket.reason, priority=ticket.priority.value)
    stored = await desk.io(desk.queue.update_brief, ticket.id,
                           lambda brief: None if brief_record.as_tracker(brief) else {**brief, **made})
    return brief_record.as_tracker(stored.brief) or made[brief_record.KEY]
