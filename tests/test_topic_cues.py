"""Topic cues: benefit names by intent, matched in claimants' text and fed to the classifier."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from tooling import validation
from bot.components.topic_cues import TopicCueFeaturizer
from core.settings import ROOT
from bot.topic_lexicon import TopicCueError, TopicCues, load_topic_cues

CUES = TopicCues([
    ("industrial injuries disablement benefit", "ask_work_injury"),
    ("disablement benefit", "ask_disability_care"),
    ("pip", "ask_disability_care"),
    ("turned down", "complaint_appeal"),
    ("workers' comp", "ask_work_injury"),
    ("长护险", "ask_disability_care"),
    ("低保", "ask_assistance"),
])


def test_the_longer_of_two_overlapping_names_wins():
    found = CUES.matches("My Industrial Injuries Disablement Benefit was reviewed after the accident")
    assert found == {"ask_work_injury": ["industrial injuries disablement benefit"]}


def test_latin_names_match_whole_words_only_and_ignore_case():
    assert CUES.matches("My PIP claim was TURNED   DOWN") == {"ask_disability_care": ["pip"],
                                                            "complaint_appeal": ["turned down"]}
    assert CUES.matches("the pipeline is blocked, a pipper, pips") == {}
    assert CUES.matches("workers' comp stopped") == {"ask_work_injury": ["workers' comp"]}


def test_chinese_names_match_inside_running_text():
    assert CUES.matches("我妈瘫痪在床能办长护险吗还是低保") == {"ask_disability_care": ["长护险"],
                                                       "ask_assistance": ["低保"]}


def test_the_vector_has_one_place_per_topic_in_a_fixed_order():
    assert CUES.topics == ("ask_assistance", "ask_disability_care", "ask_work_injury", "complaint_appeal")
    assert CUES.vector("pip turned down") == [0.0, 1.0, 0.0, 1.0]
    assert CUES.vector("nothing named here") == [0.0, 0.0, 0.0, 0.0]
    assert TopicCues.from_dict(CUES.to_dict()).vector("低保 and pip") == CUES.vector("低保 and pip")


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_phrase_under_two_topics_is_refused_with_its_file_and_line(tmp_path):
    folder = _write(tmp_path, "en.yml", "language: en\ntopics:\n  ask_pension:\n    - state pension\n")
    _write(folder, "zh.yml", "language: zh\ntopics:\n  ask_medical:\n    - 医保\n    - State  Pension\n")
    with pytest.raises(TopicCueError) as caught:
        load_topic_cues(folder)
    assert caught.value.path.name == "zh.yml" and caught.value.line == 5
    assert "already a cue for ask_pension" in caught.value.problem


@pytest.mark.parametrize("text, line, words", [
    ("language: en\ntopics:\n  ask_pension:\n    - [state pension\n", 5, "not valid YAML"),
    ("language: en\ntopics:\n  Ask Pension:\n    - state pension\n", 3, "not an intent name"),
    ("language: en\ntopics:\n  ask_pension: state pension\n", 3, "needs a list"),
    ("language: en\ntopics:\n  ask_pension:\n    - ''\n", 4, "empty"),
    ("language: zh\ntopics:\n  ask_pension:\n    - pension\n", 1, "does not match the file name"),
    ("- just a list\n", 1, "`topics:` mapping"),
])
def test_broken_files_name_their_line(tmp_path, text, line, words):
    with pytest.raises(TopicCueError) as caught:
        load_topic_cues(_write(tmp_path, "en.yml", text))
    assert caught.value.line == line and words in caught.value.problem


def test_make_validate_names_a_topic_that_is_no_intent(tmp_path):
    _write(tmp_path / validation.TOPIC_CUE_DIR, "en.yml", "language: en\ntopics:\n  ask_pensions:\n    - state pension\n")
    found = validation.topic_cue_problems(tmp_path, ["ask_pension", "greet"])
    assert len(found) == 1 and "'ask_pensions'" in found[0].what and found[0].path.name == "en.yml"


def test_the_repository_cues_load_and_name_only_topic_intents():
    cues = load_topic_cues(ROOT / validation.TOPIC_CUE_DIR)
    assert set(cues.topics) >= {"ask_pension", "ask_work_injury", "complaint_appeal", "ask_assistance"}
    assert validation.topic_cue_problems(ROOT, _domain_intents()) == []


def _domain_intents():
    from tooling.trainers import project

    docs, _ = project.read_docs(ROOT, project.DOMAIN_DIR)
    return project.read_domain(docs).intents


def test_the_component_stores_its_cues_in_the_model_and_adds_a_weighted_sentence_feature(tmp_path):
    folder = _write(tmp_path / "cues", "en.yml", "language: en\ntopics:\n  ask_disability_care:\n    - pip\n"
                                               "  complaint_appeal:\n    - turned down\n")
    (tmp_path / "storage").mkdir()
    storage, resource = LocalModelStorage(tmp_path / "storage"), Resource("topic_cues")
    context = ExecutionContext(GraphSchema({}), "test")
    config = {"lexicon_path": str(folder), "weight": 2.5}
    trained = TopicCueFeaturizer.create(config, storage, resource, context)
    trained.train(TrainingData())
    (folder / "en.yml").unlink()  # the loaded model must not need the files any more
    loaded = TopicCueFeaturizer.load(config, storage, resource, context)

    message = Message({TEXT: "my PIP was turned down"})
    loaded.process([message])
    _, sentence = message.get_sparse_features(TEXT)
    assert sentence.features.toarray().tolist() == [[2.5, 2.5]]

    other = Message({TEXT: "when is my pension paid"})
    loaded.process_training_data(TrainingData([other]))
    assert other.get_sparse_features(TEXT)[1].features.toarray().tolist() == [[0.0, 0.0]]

    # An empty message gets the same number of features (zeros), or the classifier would refuse
    # it; a training example without text (a response) gets none.
    empty = Message({TEXT: ""})
    loaded.process([empty])
    assert empty.get_sparse_features(TEXT)[1].features.toarray().tolist() == [[0.0, 0.0]]
    textless = Message({"action_name": "utter_greet"})
    loaded.process_training_data(TrainingData([textless]))
    assert textless.get_sparse_features(TEXT) == (None, None)


def test_editing_a_cue_file_changes_the_components_training_cache_key(tmp_path):
    # Rasa's training cache keys a trainable component by its code, config and inputs; the cue
    # files are none of these, so without the addon a retrained model would keep the old cues.
    from rasa.engine.training.fingerprinting import calculate_fingerprint_key

    folder = _write(tmp_path / "cues", "en.yml", "language: en\ntopics:\n  ask_pension:\n    - state pension\n")
    config = {**TopicCueFeaturizer.get_default_config(), "lexicon_path": str(folder)}
    before = calculate_fingerprint_key(TopicCueFeaturizer, config, {})
    assert calculate_fingerprint_key(TopicCueFeaturizer, config, {}) == before  # stable while unchanged
    _write(tmp_path / "cues", "en.yml", "language: en\ntopics:\n  ask_pension:\n    - old-age pension\n")
    assert calculate_fingerprint_key(TopicCueFeaturizer, config, {}) != before
    _write(tmp_path / "cues", "zh.yml", "language: zh\ntopics:\n  ask_pension:\n    - 养老金\n")
    assert TopicCueFeaturizer.fingerprint_addon(config) != TopicCueFeaturizer.fingerprint_addon(
        {**config, "lexicon_path": str(tmp_path / "elsewhere")})
