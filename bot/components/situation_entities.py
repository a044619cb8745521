"""Rasa component: the situation entities (bot/situation/) in every parse result."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from core.paths import ROOT
from bot.components.lexicon_files import folder_digest
from bot.situation.extract import extract
from bot.situation.names import NameLexicon, load_names

NAMES_FILE = "situation_names.json"


def _lexicon_dir(config: Dict[Text, Any]) -> Path:
    path = Path(config.get("lexicon_path") or SituationEntityExtractor.get_default_config()["lexicon_path"])
    return path if path.is_absolute() else ROOT / path


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class SituationEntityExtractor(GraphComponent):
    """Adds contribution_years, age, birth_year, gender, job_end, city, province and benefit
    entities (docs/entities.md), each with start, end and the `text` it came from.

    The place and benefit names are read when the model is trained and stored in it, so a model
    always extracts with the names it was trained with. Put it after the normaliser: offsets are
    into the normalised text, which is the parse result's `text`.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"lexicon_path": "data/lexicons/situation"}

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        """The lists' contents: without this, Rasa's training cache would restore the component
        with the names of an earlier training after a trainer edits a list."""
        return folder_digest(_lexicon_dir(config))

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 names: Optional[NameLexicon] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage, self._resource = model_storage, resource
        self._names = names

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SituationEntityExtractor":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "SituationEntityExtractor":
        with model_storage.read_from(resource) as directory:
            names = NameLexicon.from_dict(json.loads((directory / NAMES_FILE).read_text(encoding="utf-8")))
        return cls(config, model_storage, resource, names)

    def train(self, training_data: TrainingData) -> Resource:
        self._names = load_names(_lexicon_dir(self._config))
        with self._storage.write_to(self._resource) as directory:
            (directory / NAMES_FILE).write_text(json.dumps(self._names.to_dict(), ensure_ascii=False),
                                                encoding="utf-8")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # the examples' own annotations stay as the trainers wrote them

    def process(self, messages: List[Message]) -> List[Message]:
        if self._names is None:
            raise RuntimeError("SituationEntityExtractor used before it was trained or loaded")
        name = self.__class__.__name__
        for message in messages:
            facts = extract(message.get(TEXT) or "", self._names)
            if facts:
                entities = list(message.get(ENTITIES) or []) + [fact.as_entity(name) for fact in facts]
                message.set(ENTITIES, entities, add_to_output=True)
        return messages
