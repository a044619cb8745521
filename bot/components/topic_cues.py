"""Rasa component: a sentence feature for every topic a message names (bot/topic_lexicon.py)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.lexicon_files import folder_digest
from core.paths import ROOT
from bot.topic_lexicon import TopicCues, load_topic_cues

CUES_FILE = "topic_cues.json"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class TopicCueFeaturizer(GraphComponent):
    """Adds one sparse sentence feature per topic of `data/lexicons/topics`, `weight` when the
    message names it, for the intent classifier to weigh beside the word counts.

    The cues are read when the model is trained and stored in it, so a model always computes the
    features it was trained with. Put it after the normaliser (it matches the normalised text).
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # weight 3: a benefit's name must count against the hundreds of word and character
        # counts of a long letter (docs/nlu-pipeline.md has the figures that chose it).
        return {"lexicon_path": "data/lexicons/topics", "weight": 3.0}

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        """The cue files' contents: without this, Rasa's training cache would restore the
        component with the cues of an earlier training after a trainer edits a cue file."""
        return folder_digest(Path({**cls.get_default_config(), **config}["lexicon_path"]))

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 cues: Optional[TopicCues] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage, self._resource = model_storage, resource
        self._cues = cues
        self._name = "TopicCueFeaturizer"

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "TopicCueFeaturizer":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "TopicCueFeaturizer":
        with model_storage.read_from(resource) as directory:
            cues = TopicCues.from_dict(json.loads((directory / CUES_FILE).read_text(encoding="utf-8")))
        return cls(config, model_storage, resource, cues)

    def train(self, training_data: TrainingData) -> Resource:
        path = Path(self._config["lexicon_path"])
        self._cues = load_topic_cues(path if path.is_absolute() else ROOT / path)
        with self._storage.write_to(self._resource) as directory:
            (directory / CUES_FILE).write_text(json.dumps(self._cues.to_dict(), ensure_ascii=False),
                                               encoding="utf-8")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Examples without text (responses, actions) get no features, as the count vectors do.
        self._featurize([example for example in training_data.training_examples if example.get(TEXT)])
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        # Every claimant message gets the features, an empty one too (all zeros): the classifier
        # needs as many features as it was trained with.
        self._featurize(messages)
        return messages

    def _featurize(self, messages: List[Message]) -> None:
        if self._cues is None:
            raise RuntimeError("TopicCueFeaturizer used before it was trained or loaded")
        weight = float(self._config["weight"])
        for message in messages:
            text = message.get(TEXT) or ""
            row = [weight * value for value in self._cues.vector(text)]
            matrix = scipy.sparse.coo_matrix([row])
            message.add_features(Features(matrix, FEATURE_TYPE_SENTENCE, TEXT, self._name))
