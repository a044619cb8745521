"""Rasa components: the question in a long message weighs more than the story before it.

Two nodes around the featurizers and the intent classifier, so the sentences are classified by
the very classifier (and features) the whole message is, in the same batch:

- `SentenceSplitter` (before the tokenizer): a long message's sentences (bot/sentences.py) ride
  along as extra messages in the list the pipeline passes on: first the asking sentences joined
  (the question), then each story sentence.
- `QuestionFocus` (right after the intent classifier): takes them out again, blends the whole
  message's ranking with the question's (bot/question_rerank.py) and writes the story's other
  topics as `secondary_topics`, and what it did as `question_focus`, into the parse result.

Nothing else in the pipeline sees the extra messages: they exist between these two nodes only.
A message shorter than the threshold, or of one sentence, passes untouched.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.normaliser import LINE_BREAKS_KEY
from bot.question_rerank import blend, secondary_topics
from bot.sentences import Sentence, asking_part, asking_weights, split_sentences
from bot.textnorm import cjk_count

#: Parse-result keys. `secondary_topics`: [{"intent", "confidence", "start", "end"}], offsets
#: into the normalised text; `question_focus`: {"sentences", "asking": [[start, end], ...],
#: "whole": {"name", "confidence"}, "question": {"name", "confidence"}}.
SECONDARY_TOPICS_KEY = "secondary_topics"
QUESTION_FOCUS_KEY = "question_focus"
#: Message key, between the two nodes only: the parts of the message it follows.
_PART_KEY = "question_focus_part"
_SPLIT_KEY = "question_focus_split"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceSplitter(GraphComponent):
    """Appends a long message's question and story sentences to the batch, for `QuestionFocus`.

    Put it after the normaliser (it splits the normalised text at the line breaks the normaliser
    recorded) and the signal detector, before the tokenizer; `QuestionFocus` must follow the
    intent classifier. Long: `min_chars` characters, or `min_cjk_chars` Chinese characters."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # 80 Chinese characters say about what 200 English letters do: a story and a question.
        return {"min_chars": 200, "min_cjk_chars": 80, "max_story_pieces": 24}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = {**self.get_default_config(), **config}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SentenceSplitter":
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        batch: List[Message] = []
        for message in messages:
            batch.append(message)
            if message.get(_PART_KEY) is not None:
                continue
            text = message.get(TEXT) or ""
            if len(text) < self._config["min_chars"] and cjk_count(text) < self._config["min_cjk_chars"]:
                continue
            sentences = split_sentences(text, message.get(LINE_BREAKS_KEY) or ())
            if len(sentences) < 2:
                continue
            asking, story = asking_part(sentences, asking_weights([s.text for s in sentences]))
            if not story:
                continue
            pieces = _pieces([sentences[i] for i in story], int(self._config["max_story_pieces"]))
            message.set(_SPLIT_KEY, {"sentences": len(sentences),
                                     "asking": [[sentences[i].start, sentences[i].end] for i in asking]})
            batch.append(Message(data={TEXT: " ".join(sentences[i].text for i in asking), _PART_KEY: "question"}))
            batch.extend(Message(data={TEXT: piece.text, _PART_KEY: [piece.start, piece.end]}) for piece in pieces)
        return batch


def _pieces(sentences: List[Sentence], most: int) -> List[Sentence]:
    """The story sentences, neighbours joined two, three... at a time when there are more than
    `most`, so a 2,000-character letter costs a bounded number of classifications."""
    if len(sentences) <= most:
        return sentences
    size = -(-len(sentences) // most)
    groups = [sentences[i:i + size] for i in range(0, len(sentences), size)]
    return [Sentence(g[0].start, g[-1].end, " ".join(s.text for s in g)) for g in groups]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class QuestionFocus(GraphComponent):
    """Re-ranks a long message's intent with its question weighing `question_weight`; writes
    `secondary_topics` (story sentences' topics at `secondary_min_confidence` or more, at most
    `max_secondary`) and `question_focus`. Put it right after the intent classifier."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"question_weight": 0.4, "secondary_min_confidence": 0.5, "max_secondary": 3}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = {**self.get_default_config(), **config}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "QuestionFocus":
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        kept: List[Message] = []
        parts: Dict[int, List[Message]] = {}
        for message in messages:
            if message.get(_PART_KEY) is None:
                kept.append(message)
            elif kept:
                parts.setdefault(id(kept[-1]), []).append(message)
        for message in kept:
            split = message.get(_SPLIT_KEY)
            if split and parts.get(id(message)):
                self._focus(message, split, parts[id(message)])
            else:
                message.set(SECONDARY_TOPICS_KEY, [], add_to_output=True)
        return kept

    def _focus(self, message: Message, split: Dict[str, Any], parts: List[Message]) -> None:
        question = next((p for p in parts if p.get(_PART_KEY) == "question"), None)
        whole: Dict[str, Any] = message.get(INTENT) or {}
        if question is not None and question.get(INTENT_RANKING_KEY):
            ranking = blend(message.get(INTENT_RANKING_KEY) or [], question.get(INTENT_RANKING_KEY),
                            self._config["question_weight"])
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[:len(message.get(INTENT_RANKING_KEY) or ranking)],
                        add_to_output=True)
        asked = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        story = [(tuple(p.get(_PART_KEY)), p.get(INTENT)) for p in parts if p is not question]
        message.set(SECONDARY_TOPICS_KEY, secondary_topics(
            story, asked=asked, minimum=float(self._config["secondary_min_confidence"]),
            most=int(self._config["max_secondary"])), add_to_output=True)
        message.set(QUESTION_FOCUS_KEY, {**split, "whole": _brief(whole),
                                         "question": _brief(question.get(INTENT) if question else None)},
                    add_to_output=True)


def _brief(intent: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    if not intent:
        return None
    return {INTENT_NAME_KEY: intent.get(INTENT_NAME_KEY),
            PREDICTED_CONFIDENCE_KEY: round(float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0), 4)}
