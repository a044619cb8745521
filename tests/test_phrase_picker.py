"""One rule picks the claimant's words (core/phrasebook.py): the actions and the desk say the same."""
import pytest
import yaml

from actions.phrasebook import Phrasebook
from core import phrasebook
from handoff import phrases

RESPONSES = {
    "utter_x": [
        {"text": "默认 {name}"},
        {"text": "English {name}", "condition": [{"type": "slot", "name": "language", "value": "en"}]},
    ],
    "utter_only_en": [{"text": "en", "condition": [{"type": "slot", "name": "language", "value": "en"}]}],
}


def test_the_language_variation_else_the_default_and_missing_values_kept():
    assert phrasebook.variation(RESPONSES, "utter_x", "en")["text"] == "English {name}"
    assert phrasebook.variation(RESPONSES, "utter_x", "zh")["text"] == "默认 {name}"
    assert phrasebook.fill("Hello {name}, {other}", {"name": "Li"}) == "Hello Li, {other}"
    with pytest.raises(KeyError):
        phrasebook.variation(RESPONSES, "utter_missing", "zh")
    with pytest.raises(KeyError):
        phrasebook.variation(RESPONSES, "utter_only_en", "zh")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_desk_and_the_actions_say_every_handoff_response_alike(language):
    responses = yaml.safe_load(phrases.DOMAIN_FILE.read_text(encoding="utf-8"))["responses"]
    desk, actions = phrases.load(), Phrasebook(responses, language)
    for name in responses:
        assert desk.say(name, language, position=3) == actions.say(name, position=3), name
