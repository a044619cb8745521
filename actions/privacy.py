"""Claimants' data rights: the privacy notice at the start, a copy of the conversation, erasure
with confirmation, and rectification or objection routed to a person. The decisions are in
core/privacy/rights.py and the deletions in core/privacy/retention.py; these actions only talk.

Erasure runs while Rasa is handling this very turn, and Rasa saves the turn's events after the
action returns; so the conversation is erased at once and again, in the background, as soon as
Rasa has released its lock on the conversation (`retention.wait_until_unlocked`).
"""
from __future__ import annotations

import asyncio
import functools
import logging
import threading
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import turns
from actions.phrasebook import Phrasebook
from core.privacy import audit, identity, period, retention, rights
from core.privacy.exceptions import PrivacyError
from core.settings import current

logger = logging.getLogger(__name__)

ERASE_OFFER = "erase_data"
HANDOFF_REASONS = {
    "rectify": "data rights: the claimant asks to correct their information",
    "object": "data rights: the claimant asks for a human review of an automated pre-check",
}


@functools.lru_cache(maxsize=1)
def settings() -> retention.RetentionSettings:
    """The retention settings, from the process's settings, on first use."""
    return retention.RetentionSettings.from_settings(current())


def _days() -> str:
    return str(period.as_number(settings().retention_days))


class ActionSessionStart(Action):
    """Rasa's session start, plus the privacy notice once per conversation (recorded in the
    tracker as the bot message and the `privacy_notice` slot)."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        if domain.get("session_config", {}).get("carry_over_slots_to_new_session", True):
            events += [SlotSet(name, value) for name, value in tracker.current_slot_values().items()
                       if value is not None]
        started_with = tracker.get_slot("session_started_metadata") or {}
        if not tracker.get_slot("privacy_notice") and started_with.get("privacy_notice_shown_by_channel"):
            events.append(SlotSet("privacy_notice", "shown"))  # the widget showed it: recorded, not repeated
        elif not tracker.get_slot("privacy_notice"):
            # Rendered here, not by Rasa: a session started over the HTTP API (the desk or the
            # widget reading a new tracker) has no output channel, and Rasa's rendering of a
            # `response` then fails and drops the session's events, the notice with them.
            notice = Phrasebook.from_domain(domain, tracker.get_slot("language")).say(
                "utter_privacy_notice", days=_days())
            dispatcher.utter_message(text=notice)
            events.append(SlotSet("privacy_notice", "shown"))
        events.append(ActionExecuted("action_listen"))
        return events


class ActionDataRights(Action):
    """Answers a data_rights message with the right it asks for (rights.classify_request)."""

    def name(self) -> Text:
        return "action_data_rights"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        kind = rights.classify_request(tracker.latest_message.get("text"))
        if kind in ("access", "export", "erase", "rectify", "object") and not asked_by_owner(tracker):
            return refuse(dispatcher, tracker)
        if kind in ("access", "export"):
            return self._copy(dispatcher, tracker)
        if kind == "erase":
            dispatcher.utter_message(response="utter_privacy_erase_confirm")
            return [SlotSet("pending_offer", ERASE_OFFER)]
        if kind in HANDOFF_REASONS:
            dispatcher.utter_message(response=f"utter_privacy_{kind}")
            return [SlotSet("handoff_reason", HANDOFF_REASONS[kind]), FollowupAction("action_handoff")]
        return [FollowupAction("action_answer_topic")]

    def _copy(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        turns = rights.transcript(tracker.events)
        earlier = turns[:-1] if turns and turns[-1]["speaker"] == "claimant" else turns
        if not earlier:
            dispatcher.utter_message(response="utter_privacy_nothing_kept")
            return []
        language = tracker.get_slot("language") or "zh"
        dispatcher.utter_message(response="utter_privacy_access_intro", turns=len(turns), days=_days())
        dispatcher.utter_message(text=rights.transcript_text(turns, language))
        dispatcher.utter_message(json_message=rights.export_payload(
            tracker.sender_id, turns, tracker.current_slot_values(), retention_days=settings().retention_days))
        try:
            client = settings().connect()
            audit.record(client, audit.make_entry(who="claimant", role="claimant", action="access_export",
                                                  conversation_id=tracker.sender_id))
        except PrivacyError as error:  # the claimant has their copy; the note is best effort
            logger.warning("could not audit the copy sent to %s: %s", tracker.sender_id, error)
        return []


class ActionEraseData(Action):
    """After the claimant confirmed: erase the conversation everywhere, then say so."""

    def name(self) -> Text:
        return "action_erase_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        conversation_id = tracker.sender_id
        if not asked_by_owner(tracker):
            return refuse(dispatcher, tracker)
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(erase_now, conversation_id, request_id=turns.request_id(tracker.events)))
        except PrivacyError as error:
            logger.error("erasure of %s failed: %s", conversation_id, error)
            dispatcher.utter_message(response="utter_privacy_erase_failed")
            return [SlotSet("pending_offer", None)]
        erase_after_turn(conversation_id)
        dispatcher.utter_message(response="utter_privacy_erased")
        return [SlotSet("pending_offer", None)]


class ActionKeepData(Action):
    def name(self) -> Text:
        return "action_keep_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_privacy_erase_kept")
        return [SlotSet("pending_offer", None)]


def asked_by_owner(tracker: Tracker) -> bool:
    """True when the latest message came in on the channel that owns this conversation."""
    return identity.verified(tracker.sender_id, tracker.get_latest_input_channel())


def refuse(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    logger.warning("data-rights request for %s refused: it came in on %r, not the owning channel",
                   tracker.sender_id, tracker.get_latest_input_channel())
    dispatcher.utter_message(response="utter_privacy_not_verified")
    return [SlotSet("pending_offer", None)]


def erase_now(conversation_id: str, *, request_id: Optional[str] = None) -> retention.Deleted:
    """Erases the conversation and records the fact, once per request (the claimant message that
    confirmed: its turn may run again after a crash). Raises PrivacyError."""
    return retention.erase_conversation(conversation_id, settings(), by="claimant", role="claimant",
                                        request_id=request_id)


def erase_after_turn(conversation_id: str, *, timeout: float = 60.0) -> threading.Thread:
    """Starts the second pass: once Rasa has saved this turn and released the conversation's
    lock, erase what it saved (the erasure request and its answer). Not audited again."""
    def second_pass() -> None:
        try:
            client = settings().connect()
            retention.wait_until_unlocked(client, conversation_id, timeout=timeout)
            retention.erase_conversation(conversation_id, settings(), client=client, record=False)
        except PrivacyError as error:
            logger.error("second erasure pass of %s failed; run `python -m core.privacy erase %s`: %s",
                         conversation_id, conversation_id, error)

    thread = threading.Thread(target=second_pass, name=f"erase-{conversation_id}", daemon=True)
    thread.start()
    return thread

