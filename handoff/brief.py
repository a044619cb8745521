"""The brief an agent reads before talking to a claimant, built from a Rasa tracker.

`build_brief(tracker, waiting_since=...)` takes the tracker as a dict, shaped like the answer of
Rasa's `GET /conversations/<id>/tracker` (the action server's `Tracker.current_state()` has the
same shape), and returns a `Brief`: the whole transcript with who spoke and when, the language
and channel, the topics recognised with their confidence (and the secondary topics a long
message's story touched besides its question, `secondary_topics`), the distress and complexity signals
with their evidence, the slots, what the bot already answered, why the conversation was
escalated and since when the claimant has been waiting. Identifiers (ID card, bank card and
phone numbers) are masked unless `mask_identifiers=False`, which only the data-rights export uses.

Pure: no I/O. Raises BriefError when the tracker is not a tracker.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from core.privacy.redaction import mask as mask_identifiers_in  # the project's one masking rule
from handoff.exceptions import BriefError

#: Intents that are conversation moves, not topics the claimant asked about.
NOT_TOPICS = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "stop",
                        "inform", "correct_answer", "nlu_fallback", "out_of_scope", "request_human",
                        "csat_rate"})
#: Slots that are the dialogue's bookkeeping, not something the claimant told us.
BOOKKEEPING_SLOTS = frozenset({"requested_slot", "pending_offer", "session_started_metadata", "csat_ticket",
                               "csat_comment"})
DISTRESS_LEVELS = ("none", "concern", "urgent", "crisis")
COMPLEXITY_LEVELS = ("none", "some", "high")


@dataclass(frozen=True)
class Turn:
    """One message: `speaker` is `claimant`, `bot` or `agent:<id>`; `at` epoch seconds."""

    at: Optional[float]
    speaker: str
    text: str
    intent: Optional[str] = None
    confidence: Optional[float] = None


@dataclass(frozen=True)
class Signal:
    """A message that raised a distress or complexity signal, with its evidence.
    `turn` is the message's index in the transcript."""

    turn: int
    at: Optional[float]
    kind: str  # distress | complexity
    level: str
    evidence: List[Dict[str, str]]
    needs: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class Brief:
    conversation_id: str
    language: str
    channel: str
    reason: str
    priority: str
    waiting_since: float
    transcript: List[Turn]
    topics: List[Dict[str, Any]]
    signals: List[Signal]
    slots: Dict[str, Any]
    answered: List[Dict[str, Any]]
    active_form: Optional[str]
    masked: bool
    #: Topics a long message's story was about besides the question it asked (the parse result's
    #: `secondary_topics`, bot/components/question_focus.py): {"intent", "confidence", "turn",
    #: "at"}, the surest mention per topic, surest first; none that is also a topic asked.
    secondary_topics: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def highest_distress(self) -> str:
        levels = [s.level for s in self.signals if s.kind == "distress"]
        return max(levels, key=DISTRESS_LEVELS.index, default="none")

    def as_dict(self) -> Dict[str, Any]:
        data = dataclasses.asdict(self)
        data["highest_distress"] = self.highest_distress
        return data


