"""QuestionFocus: a long message's question weighs over its story, the story's topics are kept
as secondary topics; through a real (small) Rasa pipeline: splitter, tokenizer, count vectors,
logistic regression, question focus."""
from __future__ import annotations

from typing import List

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.normaliser import TextNormaliser
from bot.components.question_focus import QUESTION_FOCUS_KEY, SECONDARY_TOPICS_KEY, QuestionFocus, SentenceSplitter
from bot.components.tokenizer import MixedTokenizer
from bot.question_rerank import blend, secondary_topics
from core.settings import ROOT

DICTIONARY = "data/lexicons/jieba_words.txt"

# A story about a pension (many words) and a short question about unemployment benefit: read
# whole, the story wins.
LETTER_EN = ("My father retired last year and his pension comes every month into his bank account. "
             "I help him and my mother with the pension forms at home, and the house is quiet now. "
             "My own work at the warehouse ended in June when they closed the site. "
             "Now I lost my job, how do I claim unemployment benefit?")
LETTER_ZH = ("我爸去年退休了，养老金每个月按时发到卡上。我这两年一直在家照顾他和我妈，他退休的事情我也都跑熟了。"
             "我自己在厂里干了十几年，一直交着社保，从来没断过。现在我被公司辞退了，失业了怎么领失业金？")

