"""Reaching a person. Until the agent desk runs, this tells the claimant how to call or visit."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.phrasebook import Phrasebook
from actions.turns import notices_for


class ActionHandoff(Action):
    def name(self) -> Text:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        phrases = Phrasebook.from_domain(domain, tracker.get_slot("language"))
        lang = phrases.language
        for notice in notices_for(tracker.latest_message, phrases):
            dispatcher.utter_message(text=notice)
        service = knowledge.load_yaml("service.yml")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "complaint_appeal":
            appeal = knowledge.load().get("complaint_appeal")
            if appeal is not None:
                dispatcher.utter_message(
                    text=phrases.say("utter_handoff_appeal", appeal=str(appeal.text(lang)["answer"]).strip())
                )
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
