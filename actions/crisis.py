"""What the bot does on a distress or complexity signal. Thin: the decisions live in bot/signals.

- `action_crisis_response`: stops any form, gives the crisis contacts (data/crisis_contacts.yml)
  in the claimant's language with a human sentence, then hands off with priority `crisis`.
- `action_urgent_response`: an empathetic sentence, then the handoff with priority `urgent`.
- `action_signal_followup`: after the answer, acknowledges concern and offers a person; when the
  conversation has become complex, says a person can look at the whole situation and offers the
  handoff (priority `complex`); a complaint or appeal after a decision is handed off at once.
The handoff itself is `action_handoff` (actions/handoff.py): it reads slots `handoff_priority`,
`handoff_reason` and the signals in `tracker.latest_message`.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Text

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.phrasebook import Phrasebook
from bot import crisis_contacts
from bot.signals.conversation import assess

HANDOFF = "action_handoff"


def signals_of(latest_message: Mapping[str, Any]) -> Mapping[str, Any]:
    return latest_message.get("signals") or {}


def reason_line(kind: str, signals: Mapping[str, Any], part: str = "distress", limit: int = 4) -> str:
    """One line for the agent: the kind, then the evidence words and the rules that matched."""
    evidence = (signals.get(part) or {}).get("evidence") or []
    shown = "; ".join(f"{e.get('text')} ({e.get('rule')})" for e in evidence[:limit])
    return f"{kind}: {shown}" if shown else kind


def _stop_form(tracker: Tracker) -> List[EventType]:
    """Deactivate any form and forget the answer the crisis message was taken for."""
    events: List[EventType] = []
    if tracker.active_loop.get("name"):
        events.append(ActiveLoop(None))
    requested = tracker.get_slot("requested_slot")
    if requested:
        events += [SlotSet(requested, None), SlotSet("requested_slot", None)]
    return events


class ActionCrisisResponse(Action):
    def name(self) -> Text:
        return "action_crisis_response"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        phrases = Phrasebook.from_domain(domain, tracker.get_slot("language"))
        lang = phrases.language
        try:
            contacts = crisis_contacts.load()
        except (OSError, ValueError, yaml.YAMLError):
            contacts = []  # the handoff below still happens; the agent gets the priority
        distress = signals_of(tracker.latest_message).get("distress") or {}
        about_someone_else = distress.get("about") == "someone_else"
        lines = [phrases.say("utter_crisis_opening_other" if about_someone_else else "utter_crisis_opening")]
        for contact in contacts:
            lines.append(phrases.say("utter_crisis_contact_line", number=contact.get("number"),
                                     service=(contact.get("name") or {}).get(lang, ""),
                                     when=(contact.get("when") or {}).get(lang, "")))
        dispatcher.utter_message(text="\n".join(lines))
        dispatcher.utter_message(text=phrases.say("utter_crisis_handing_over"))
        return _stop_form(tracker) + [
            SlotSet("handoff_priority", "crisis"),
            SlotSet("handoff_reason", reason_line("crisis", signals_of(tracker.latest_message))),
            SlotSet("pending_offer", None),
            FollowupAction(HANDOFF),
        ]


class ActionUrgentResponse(Action):
    def name(self) -> Text:
        return "action_urgent_response"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        phrases = Phrasebook.from_domain(domain, tracker.get_slot("language"))
        dispatcher.utter_message(text=phrases.say("utter_urgent_response"))
        return _stop_form(tracker) + [
            SlotSet("handoff_priority", "urgent"),
            SlotSet("handoff_reason", reason_line("urgent", signals_of(tracker.latest_message))),
            SlotSet("pending_offer", None),
            FollowupAction(HANDOFF),
        ]


class ActionSignalFollowup(Action):
    """Concern and complexity, after the bot's answer (or instead of "I didn't understand")."""

    def name(self) -> Text:
        return "action_signal_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        phrases = Phrasebook.from_domain(domain, tracker.get_slot("language"))
        signals = signals_of(tracker.latest_message)
        complexity = assess(tracker.events)
        recorded = tracker.get_slot("complexity_reason") or ""
        reason = complexity.as_reason()
        events: List[EventType] = []
        if reason and reason != recorded:
            events.append(SlotSet("complexity_reason", reason))

        if "appeal_after_decision" in complexity.reasons:
            dispatcher.utter_message(text=phrases.say("utter_appeal_handover"))
            return _stop_form(tracker) + events + [
                SlotSet("handoff_priority", "complex"),
                SlotSet("handoff_reason", _complex_reason(complexity.as_reason(), signals)),
                SlotSet("pending_offer", None),
                FollowupAction(HANDOFF),
            ]

        new_reasons = [r for r in complexity.reasons if r not in recorded]
        concern = (signals.get("distress") or {}).get("level") == "concern"
        already_offered = tracker.get_slot("pending_offer") == "handoff"  # e.g. after 2 misses
        if new_reasons:
            events += [SlotSet("handoff_priority", "complex"),
                       SlotSet("handoff_reason", _complex_reason(reason, signals))]
            if not already_offered:
                _say(dispatcher, phrases, "utter_complexity_offer")
                events.append(SlotSet("pending_offer", "handoff"))
        elif concern and not already_offered:
            _say(dispatcher, phrases, "utter_concern_acknowledge")
            events += [SlotSet("handoff_reason", reason_line("concern", signals)),
                       SlotSet("pending_offer", "handoff")]
        return events


def _say(dispatcher: CollectingDispatcher, phrases: Phrasebook, response: str) -> None:
    dispatcher.utter_message(text=phrases.say(response), buttons=phrases.buttons(response))


def _complex_reason(reason: Optional[str], signals: Mapping[str, Any]) -> str:
    line = f"complex: {reason or 'needs'}"
    evidence = reason_line("", signals, part="complexity").lstrip(": ")
    return f"{line} | {evidence}" if evidence else line
