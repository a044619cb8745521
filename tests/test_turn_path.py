"""The work Rasa repeats per turn that bot/turn_path.py does once: same answers, same errors."""
from __future__ import annotations

import asyncio

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ActionSetLanguage
from bot import turn_path

RASA_VALIDATE = RemoteAction._validate_action_result
RASA_RESOLVE = Event.resolve_by_type

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet]
slots:
  language:
    type: categorical
    values: [zh, en]
    influence_conversation: false
    mappings:
      - type: custom
        action: action_set_language
actions: [action_set_language]
""")


def tracker_after(text: str, detection: dict, language: str = None) -> DialogueStateTracker:
    events = [ActionExecuted("action_listen")]
    if language:
        events.append(SlotSet("language", language))
    events.append(UserUttered(text, {"name": "greet", "confidence": 1.0}, [],
                              {"text": text, "intent": {"name": "greet", "confidence": 1.0}, "entities": [],
                               "language": detection}))
    return DialogueStateTracker.from_events("someone", events, DOMAIN.slots)


@pytest.mark.parametrize("detection, current", [
    ({"code": "en", "explicit": False, "weak": False}, None),
    ({"code": "en", "explicit": False, "weak": False}, "en"),
    ({"code": "zh", "explicit": False, "weak": True}, "en"),
    ({"code": "zh", "explicit": True, "weak": False}, "en"),
    ({"code": None, "explicit": False, "weak": False}, "zh"),
    ({}, None),
])
def test_the_language_slot_is_set_in_rasa_as_the_action_server_would(detection, current):
    tracker = tracker_after("hello", detection, current)
    state = tracker.current_state(EventVerbosity.ALL)
    remote = asyncio.run(ActionSetLanguage().run(CollectingDispatcher(), Tracker.from_dict(state), {}))
    local = turn_path.language_events(tracker)
    assert [(event.key, event.value) for event in local] == [(event["name"], event["value"]) for event in remote]


def test_extracting_slots_sets_the_language_without_an_action_server():
    turn_path.install()
    tracker = tracker_after("How do I claim?", {"code": "en", "explicit": False, "weak": False})
    # No action endpoint: a remote call could only fail, and would set nothing.
    events = asyncio.run(ActionExtractSlots(None).run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}), tracker, DOMAIN))
    assert SlotSet("language", "en") in events


def test_a_valid_action_server_answer_passes():
    answer = {"events": [{"event": "slot", "name": "language", "value": "en", "timestamp": None}],
              "responses": [{"text": "hi"}]}
    assert turn_path.validate_action_result(None, answer) is True
    assert RASA_VALIDATE(RemoteAction("x", None), answer) is True


@pytest.mark.parametrize("answer", [
    {"events": [{"event": "slot", "name": 3}]},
    {"events": "none"},
    {"responses": [1]},
    {"events": [{"no_event": True}]},
])
def test_an_invalid_answer_raises_rasa_s_own_error(answer):
    with pytest.raises(ValidationError) as ours:
        turn_path.validate_action_result(None, answer)
    with pytest.raises(ValidationError) as rasa:
        RASA_VALIDATE(RemoteAction("x", None), answer)
    assert ours.value.message == rasa.value.message


def test_the_schema_is_checked_once(monkeypatch):
    from jsonschema.validators import validator_for

    turn_path._response_validator.cache_clear()
    cls = validator_for(RemoteAction.action_response_format_spec())
    checked = []
    original = cls.check_schema
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, s: checked.append(1) or original(s)))
    for _ in range(3):
        turn_path.validate_action_result(None, {"events": []})
    assert len(checked) == 1


def test_event_classes_are_found_as_rasa_finds_them():
    from rasa.shared.utils.common import all_subclasses

    names = {cls.type_name for cls in all_subclasses(Event)}
    assert len(names) > 20
    for name in names:
        assert turn_path.resolve_event_type(name) is RASA_RESOLVE(name)
    assert turn_path.resolve_event_type("topic") is None
    assert turn_path.resolve_event_type("no_such_event", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="no_such_event"):
        turn_path.resolve_event_type("no_such_event")


def test_an_event_class_imported_later_is_found():
    turn_path.resolve_event_type("slot")  # the dictionary is built

    class LateEvent(SlotSet):
        type_name = "renben_test_late_event"

    assert turn_path.resolve_event_type("renben_test_late_event") is LateEvent
