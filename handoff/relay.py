"""What the desk makes of one conversation event from the Redis stream (pure).

The Rasa event broker (bot/event_broker.py) writes every tracker event; the desk cares about
the claimant's messages of conversations with an open ticket: relay them to the agent, raise
the ticket's priority on distress, cancel the wait on "never mind", or take a callback number.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from handoff.exceptions import InvalidRequest
from handoff.tickets import CallbackRequest, Priority

#: Intents that mean "stop waiting, I'll carry on with the bot".
STOP_INTENTS = frozenset({"stop"})
_DISTRESS_PRIORITY = {"crisis": Priority.CRISIS, "urgent": Priority.URGENT}
_PHONE_LIKE = re.compile(r"[+＋0-9０-９][0-9０-９\s\-()（）]{6,22}[0-9０-９]")
_WECHAT_WORD = re.compile(r"微信|wechat|weixin", re.IGNORECASE)
_WECHAT_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z][A-Za-z0-9_-]{5,19}(?![A-Za-z0-9_-])")


@dataclass(frozen=True)
class ClaimantMessage:
    conversation_id: str
    text: str
    at: Optional[float]
    intent: Optional[str]
    distress: str = "none"
    evidence: List[Dict[str, str]] = field(default_factory=list)
    signals: Dict[str, Any] = field(default_factory=dict)
    entities: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def raised_priority(self) -> Optional[Priority]:
        """The priority a distress signal in this message calls for, if any."""
        return _DISTRESS_PRIORITY.get(self.distress)

    @property
    def wants_to_stop(self) -> bool:
        return self.intent in STOP_INTENTS

    def as_dict(self) -> Dict[str, Any]:
        return {"conversation_id": self.conversation_id, "text": self.text, "at": self.at,
                "intent": self.intent, "distress": self.distress, "evidence": self.evidence}


def decode(fields: Mapping[str, str]) -> Optional[ClaimantMessage]:
    """The claimant's message in a stream entry, or None for any other event (or a bad entry)."""
    if fields.get("event") != "user":
        return None
    try:
        data = json.loads(fields.get("data") or "")
    except ValueError:
        return None
    if not isinstance(data, dict) or not data.get("sender_id"):
        return None
    parse = data.get("parse_data") if isinstance(data.get("parse_data"), dict) else {}
    intent = (parse.get("intent") or {}).get("name") if isinstance(parse.get("intent"), dict) else None
    signals = parse.get("signals") if isinstance(parse.get("signals"), dict) else {}
    distress = signals.get("distress") if isinstance(signals.get("distress"), dict) else {}
    evidence = [e for e in distress.get("evidence") or [] if isinstance(e, dict)]
    entities = [e for e in parse.get("entities") or [] if isinstance(e, dict)] \
        if isinstance(parse.get("entities"), list) else []
    at = data.get("timestamp")
    return ClaimantMessage(str(data["sender_id"]), str(data.get("text") or ""),
                           float(at) if isinstance(at, (int, float)) else None, intent,
                           str(distress.get("level") or "none"), evidence, signals, entities)


def find_callback(text: str, *, language: str) -> Optional[CallbackRequest]:
    """A callback request in a claimant's message: a phone number (or, when they mention WeChat,
    a WeChat ID), with the rest of the message as the preferred time. None if there is none."""
    for match in _PHONE_LIKE.finditer(text):
        try:
            request = CallbackRequest.create(contact_kind="phone", contact=match.group(0),
                                             preferred_time=_rest(text, match), language=language)
        except InvalidRequest:
            continue
        return request
    if _WECHAT_WORD.search(text):
        for match in _WECHAT_TOKEN.finditer(text):
            if match.group(0).lower() in ("wechat", "weixin"):
                continue
            try:
                return CallbackRequest.create(contact_kind="wechat", contact=match.group(0),
                                              preferred_time=_rest(text, match), language=language)
            except InvalidRequest:
                continue
    return None


def _rest(text: str, match: "re.Match[str]") -> str:
    rest = (text[:match.start()] + " " + text[match.end():]).strip(" ,，。.;；:：")
    return rest[:200]
