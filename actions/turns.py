"""Facts about the conversation so far, read from the tracker: pure functions."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping

from actions.phrasebook import Phrasebook

FALLBACK_INTENT = "nlu_fallback"


def notices_for(latest_message: Mapping[str, Any], phrases: Phrasebook) -> List[str]:
    """What the claimant should be told about their message itself (it was cut short)."""
    facts = latest_message.get("input") or {}
    if facts.get("truncated"):
        return [phrases.say("utter_truncated", max_chars=facts.get("max_chars"))]
    return []


def failed_turns_in_a_row(events: Iterable[Dict[str, Any]]) -> int:
    """How many of the latest user messages in a row were not understood."""
    count = 0
    for event in reversed(list(events)):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != FALLBACK_INTENT:
            break
        count += 1
    return count
