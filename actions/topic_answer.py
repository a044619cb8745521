"""Answers a topic question from the knowledge base, in the claimant's language: briefly, with the
rest of the entry behind buttons (`ActionAnswerPart`), or whole when `RENBEN_ANSWER_STYLE=full`."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.answer_text import (FOREIGN_TOPICS, PART_ENTITY, TOPIC_ENTITY, answer_messages, brief_message,
                                 mentions_foreign_employee, onward_buttons, part_buttons, part_message)
from actions.claimant_facts import facts_from_events
from actions.eligibility_forms import FORM_SLOTS, this_month
from actions.phrasebook import Phrasebook
from actions.tailoring import fitted_lines, render
from actions.turns import notices_for
from core.settings import Settings, current

# Topics that end with the offer of a pre-check: (offer slot value, phrase, the form's slots).
CHECK_OFFERS = {
    "ask_unemployment": ("unemployment_check", "utter_offer_unemployment_check",
                         tuple(FORM_SLOTS["unemployment_form"])),
    "ask_pension": ("pension_check", "utter_offer_pension_check", tuple(FORM_SLOTS["pension_form"])),
}


def person_button(phrases: Phrasebook) -> Dict[str, str]:
    return {"title": phrases.say("utter_button_person"), "payload": "/request_human"}


class ActionAnswerTopic(Action):
    def __init__(self, settings: Optional[Settings] = None) -> None:
        # rasa_sdk makes actions without arguments: then the action server's settings decide
        # (core.settings.current(), installed by actions/server.py's main()).
        self._settings = settings

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

        # What the claimant already said (years paid, birth, how the job ended) answers their case first.
        facts = facts_from_events(tracker.events)
        figures = knowledge.load_yaml("kb/eligibility.yml")
        fitted = [render(line, phrases) for line in fitted_lines(entry_id, facts, figures, today=this_month())]
        if (self._settings or current()).answer_style == "full":
            for text in answer_messages(entry, phrases, city=tracker.get_slot("city"), fitted=fitted):
                dispatcher.utter_message(text=text)
        else:
            dispatcher.utter_message(text=brief_message(entry, phrases, fitted=fitted),
                                     buttons=part_buttons(entry, phrases))

        offer = CHECK_OFFERS.get(intent)
        if offer:
            value, phrase, slots = offer
            yes_no = [
                {"title": phrases.say("utter_button_yes"), "payload": "/affirm"},
                {"title": phrases.say("utter_button_no"), "payload": "/deny"},
                person_button(phrases),
            ]
            dispatcher.utter_message(text=phrases.say(phrase), buttons=yes_no)
            # A new check starts from blank answers.
            return [SlotSet("pending_offer", value)] + [SlotSet(slot, None) for slot in slots]

        dispatcher.utter_message(
            text=phrases.say("utter_onward"),
            buttons=onward_buttons(entry, phrases, list(domain.get("intents", []))),
        )
        return [SlotSet("pending_offer", None)]


class ActionAnswerPart(Action):
    """A part of a brief answer (steps, papers, where, ...), asked for with its button: the part,
    then the entry's other parts and a person. Changes no slot, so an offer still stands and a
    form asks its question again (data/rules/forms.yml)."""

    def name(self) -> Text:
        return "action_answer_part"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        phrases = Phrasebook.from_domain(domain, tracker.get_slot("language"))
        entry = knowledge.load().get(str(next(tracker.get_latest_entity_values(TOPIC_ENTITY), "")))
        part = str(next(tracker.get_latest_entity_values(PART_ENTITY), ""))
        text = part_message(entry, part, phrases, city=tracker.get_slot("city")) if entry else ""
        if not text:  # a stale or hand-typed payload: the entry or the part is not there
            dispatcher.utter_message(text=phrases.say("utter_part_gone"), buttons=[person_button(phrases)])
            return []
        dispatcher.utter_message(text=text, buttons=part_buttons(entry, phrases, leave_out=part)
                                 + [person_button(phrases)])
        return []