def build_brief(tracker: Mapping[str, Any], *, waiting_since: float, reason: Optional[str] = None,
                priority: Optional[str] = None, mask_identifiers: bool = True,
                mask: Optional[Callable[[str], str]] = None) -> Brief:
    """The brief of the conversation in `tracker`. `reason`/`priority` default to the slots
    `handoff_reason`/`handoff_priority` (set by the actions that decided to escalate)."""
    if not isinstance(tracker, Mapping) or not isinstance(tracker.get("events", []), list):
        raise BriefError("a tracker is a mapping with a list of events")
    conversation_id = tracker.get("sender_id")
    if not isinstance(conversation_id, str) or not conversation_id:
        raise BriefError("the tracker has no sender_id")
    hide = (mask or mask_identifiers_in) if mask_identifiers else (lambda text: text)
    slots = tracker.get("slots") or {}
    if not isinstance(slots, Mapping):
        raise BriefError("the tracker's slots are not a mapping")

    transcript: List[Turn] = []
    topics: Dict[str, Dict[str, Any]] = {}
    secondary: Dict[str, Dict[str, Any]] = {}
    signals: List[Signal] = []
    answered: List[Dict[str, Any]] = []
    last_action: Optional[str] = None
    language_seen: Optional[str] = None
    for event in tracker.get("events") or []:
        if not isinstance(event, Mapping):
            continue
        kind, at = event.get("event"), _time(event.get("timestamp"))
        if kind == "action":
            last_action = event.get("name")
        elif kind == "user":
            parse = event.get("parse_data") or {}
            intent = (parse.get("intent") or {}) if isinstance(parse, Mapping) else {}
            name, confidence = intent.get("name"), _confidence(intent.get("confidence"))
            transcript.append(Turn(at, "claimant", hide(str(event.get("text") or "")), name, confidence))
            if name and name not in NOT_TOPICS:
                best = topics.get(name)
                if best is None or (confidence or 0) > (best["confidence"] or 0):
                    topics[name] = {"intent": name, "confidence": confidence, "at": at,
                                    "turn": len(transcript) - 1}
            for mention in _secondary(parse):
                best = secondary.get(mention["intent"])
                if best is None or mention["confidence"] > best["confidence"]:
                    secondary[mention["intent"]] = {**mention, "at": at, "turn": len(transcript) - 1}
            language_seen = _language_of(parse) or language_seen
            signals.extend(_signals(parse, len(transcript) - 1, at, hide))
        elif kind == "bot":
            metadata = event.get("metadata") or {}
            agent = metadata.get("agent_id") if isinstance(metadata, Mapping) else None
            text = hide(str(event.get("text") or ""))
            transcript.append(Turn(at, f"agent:{agent}" if agent else "bot", text))
            if not agent:
                action = (metadata.get("utter_action") if isinstance(metadata, Mapping) else None) or last_action
                answered.append({"at": at, "action": action, "turn": len(transcript) - 1,
                                 "summary": text[:160]})
    loop = tracker.get("active_loop") or {}
    return Brief(
        conversation_id=conversation_id,
        language=str(slots.get("language") or language_seen or "zh"),
        channel=str(tracker.get("latest_input_channel") or ""),
        reason=str(reason or slots.get("handoff_reason") or _default_reason(tracker)),
        priority=str(priority or slots.get("handoff_priority") or "requested"),
        waiting_since=float(waiting_since),
        transcript=transcript,
        topics=sorted(topics.values(), key=lambda x: -(x["confidence"] or 0)),
        signals=signals,
        slots={name: _mask_value(value, hide) for name, value in sorted(slots.items())
               if value is not None and name not in BOOKKEEPING_SLOTS},
        answered=answered,
        active_form=loop.get("name") if isinstance(loop, Mapping) else None,
        masked=mask_identifiers,
        secondary_topics=sorted((t for name, t in secondary.items() if name not in topics),
                                key=lambda x: -x["confidence"]),
    )


def _secondary(parse: Any) -> List[Dict[str, Any]]:
    """A parse result's `secondary_topics`, as {"intent", "confidence"}; malformed entries dropped."""
    raw = parse.get("secondary_topics") if isinstance(parse, Mapping) else None
    found = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("intent"), str) and item["intent"] not in NOT_TOPICS:
            found.append({"intent": item["intent"], "confidence": _confidence(item.get("confidence")) or 0.0})
    return found


def _signals(parse: Mapping[str, Any], turn: int, at: Optional[float],
             hide: Callable[[str], str]) -> List[Signal]:
    found: List[Signal] = []
    raw = parse.get("signals") if isinstance(parse, Mapping) else None
    if not isinstance(raw, Mapping):
        return found
    for kind, levels in (("distress", DISTRESS_LEVELS), ("complexity", COMPLEXITY_LEVELS)):
        signal = raw.get(kind)
        if not isinstance(signal, Mapping) or signal.get("level") in (None, "none"):
            continue
        level = signal.get("level")
        evidence = [{"text": hide(str(e.get("text", ""))), "rule": str(e.get("rule", ""))}
                    for e in signal.get("evidence") or [] if isinstance(e, Mapping)]
        found.append(Signal(turn, at, kind, level if level in levels else str(level), evidence,
                            [str(n) for n in signal.get("needs") or []]))
    return found


def _language_of(parse: Any) -> Optional[str]:
    if not isinstance(parse, Mapping):
        return None
    language = parse.get("language")
    if isinstance(language, Mapping):
        language = language.get("code")
    return language if isinstance(language, str) and language else None


def _default_reason(tracker: Mapping[str, Any]) -> str:
    intent = ((tracker.get("latest_message") or {}).get("intent") or {}).get("name")
    return {"request_human": "asked for a person", "complaint_appeal": "complaint or appeal"}.get(
        intent, f"escalated after {intent}" if intent else "asked for a person")


def _mask_value(value: Any, hide: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return hide(value)
    if isinstance(value, list):
        return [_mask_value(v, hide) for v in value]
    if isinstance(value, Mapping):
        return {key: _mask_value(v, hide) for key, v in value.items()}
    return value


def _time(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) else None


def _confidence(value: Any) -> Optional[float]:
    return round(float(value), 4) if isinstance(value, (int, float)) else None


def transcript_lines(brief: Brief) -> Sequence[str]:
    """The transcript as plain lines, for logs and exports."""
    return [f"[{turn.at}] {turn.speaker}: {turn.text}" for turn in brief.transcript]
