"""Rasa component: distress and complexity `signals`, with evidence, in every parse result."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.signals.detector import SignalDetector, detector_for
from core.paths import ROOT

#: Parse-result key: {"distress": {...}, "complexity": {...}}; shape in docs/signals.md.
SIGNALS_KEY = "signals"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SignalDetectorComponent(GraphComponent):
    """Adds `signals` to every parse result (and so to the tracker's `parse_data`).

    The lexicons are read once, when the model loads: a broken lexicon file raises LexiconError
    (file, line, problem) and Rasa does not start. Put it after the normaliser, which has already
    folded Traditional characters and capped the length.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"lexicon_path": "data/lexicons/signals"}

    def __init__(self, detector: SignalDetector) -> None:
        self._detector = detector

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SignalDetectorComponent":
        path = Path(config.get("lexicon_path") or "data/lexicons/signals")
        if not path.is_absolute():
            path = ROOT / path
        return cls(detector_for(path))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            message.set(SIGNALS_KEY, self._detector.detect(message.get(TEXT) or ""), add_to_output=True)
        return messages
