"""The brief stored with a ticket (pure): made once from the tracker when the ticket is made (by
the handoff action, actions/handoff.py), then brought up to date with each later message of the
conversation as the desk's stream worker reads it from the event stream (handoff/workers.py). The
desk shows claims, brief views and suggestions from it and never reads the tracker for them; a
reveal alone reads the tracker, because the unmasked words are kept only there.

Stored as the ticket's `brief`: `Brief.as_dict()` (handoff/brief.py) plus `conversation`, the
conversation as far as the brief and its summary need it, every identifier masked: its id, channel,
slots, active form, and its user, bot, action and slot events (text, time, intent, entities,
signals, language; a bot message's agent). `as_tracker(brief)` gives that back shaped like a
tracker, for `build_brief` and `assist.summarise`.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from core.privacy.redaction import mask
from handoff.brief import build_brief

KEY = "conversation"
#: The tracker events the brief and its summary read.
KINDS = ("user", "bot", "action", "slot")
#: An event already among the last this many is not added again (the stream read again).
RECENT = 200


def make(tracker: Mapping[str, Any], *, waiting_since: float, reason: Optional[str] = None,
         priority: Optional[str] = None) -> Dict[str, Any]:
    """The brief to store with a new ticket, from the conversation's tracker."""
    loop = tracker.get("active_loop") if isinstance(tracker.get("active_loop"), Mapping) else {}
    slots = tracker.get("slots") if isinstance(tracker.get("slots"), Mapping) else {}
    conversation = {
        "sender_id": tracker.get("sender_id"), "latest_input_channel": tracker.get("latest_input_channel"),
        "active_loop": {"name": loop.get("name")} if loop.get("name") else {},
        "slots": {name: _masked(value) for name, value in slots.items() if value is not None},
        "events": [kept for kept in map(_kept, tracker.get("events") or []) if kept is not None],
    }
    return _with_brief(conversation, waiting_since=waiting_since, reason=reason, priority=priority)


def as_tracker(brief: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    """The stored conversation shaped like a tracker; None for a brief stored without one."""
    conversation = brief.get(KEY)
    return conversation if isinstance(conversation, Mapping) and conversation.get("sender_id") else None


def with_event(brief: Mapping[str, Any], event: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The brief with one more event of its conversation (from the event stream), or None when
    there is nothing to add: an event the brief does not read, one it already has, or a brief
    stored without its conversation."""
    conversation, kept = as_tracker(brief), _kept(event)
    if conversation is None or kept is None:
        return None
    events = list(conversation.get("events") or [])
    if kept in events[-RECENT:]:
        return None
    slots = dict(conversation.get("slots") or {})
    if kept["event"] == "slot":
        slots[kept["name"]] = kept.get("value")
    return _with_brief({**conversation, "events": events + [kept], "slots": slots},
                       waiting_since=float(brief.get("waiting_since") or 0), reason=brief.get("reason"),
                       priority=brief.get("priority"))


def shown(brief: Mapping[str, Any]) -> Dict[str, Any]:
    """The brief as a console is sent it: without the stored conversation."""
    return {name: value for name, value in brief.items() if name != KEY}


def _with_brief(conversation: Dict[str, Any], **values: Any) -> Dict[str, Any]:
    return {**build_brief(conversation, **values).as_dict(), KEY: conversation}


def _kept(event: Any) -> Optional[Dict[str, Any]]:
    """What the brief keeps of one tracker event (masked), or None for an event it does not read."""
    if not isinstance(event, Mapping) or event.get("event") not in KINDS:
        return None
    kind, at = event["event"], event.get("timestamp")
    if kind == "action":
        return {"event": kind, "timestamp": at, "name": event.get("name")}
    if kind == "slot":
        return {"event": kind, "timestamp": at, "name": event.get("name"), "value": _masked(event.get("value"))}
    kept: Dict[str, Any] = {"event": kind, "timestamp": at, "text": mask(str(event.get("text") or ""))}
    if kind == "bot":
        metadata = event.get("metadata") if isinstance(event.get("metadata"), Mapping) else {}
        kept["metadata"] = {name: metadata[name] for name in ("agent_id", "utter_action") if metadata.get(name)}
        return kept
    parse = event.get("parse_data") if isinstance(event.get("parse_data"), Mapping) else {}
    kept["parse_data"] = {name: _masked(parse[name]) for name in ("intent", "entities", "signals", "language")
                          if name in parse}
    return kept


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, Mapping):
        return {key: _masked(v) for key, v in value.items()}
    return value