EXAMPLES = {
    "ask_pension": ["how much pension will I get", "when is the pension paid", "retirement pension age",
                    "my pension is late", "pension forms for retirement", "退休了养老金怎么领", "养老金每个月发多少",
                    "养老保险退休", "城乡居民养老保险养老金", "我爸领养老金"],
    "ask_unemployment": ["how do I claim unemployment benefit", "I lost my job, can I get benefit",
                         "unemployment benefit claim", "jobless claim", "laid off, what support",
                         "怎么领失业金", "被辞退了能领失业金吗", "失业保险金申请", "失业了怎么办", "公司辞退领失业金"],
    "greet": ["hello", "hi there", "good morning", "你好", "您好"],
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """The components in config.yml's order (signals and cues left out), trained on EXAMPLES."""
    folder = tmp_path_factory.mktemp("storage")
    storage, context = LocalModelStorage(folder), ExecutionContext(GraphSchema({}), "test")
    data = TrainingData([Message({TEXT: text, INTENT: intent}) for intent, texts in EXAMPLES.items() for text in texts])
    normaliser = TextNormaliser.create({"max_chars": 2000}, storage, Resource("n"), context)
    # With the trainers' jieba words, as config.yml has it (jieba's dictionary is the process's:
    # loaded here, the result does not depend on which test loaded it first).
    tokenizer = MixedTokenizer.create({**MixedTokenizer.get_default_config(), "dictionary_path": ROOT / DICTIONARY},
                                      storage, Resource("t"), context)
    words = CountVectorsFeaturizer.create(CountVectorsFeaturizer.get_default_config(), storage, Resource("w"), context)
    classifier = LogisticRegressionClassifier.create(LogisticRegressionClassifier.get_default_config(),
                                                     storage, Resource("c"), context)
    tokenizer.process_training_data(data)
    words.train(data)
    words.process_training_data(data)
    classifier.train(data)
    splitter = SentenceSplitter.create({"min_chars": 200, "min_cjk_chars": 80}, storage, Resource("s"), context)
    focus = QuestionFocus.create({"question_weight": 0.4}, storage, Resource("f"), context)

    def parse(texts: List[str], *, with_focus: bool = True) -> List[Message]:
        messages = normaliser.process([Message({TEXT: text}) for text in texts])
        if with_focus:
            messages = splitter.process(messages)
        messages = classifier.process(words.process(tokenizer.process(messages)))
        return focus.process(messages) if with_focus else messages

    return parse


def test_read_whole_the_story_wins_over_the_question(pipeline):
    # What the pipeline did before QuestionFocus: the premise of the tests below.
    for letter in (LETTER_EN, LETTER_ZH):
        (whole,) = pipeline([letter], with_focus=False)
        assert whole.get(INTENT)["name"] == "ask_pension"


@pytest.mark.parametrize("letter", [LETTER_EN, LETTER_ZH], ids=["en", "zh"])
def test_the_question_decides_and_the_story_is_a_secondary_topic(pipeline, letter):
    (message,) = pipeline([letter])
    assert message.get(INTENT)["name"] == "ask_unemployment"
    assert [t["intent"] for t in message.get(SECONDARY_TOPICS_KEY)] == ["ask_pension"]
    topic = message.get(SECONDARY_TOPICS_KEY)[0]
    assert "养老金" in letter[topic["start"]:topic["end"]] or "pension" in letter[topic["start"]:topic["end"]]
    focus = message.get(QUESTION_FOCUS_KEY)
    assert focus["whole"]["name"] == "ask_pension" and focus["question"]["name"] == "ask_unemployment"
    (start, end), = focus["asking"]
    assert "失业金" in letter[start:end] or "unemployment" in letter[start:end]
    # The parse result carries them (Rasa puts only output properties into it).
    assert {SECONDARY_TOPICS_KEY, QUESTION_FOCUS_KEY} <= set(message.as_dict(only_output_properties=True))


def test_the_sentences_leave_the_batch_and_short_messages_pass_untouched(pipeline):
    messages = pipeline(["hello", LETTER_EN, "how do I claim unemployment benefit"])
    assert [m.get(TEXT) for m in messages] == ["hello", LETTER_EN, "how do I claim unemployment benefit"]
    assert messages[0].get(INTENT)["name"] == "greet" and messages[0].get(SECONDARY_TOPICS_KEY) == []
    assert messages[2].get(QUESTION_FOCUS_KEY) is None
    (alone,) = pipeline(["how do I claim unemployment benefit"], with_focus=False)
    assert messages[2].get(INTENT) == alone.get(INTENT)


def test_blend_weighs_the_question_and_keeps_a_distribution():
    whole = [{"name": "ask_pension", "confidence": 0.6}, {"name": "ask_unemployment", "confidence": 0.4}]
    question = [{"name": "ask_unemployment", "confidence": 0.9}, {"name": "greet", "confidence": 0.1}]
    ranking = blend(whole, question, 0.4)
    assert [r["name"] for r in ranking] == ["ask_unemployment", "ask_pension", "greet"]
    assert ranking[0]["confidence"] == pytest.approx(0.9, abs=0.05)
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
    assert blend(whole, question, 0.0)[0]["name"] == "ask_pension"
    assert blend(whole, question, 1.0)[0]["name"] == "ask_unemployment"


def test_a_sure_question_read_without_its_story_does_not_overturn_a_sure_whole():
    # "Which one should I apply for, can I get both?" read alone can look like any topic while the
    # letter read whole is sure: an intent must be likely in both readings to win.
    whole = [{"name": "ask_disability_care", "confidence": 0.97}, {"name": "ask_pension", "confidence": 0.02}]
    question = [{"name": "ask_pension", "confidence": 0.99}, {"name": "ask_disability_care", "confidence": 0.01}]
    ranking = blend(whole, question, 0.4)
    assert ranking[0]["name"] == "ask_disability_care"
    # Where the whole is unsure, the question decides.
    unsure = [{"name": "ask_disability_care", "confidence": 0.45}, {"name": "ask_pension", "confidence": 0.40}]
    assert blend(unsure, question, 0.4)[0]["name"] == "ask_pension"


def test_secondary_topics_are_sure_story_topics_other_than_the_one_asked():
    pieces = [((0, 10), {"name": "ask_pension", "confidence": 0.8}),
              ((11, 20), {"name": "ask_pension", "confidence": 0.9}),
              ((21, 30), {"name": "ask_unemployment", "confidence": 0.95}),  # the one asked
              ((31, 40), {"name": "greet", "confidence": 0.99}),  # not a topic
              ((41, 50), {"name": "ask_medical", "confidence": 0.4}),  # not sure enough
              ((51, 60), {"name": "ask_work_injury", "confidence": 0.6})]
    found = secondary_topics(pieces, asked="ask_unemployment", minimum=0.5, most=3)
    assert found == [{"intent": "ask_pension", "confidence": 0.9, "start": 11, "end": 20},
                     {"intent": "ask_work_injury", "confidence": 0.6, "start": 51, "end": 60}]
    assert len(secondary_topics(pieces, asked=None, minimum=0.5, most=1)) == 1


def test_config_puts_the_splitter_before_the_tokenizer_and_the_focus_right_after_the_classifier():
    # Between the two, the extra messages must meet only the tokenizer, featurizers and classifier;
    # after QuestionFocus nothing sees them.
    import yaml

    names = [step["name"].rsplit(".", 1)[-1] for step in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]]
    splitter, focus = names.index("SentenceSplitter"), names.index("QuestionFocus")
    assert names.index("TextNormaliser") < splitter < names.index("MixedTokenizer")
    assert names[focus - 1] == "LogisticRegressionClassifier"
    assert all(name not in names[splitter + 1:focus] for name in ("SignalDetectorComponent", "LanguageDetector"))
