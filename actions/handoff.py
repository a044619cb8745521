"""Reaching a person: the conversation goes to the agent desk's queue (handoff/).

`action_handoff` builds the brief from the tracker, enqueues a ticket (priority from the slot
`handoff_priority`, else `requested`), pauses the bot for the conversation and tells the claimant
what happens next: their place and the expected wait, or honestly that nobody is on duty and how
to get a callback; for a crisis with nobody on duty, the crisis lines first. If the desk's Redis
cannot be reached (or REDIS_URL is not set), it gives the phone line and office instead.

The action server reads REDIS_URL (and the DESK_* settings) once, on the first handoff.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge, turns
from actions.phrasebook import Phrasebook
from core import crisis_contacts
from handoff import brief_record
from handoff.exceptions import DeskError
from handoff.phrases import Phrases, load as load_phrases
from handoff.queue import Queue, connect
from handoff.settings import DeskSettings
from core.settings import current
from handoff.tickets import Priority, Ticket, WaitEstimate

logger = logging.getLogger(__name__)
LIVE_PRIORITIES = (Priority.CRISIS, Priority.URGENT, Priority.COMPLEX, Priority.REQUESTED)


@functools.lru_cache(maxsize=1)
def desk_queue() -> Optional[Queue]:
    """The desk's queue, built once from the process's settings; None when REDIS_URL is not set."""
    process = current()
    if not process.redis_url:
        logger.warning("REDIS_URL is not set: handoffs give the phone line instead of queueing.")
        return None
    settings = DeskSettings.from_env(process.env)
    return Queue(connect(settings.redis_url), settings)


@functools.lru_cache(maxsize=1)
def desk_phrases() -> Phrases:
    return load_phrases()


def priority_of(value: Any) -> Priority:
    """The slot's priority if it is a live one, else `requested`."""
    try:
        priority = Priority(value)
    except ValueError:
        return Priority.REQUESTED
    return priority if priority in LIVE_PRIORITIES else Priority.REQUESTED


def enqueue(queue: Queue, tracker_state: Dict[str, Any], *, language: str, priority: Priority,
            reason: str) -> Tuple[Ticket, Optional[WaitEstimate], bool]:
    """The ticket, its wait estimate and whether we are within staffed hours (blocking I/O).
    One ticket per claimant message: the same message's turn run again gets the same ticket."""
    brief = brief_record.make(tracker_state, waiting_since=time.time(), reason=reason, priority=priority.value)
    ticket = queue.enqueue(conversation_id=tracker_state["sender_id"],
                           channel=brief["channel"], language=language, priority=priority,
                           reason=reason, brief=brief,
                           request_id=turns.request_id(tracker_state.get("events") or []))
    return ticket, queue.estimate(ticket.id), queue.staffed()


def what_happens_next(phrases: Phrasebook, ticket: Ticket, estimate: Optional[WaitEstimate],
                      staffed: bool, hours: str, phone: str) -> str:
    """The claimant's next step, honestly: crisis lines, closed hours, nobody online, or the wait."""
    position = estimate.position if estimate else 1
    nobody = estimate is None or estimate.seconds is None
    if ticket.priority is Priority.CRISIS and (nobody or not staffed):
        return phrases.say("utter_handoff_crisis_no_agent",
                           contacts=crisis_contacts.in_one_line(phrases.language))
    if not staffed:
        return phrases.say("utter_handoff_closed_hours", hours=hours, phone=phone)
    if nobody:
        return phrases.say("utter_handoff_no_agent", position=position, phone=phone)
    minutes = max(1, math.ceil(estimate.seconds / 60))
    return phrases.say("utter_handoff_queued", position=position, minutes=minutes)


class ActionHandoff(Action):
    def name(self) -> Text:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        # The model's domain wins; handoff.yml fills in while a model trained before it runs.
        responses = {**desk_phrases().responses, **(domain.get("responses") or {})}
        phrases = Phrasebook(responses, tracker.get_slot("language"))
        lang = phrases.language
        service = knowledge.load_yaml("service.yml")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "complaint_appeal":
            appeal = knowledge.load().get("complaint_appeal")
            if appeal is not None:
                dispatcher.utter_message(
                    text=phrases.say("utter_handoff_appeal", appeal=str(appeal.text(lang)["answer"]).strip())
                )
        priority = priority_of(tracker.get_slot("handoff_priority"))
        reason = str(tracker.get_slot("handoff_reason") or
                     {"complaint_appeal": "complaint or appeal"}.get(intent, "asked for a person"))
        queue = desk_queue()
        if queue is not None:
            try:
                ticket, estimate, staffed = await asyncio.to_thread(
                    enqueue, queue, tracker.current_state(), language=lang, priority=priority, reason=reason)
            except DeskError as error:
                logger.error("Could not queue the handoff of %s: %s", tracker.sender_id, error)
            else:
                dispatcher.utter_message(text=what_happens_next(
                    phrases, ticket, estimate, staffed, service["hours"][lang], str(service["phone"])))
                return [SlotSet("pending_offer", None), ConversationPaused()]
        dispatcher.utter_message(
            text=phrases.say(
                "utter_handoff_contact",
                phone=service["phone"],
                hours=service["hours"][lang],
                office=service["office"][lang],
            )
        )
        return [SlotSet("pending_offer", None)]


class ActionDeclineOffer(Action):
    """The claimant said no to what was offered: forget the offer and carry on."""

    def name(self) -> Text:
        return "action_decline_offer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_ok_whenever")
        return [SlotSet("pending_offer", None)]
