"""Keeps the `language` slot in step with the language of each message."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.langdetect import Detection, choose_language


def detection_of(latest_message: Dict[str, Any]) -> Detection:
    found = latest_message.get("language") or {}
    return Detection(found.get("code"), bool(found.get("explicit")), bool(found.get("weak")))


class ActionSetLanguage(Action):
    """Runs after every message (the slot's custom mapping). Sets the slot only when it changes."""

    def name(self) -> Text:
        return "action_set_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        current = tracker.get_slot("language")
        chosen = choose_language(detection_of(tracker.latest_message), current)
        return [] if chosen == current else [SlotSet("language", chosen)]
