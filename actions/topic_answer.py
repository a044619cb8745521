"""Answers a topic question from the knowledge base, in the claimant's language."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.answer_text import FOREIGN_TOPICS, answer_messages, mentions_foreign_employee, onward_buttons
from actions.eligibility_forms import FORM_SLOTS
from actions.phrasebook import Phrasebook
from actions.turns import notices_for

# Topics that end with the offer of a pre-check: (offer slot value, phrase, the form's slots).
CHECK_OFFERS = {
    "ask_unemployment": ("unemployment_check", "utter_offer_unemployment_check",
                         tuple(FORM_SLOTS["unemployment_form"])),
    "ask_pension": ("pension_check", "utter_offer_pension_check", tuple(FORM_SLOTS["pension_form"])),
}


class ActionAnswerTopic(Action):
    def name(self) -> Text:
        return "action_answer_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        phrases = Phrasebook.from_domain(domain, tracker.get_slot("language"))
        for notice in notices_for(tracker.latest_message, phrases):
            dispatcher.utter_message(text=notice)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        entries = knowledge.load()
        entry_id = intent
        if intent in FOREIGN_TOPICS and mentions_foreign_employee(tracker.latest_message.get("text", "")):
            entry_id = "foreign_employees"
        entry = entries.get(entry_id) or entries.get(intent)
        if entry is None:
            dispatcher.utter_message(response="utter_default")
            return [SlotSet("pending_offer", None)]

        for text in answer_messages(entry, phrases, city=tracker.get_slot("city")):
            dispatcher.utter_message(text=text)

        offer = CHECK_OFFERS.get(intent)
        if offer:
            value, phrase, slots = offer
            yes_no = [
                {"title": phrases.say("utter_button_yes"), "payload": "/affirm"},
                {"title": phrases.say("utter_button_no"), "payload": "/deny"},
                {"title": phrases.say("utter_button_person"), "payload": "/request_human"},
            ]
            dispatcher.utter_message(text=phrases.say(phrase), buttons=yes_no)
            # A new check starts from blank answers.
            return [SlotSet("pending_offer", value)] + [SlotSet(slot, None) for slot in slots]

        dispatcher.utter_message(
            text=phrases.say("utter_onward"),
            buttons=onward_buttons(entry, phrases, list(domain.get("intents", []))),
        )
        return [SlotSet("pending_offer", None)]
