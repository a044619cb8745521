"""Rasa component: a crisis message is taken for an intent only when the intent is clear."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.signal_detector import SIGNALS_KEY


def weakly_read_crisis(signals: Optional[Mapping[str, Any]], intent: Optional[Mapping[str, Any]],
                       minimum: float) -> bool:
    """True when the signals say crisis and the intent is a guess below `minimum` confidence.

    "I want to end my life" names no topic; the classifier still spreads it over the intents it
    knows ("stop", "request_human", "data_rights") at about the fallback threshold, and which one
    wins changes with every new training example. The crisis response runs whatever the intent
    (bot/policies/signal_policy.py), so a guessed intent only misleads: it would put a topic in the
    agent's brief and in the trainers' figures."""
    level = ((signals or {}).get("distress") or {}).get("level")
    if level != "crisis" or not intent:
        return False
    if intent.get(INTENT_NAME_KEY) == DEFAULT_NLU_FALLBACK_INTENT_NAME:
        return False
    return float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0) < minimum


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CrisisIntentGuard(GraphComponent):
    """A crisis message whose intent is below `min_confidence` becomes `nlu_fallback`.

    Put it after the FallbackClassifier (which uses 0.3 for every message): for a crisis message a
    topic must be clearer than that to count. A crisis message with a clear topic ("失业金停了，我
    不想活了") keeps it, so the agent still sees what it was about.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"min_confidence": 0.5}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._minimum = float({**self.get_default_config(), **config}["min_confidence"])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CrisisIntentGuard":
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not weakly_read_crisis(message.get(SIGNALS_KEY), message.get(INTENT), self._minimum):
                continue
            fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                        PREDICTED_CONFIDENCE_KEY: self._minimum}
            ranking = [dict(fallback)] + list(message.get(INTENT_RANKING_KEY) or [])
            message.set(INTENT, fallback, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
