"""The end of a handoff: the bot takes the conversation back (returned by an agent, or the claimant's
own "never mind" or callback number) or the ticket is closed. Each is one atomic step with a
recorded outcome (handoff/rasa_writes.py): the ticket's change and its ending's record in one Lua
step, then the bot told through Rasa's API, then the claimant through the outbox (and, for a ticket
a person held, the satisfaction question, handoff/csat.py). With Rasa down the ticket is ended
all the same and the write is tried again until the bot is told.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from handoff import csat, rasa_writes
from handoff.desk_context import DeskContext
from handoff.outbox import message as outbox_message
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
    """The satisfaction question for a ticket a person held, as it is returned or closed
    (handoff/csat.py); None when none is asked (a callback, or nobody held it)."""
    if not csat.should_ask(ended):
        return None
    text = desk.phrases.say("utter_csat_question", ended.language)
    buttons = desk.phrases.buttons("utter_csat_question", ended.language)
    return Asking(csat.survey_for(ended, at=time.time()), text, buttons, survey_events(ended.id, text, buttons))


def _ending(desk: DeskContext, text: Optional[str], told: List[Tuple[str, Dict[str, Any]]], *,
            ask: bool = True):
    """The `ending` a queue change stores with the ended ticket: resume the bot (saying `text`),
    then tell the claimant `told` ((kind, fields) outbox entries) and ask the survey if `ask`."""
    def for_ticket(ended: Ticket) -> Tuple[Dict[str, Any], float]:
        asking = survey(desk, ended) if ask else None
        entries = [outbox_message(kind, conversation_id=ended.conversation_id, language=ended.language, **fields)
                   for kind, fields in told]
        if asking is not None:
            entries.append(outbox_message("question", conversation_id=ended.conversation_id,
                                          language=ended.language, text=asking.text, buttons=asking.buttons))
        events = resume_events(text, then=asking.events if asking else (), marker=ended.id)
        return rasa_writes.record(conversation_id=ended.conversation_id, events=events, channel=ended.channel,
                                  then=entries, survey=asking.survey if asking else None), rasa_writes.first_due()
    return for_ticket


async def _tell_the_bot(desk: DeskContext, ticket: Ticket) -> str:
    done = await desk.rasa_writes.complete(ticket.id, again=False)
    return "done" if done else "failed"


async def return_to_bot(desk: DeskContext, ticket_id: str, *, by: str, holder: Optional[str]) -> Dict[str, Any]:
    """An agent (or supervisor) gives the conversation back to the bot."""
    ticket = await desk.io(desk.queue.get, ticket_id)
    text = desk.phrases.say("utter_handoff_resumed", ticket.language)
    ended = await desk.io(desk.queue.return_to_bot, ticket_id, by=by, holder=holder,
                          ending=_ending(desk, text, [("bot_resumed", {"text": text})]))
    return {"ticket_id": ended.id, "rasa_write": await _tell_the_bot(desk, ended)}


async def close(desk: DeskContext, ticket_id: str, *, by: str, reason_code: str, note: str,
                holder: Optional[str]) -> Dict[str, Any]:
    """An agent (or supervisor) closes the ticket; the bot takes the conversation back silently."""
    ended = await desk.io(desk.queue.close, ticket_id, by=by, reason_code=reason_code, note=note, holder=holder,
                          ending=_ending(desk, None, [("agent_left", {"agent_id": by})]))
    return {"ticket_id": ended.id, "rasa_write": await _tell_the_bot(desk, ended)}


async def resume(desk: DeskContext, ticket: Ticket, phrase: str, *, by: str, **values: Any) -> None:
    """The claimant ended the wait themselves ("never mind", a callback number): the bot resumes
    with `phrase`. No survey: nobody held it."""
    text = desk.phrases.say(phrase, ticket.language, **values)
    ended = await desk.io(desk.queue.return_to_bot, ticket.id, by=by,
                          ending=_ending(desk, text, [("bot_resumed", {"text": text})], ask=False))
    await _tell_the_bot(desk, ended)
