"""Rasa component: the clean form of the claimant's text that the rest of NLU reads."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.textnorm import MAX_NLU_CHARS, normalise

#: Parse-result key: {"has_words": bool, "truncated": bool, "original_length": int, "max_chars": int}
INPUT_KEY = "input"
#: Message key (not in the parse result): offsets in the text where the claimant began a new line.
LINE_BREAKS_KEY = "line_breaks"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TextNormaliser(GraphComponent):
    """Drops control characters, folds full-width forms and Traditional characters, caps length.

    Put it first in the pipeline. The tracker keeps the claimant's original words; the parse
    result's `text` is the normalised form, and `input` says whether anything was cut or empty.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"max_chars": MAX_NLU_CHARS}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._max_chars = int(config["max_chars"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TextNormaliser":
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            text = example.get(TEXT)
            if not text:
                continue
            clean = normalise(text, max_chars=self._max_chars).text
            # Entity offsets in annotated examples must stay valid: only same-length rewrites.
            if len(clean) == len(text):
                example.set(TEXT, clean)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            result = normalise(message.get(TEXT), max_chars=self._max_chars)
            message.set(TEXT, result.text)
            message.set(LINE_BREAKS_KEY, list(result.breaks))
            message.set(
                INPUT_KEY,
                {
                    "has_words": result.has_words,
                    "truncated": result.truncated,
                    "original_length": result.original_length,
                    "max_chars": self._max_chars,
                },
                add_to_output=True,
            )
        return messages
