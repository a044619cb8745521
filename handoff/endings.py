"""The end of a handoff: the bot takes the conversation back (returned, or cancelled and
callback-recorded by the claimant) or the ticket is closed; the bot is told through Rasa's API,
the claimant through the outbox, and for a ticket a person held the satisfaction question is asked
(handoff/csat.py).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from handoff import csat
from handoff import tickets as t
from handoff.desk_context import DeskContext
from handoff.rasa_api import resume_events, survey_events
from handoff.tickets import Ticket


@dataclass(frozen=True)
class Asking:
    """A satisfaction question about to be asked: the survey, its words and buttons, and the
    tracker events that carry them."""
    survey: csat.Survey
    text: str
    buttons: List[Dict[str, str]]
    events: List[Dict[str, Any]]


def survey(desk: DeskContext, ended: Ticket) -> Optional[Asking]:
    """The satisfaction question for a ticket a person held, as it will be returned or closed
    (handoff/csat.py); None when none is asked (a callback, or nobody held it)."""
    if not csat.should_ask(ended):
        return None
    text = desk.phrases.say("utter_csat_question", ended.language)
    buttons = desk.phrases.buttons("utter_csat_question", ended.language)
    return Asking(csat.survey_for(ended, at=time.time()), text, buttons, survey_events(ended.id, text, buttons))


async def ask(desk: DeskContext, ticket: Ticket, asking: Optional[Asking]) -> None:
    """Records the survey, then puts the question (with its buttons) in front of the claimant."""
    if asking is None:
        return
    await desk.io(desk.csat.ask, asking.survey)
    await desk.to_claimant(ticket, "question", text=asking.text, buttons=asking.buttons)


async def return_to_bot(desk: DeskContext, ticket_id: str, *, by: str, holder: Optional[str]) -> Ticket:
    """An agent (or supervisor) gives the conversation back to the bot."""
    ticket = await desk.io(desk.queue.get, ticket_id)
    ended = t.return_to_bot(ticket, by=by, at=time.time(), holder=holder)  # check first
    text = desk.phrases.say("utter_handoff_resumed", ticket.language)
    asking = survey(desk, ended)
    await desk.rasa.append(ticket.conversation_id, resume_events(text, then=asking.events if asking else ()))
    ticket = await desk.io(desk.queue.return_to_bot, ticket.id, by=by, holder=holder)
    await desk.to_claimant(ticket, "bot_resumed", text=text)
    await ask(desk, ticket, asking)
    return ticket


async def close(desk: DeskContext, ticket_id: str, *, by: str, reason_code: str, note: str,
                holder: Optional[str]) -> Ticket:
    """An agent (or supervisor) closes the ticket; the bot takes the conversation back silently."""
    ticket = await desk.io(desk.queue.get, ticket_id)
    ended = t.close(ticket, by=by, at=time.time(), reason_code=reason_code, note=note,
                    holder=holder)  # check before resuming the bot
    asking = survey(desk, ended)
    await desk.rasa.append(ticket.conversation_id, resume_events(None, then=asking.events if asking else ()))
    ticket = await desk.io(desk.queue.close, ticket.id, by=by, reason_code=reason_code, note=note, holder=holder)
    await desk.to_claimant(ticket, "agent_left", agent_id=by)
    await ask(desk, ticket, asking)
    return ticket


async def resume(desk: DeskContext, ticket: Ticket, phrase: str, *, by: str, **values: Any) -> None:
    """The claimant ended the wait themselves ("never mind", a callback number): the bot resumes
    with `phrase`."""
    text = desk.phrases.say(phrase, ticket.language, **values)
    await desk.rasa.append(ticket.conversation_id, resume_events(text))
    await desk.io(desk.queue.return_to_bot, ticket.id, by=by)
    await desk.to_claimant(ticket, "bot_resumed", text=text)
