"""Rasa component: a phone number, an ID or an amount is not a satisfaction rating."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

RATING_INTENT = "csat_rate"
#: Three or more digits in a row: a phone number, an ID, a date or an amount, never a 1-5 rating.
_LONG_NUMBER = re.compile(r"\d{3,}")


def number_taken_for_rating(text: Optional[str], intent: Optional[Mapping[str, Any]]) -> bool:
    """True when the classifier read a message with a long number in it as a rating.

    Ratings are written "我给5分", "五星好评", "I'd rate it 4"; the classifier learnt that digits
    go with `csat_rate`, so "qzx 13812345678" (a phone number in words it cannot place) came out
    as a rating at 0.56. Such a message is not understood, and saying so (nlu_fallback) puts it in
    the trainers' review inbox instead of recording a satisfaction score nobody gave."""
    if not intent or intent.get(INTENT_NAME_KEY) != RATING_INTENT:
        return False
    text = text or ""
    return not text.startswith("/") and bool(_LONG_NUMBER.search(text))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RatingGuard(GraphComponent):
    """A `csat_rate` read from a message with a long number in it becomes `nlu_fallback`."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "RatingGuard":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not number_taken_for_rating(message.get(TEXT), message.get(INTENT)):
                continue
            fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 0.0}
            message.set(INTENT, fallback, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [dict(fallback)] + list(message.get(INTENT_RANKING_KEY) or []),
                        add_to_output=True)
        return messages
