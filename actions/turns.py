"""Facts about the conversation so far, read from the tracker: pure functions."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional

from actions.phrasebook import Phrasebook

FALLBACK_INTENT = "nlu_fallback"
#: Metadata fields in which the channels give each claimant message its own id: the widget's
#: client id (bot/channels/web), the WeChat message's key (bot/channels/wechat/replay.py).
REQUEST_ID_FIELDS = ("client_message_id", "wechat_key")


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


def request_id(events: Iterable[Dict[str, Any]]) -> Optional[str]:
    """The channel's id of the latest claimant message, the same each time its turn runs (a turn
    not saved runs again: bot/turn_guard.py); None when its channel gives none (REST)."""
    for event in reversed(list(events)):
        if event.get("event") == "user":
            metadata = event.get("metadata") or {}
            for field in REQUEST_ID_FIELDS:
                if isinstance(metadata.get(field), str) and metadata[field]:
                    return metadata[field]
            return None
    return None
