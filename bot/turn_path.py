"""Work Rasa 3.6 repeats on every turn that Renben does once (issue 21; figures in docs/performance.md).

`install()` is called by bot/rasa_server.py before Rasa starts; each change keeps what Rasa
answers and stores exactly as it was:

- **The action server's answer is checked against a schema compiled once.** Rasa checks every
  answer with `jsonschema.validate`, which first checks the schema itself against the JSON Schema
  meta-schema: about two thirds of the CPU of a turn with a custom action. Here the validator is built
  (and the schema checked) on first use; answers are checked as before, and an invalid one raises
  the same `ValidationError` with the same message.
- **The `language` slot is set in the Rasa process.** Its custom mapping ran `action_set_language`
  on the action server on every message: a round trip carrying the whole tracker and domain to
  apply `bot.langdetect.choose_language` to the NLU result. `LOCAL_SLOT_ACTIONS` runs the same
  function here (`actions/language.py` keeps the action, for an action server called otherwise).
- **An event's class is found by a dictionary.** Rasa finds the class of every event it reads
  (each event of the tracker loaded every turn, each event an action returns) by walking all
  subclasses of `Event` and asking each `inspect.isabstract`. Here the walk is done once; a name
  not found walks again (a class imported since), then behaves as Rasa does.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Dict, List, Optional

from bot.langdetect import Detection, choose_language

_installed = False


def language_events(tracker: Any) -> List[Any]:
    """`action_set_language`'s events for a Rasa tracker: the `language` slot, only when it changes."""
    from rasa.shared.core.events import SlotSet

    parse_data = getattr(tracker.latest_message, "parse_data", None) or {}
    found = parse_data.get("language") or {}
    current = tracker.get_slot("language")
    chosen = choose_language(Detection(found.get("code"), bool(found.get("explicit")), bool(found.get("weak"))),
                             current)
    return [] if chosen == current else [SlotSet("language", chosen)]


#: Custom slot-mapping actions computed in the Rasa process: action name -> events for a tracker.
LOCAL_SLOT_ACTIONS: Dict[str, Callable[[Any], List[Any]]] = {"action_set_language": language_events}


@functools.lru_cache(maxsize=1)
def _response_validator() -> Any:
    """Rasa's schema for an action server's answer, checked once, as a validator."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with the validator built once (same errors)."""
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error: Optional[ValidationError] = best_match(_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


_event_classes: Dict[str, type] = {}


def _walk_event_classes() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    found: Dict[str, type] = {}
    for cls in all_subclasses(Event):  # Rasa's order: the first class of a name wins, as in Rasa
        found.setdefault(cls.type_name, cls)
    _event_classes.clear()
    _event_classes.update(found)


def resolve_event_type(type_name: str, default: Optional[type] = None) -> Optional[type]:
    """Event.resolve_by_type, from the dictionary of event classes."""
    cls = _event_classes.get(type_name)
    if cls is None:
        _walk_event_classes()
        cls = _event_classes.get(type_name)
    if cls is not None:
        return cls
    if type_name == "topic":
        return None  # Rasa's backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def install() -> None:
    """Applies the changes to Rasa's classes (once per process)."""
    global _installed
    if _installed:
        return
    from rasa.core.actions.action import ActionExtractSlots, RemoteAction
    from rasa.shared.core.events import Event

    Event.resolve_by_type = staticmethod(resolve_event_type)
    RemoteAction._validate_action_result = validate_action_result
    remote = ActionExtractSlots._run_custom_action

    async def run_custom_action(self: Any, custom_action: str, output_channel: Any, nlg: Any, tracker: Any,
                                domain: Any) -> List[Any]:
        local = LOCAL_SLOT_ACTIONS.get(custom_action)
        if local is not None:
            return local(tracker)
        return await remote(self, custom_action, output_channel, nlg, tracker, domain)

    ActionExtractSlots._run_custom_action = run_custom_action
    _installed = True
