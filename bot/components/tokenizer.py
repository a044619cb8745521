"""Rasa component: a tokenizer for Chinese, English and the two mixed in one message."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.segment import load_user_dictionary, segment


#: The one token of a message with no words at all (an empty message).
NO_WORDS = "__no_words__"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class MixedTokenizer(Tokenizer):
    """jieba for runs of Chinese characters, whole words for Latin letters and digits.

    Fixes RasaHQ/rasa#7910 (JiebaTokenizer keeps spaces as tokens and breaks on mixed text).
    English words are lower-cased so that "Pension" and "pension" are one feature.
    """

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        return None

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "dictionary_path": None,  # a jieba user dictionary kept by trainers
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "MixedTokenizer":
        load_user_dictionary(config.get("dictionary_path"))
        return cls(config)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute) or ""
        tokens = [Token(word, start, lemma=word.lower()) for word, start in segment(text)]
        tokens = self._apply_token_pattern(tokens)
        if not tokens:
            # Only emoji or punctuation: one token for the whole text (as Rasa's own
            # WhitespaceTokenizer does), so the featurizers give an all-zero vector
            # instead of none, which the classifier cannot take.
            tokens = [Token(text or NO_WORDS, 0, lemma=text or NO_WORDS)]
        return tokens
