"""The answer a message already got, read from the tracker: for a message taken over from a Rasa
process that stopped after the bot's turn was saved but before the answer went out (inbox.py).

Running such a message again would put it in the tracker twice and answer it twice; instead the
living process sends what the tracker holds. The user event carries the message's dedupe key in
its metadata (`wechat_key`, channel.py). Pure: events in, bot messages out.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

#: The user event's metadata field holding the message's dedupe key.
KEY_FIELD = "wechat_key"


def earlier_answer(events: Sequence[Mapping[str, Any]], key: str) -> Optional[List[Dict[str, Any]]]:
    """The bot messages (CollectingOutputChannel form, for render()) that answered the user event
    with this dedupe key, or None when no such event was saved (the turn must run)."""
    answer: Optional[List[Dict[str, Any]]] = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if answer is not None:
                break  # the next message: the answer is complete
            if (event.get("metadata") or {}).get(KEY_FIELD) == key:
                answer = []
        elif kind == "bot" and answer is not None:
            data = event.get("data") or {}
            message: Dict[str, Any] = {"text": event.get("text")}
            message.update({name: value for name, value in data.items() if value})
            answer.append(message)
    return answer
