"""Rasa component: the language of each message, written into the parse result."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.langdetect import detect_language

#: Parse-result key: {"code": "zh"|"en"|None, "explicit": bool, "weak": bool}
LANGUAGE_KEY = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class LanguageDetector(GraphComponent):
    """Adds `language` to every parse result; `action_set_language` keeps it in the slot."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LanguageDetector":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            found = detect_language(message.get(TEXT) or "")
            message.set(
                LANGUAGE_KEY,
                {"code": found.code, "explicit": found.explicit, "weak": found.weak},
                add_to_output=True,
            )
        return messages
