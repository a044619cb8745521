"""The claimant's answer to the satisfaction question the desk asks when a member of staff returns
or closes the conversation (handoff/csat.py): the rating, then, if they want, one comment.

The ticket comes from the slot `csat_ticket`, which the desk sets when it asks; a payload never
names a ticket, and the store only accepts an answer from the conversation the survey belongs to.
A comment is stored redacted (core/privacy/redaction.py): it is feedback, not a place for identifiers.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import desk_queue
from actions.phrasebook import Phrasebook
from core.privacy.redaction import redact
from handoff import csat
from handoff.csat_store import CsatStore
from handoff.exceptions import DeskError

logger = logging.getLogger(__name__)
COMMENT_OFFER = "csat_comment"


@functools.lru_cache(maxsize=1)
def surveys() -> Optional[CsatStore]:
    """The survey store on the desk's Redis; None when REDIS_URL is not set."""
    queue = desk_queue()
    return CsatStore(queue.redis) if queue is not None else None


def score_in(message: Dict[str, Any]) -> Optional[int]:
    """The rating in the latest message: the button's entity, else the words."""
    entity = next((e.get("value") for e in message.get("entities") or []
                   if e.get("entity") == csat.SCORE_ENTITY), None)
    return csat.score_of(entity, message.get("text") or "")


async def _record(call: Any, *args: Any, **kwargs: Any) -> bool:
    store = surveys()
    if store is None:
        return False
    try:
        return await asyncio.to_thread(getattr(store, call), *args, **kwargs)
    except DeskError as error:
        logger.warning("satisfaction answer not recorded: %s", error)
        return False


class ActionCsatRate(Action):
    def name(self) -> Text:
        return "action_csat_rate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        phrases = Phrasebook.from_domain(domain, tracker.get_slot("language"))
        ticket_id, score = tracker.get_slot(csat.TICKET_SLOT), score_in(tracker.latest_message)
        if not (ticket_id and score and await _record("rate", ticket_id, conversation_id=tracker.sender_id,
                                                      score=score, at=time.time())):
            dispatcher.utter_message(text=phrases.say("utter_csat_nothing_to_rate"))
            return [SlotSet("pending_offer", None)]
        dispatcher.utter_message(text=phrases.say("utter_csat_thanks"), buttons=[
            {"title": phrases.say("utter_button_yes"), "payload": "/affirm"},
            {"title": phrases.say("utter_button_no"), "payload": "/deny"}])
        return [SlotSet("pending_offer", COMMENT_OFFER)]


class ActionCsatComment(Action):
    def name(self) -> Text:
        return "action_csat_comment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        phrases = Phrasebook.from_domain(domain, tracker.get_slot("language"))
        ticket_id, comment = tracker.get_slot(csat.TICKET_SLOT), tracker.get_slot("csat_comment")
        if ticket_id and isinstance(comment, str) and comment.strip():
            await _record("comment", ticket_id, conversation_id=tracker.sender_id, text=redact(comment),
                          at=time.time())
        dispatcher.utter_message(text=phrases.say("utter_csat_comment_thanks"))
        return [SlotSet("csat_comment", None), SlotSet(csat.TICKET_SLOT, None), SlotSet("pending_offer", None)]
