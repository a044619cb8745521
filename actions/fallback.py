"""When the bot is not sure: offer its two best guesses, and after two misses, a person."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.phrasebook import Phrasebook
from actions.turns import FALLBACK_INTENT, failed_turns_in_a_row, notices_for

# Guesses worth offering as buttons: a claimant does not click "yes" or "greet".
_NOT_A_GUESS = {FALLBACK_INTENT, "inform", "affirm", "deny", "greet", "goodbye", "thank", "stop", "correct_answer"}
FAILURES_BEFORE_PERSON = 2


def best_guesses(ranking: List[Dict[str, Any]], known: List[str], count: int = 2) -> List[str]:
    names = [r.get("name") for r in ranking]
    return [n for n in names if n and n not in _NOT_A_GUESS and n in known][:count]


def offerable(domain: Dict[Text, Any]) -> List[str]:
    """The intents a claimant can be offered as a button: those with a title in the domain
    (`utter_intent_title_<intent>`); not a rating, an answer part or other button-only intents."""
    responses = domain.get("responses") or {}
    names = [i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents", [])]
    return [name for name in names if f"utter_intent_title_{name}" in responses]


class ActionClarify(Action):
    def name(self) -> Text:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        phrases = Phrasebook.from_domain(domain, tracker.get_slot("language"))
        person = {"title": phrases.say("utter_button_person"), "payload": "/request_human"}

        if failed_turns_in_a_row(tracker.events) >= FAILURES_BEFORE_PERSON:
            dispatcher.utter_message(
                text=phrases.say("utter_offer_person_after_failures"),
                buttons=[
                    {"title": phrases.say("utter_button_yes"), "payload": "/affirm"},
                    {"title": phrases.say("utter_button_no"), "payload": "/deny"},
                ],
            )
            return [SlotSet("pending_offer", "handoff")]

        latest = tracker.latest_message
        if not (latest.get("input") or {}).get("has_words", True):
            dispatcher.utter_message(text=phrases.say("utter_no_words"), buttons=[person])
            return [SlotSet("pending_offer", None)]

        for notice in notices_for(latest, phrases):
            dispatcher.utter_message(text=notice)
        guesses = best_guesses(latest.get("intent_ranking") or [], offerable(domain))
        if not guesses:
            dispatcher.utter_message(text=phrases.say("utter_rephrase"), buttons=[person])
        else:
            buttons = [
                {"title": phrases.say(f"utter_intent_title_{g}"), "payload": f"/{g}"} for g in guesses
            ]
            dispatcher.utter_message(text=phrases.say("utter_clarify"), buttons=buttons + [person])
        return [SlotSet("pending_offer", None)]
