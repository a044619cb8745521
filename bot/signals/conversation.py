"""Complexity across the whole conversation: a pure function over tracker events (dicts).

Works on the event dicts both Rasa's tracker (`tracker.current_state()["events"]`, or
`[e.as_dict() for e in tracker.events]`) and rasa_sdk's `tracker.events` give. The reasons:

- `failed_turns`: the last two user messages in a row were not understood (nlu_fallback);
- `repeated_question`: the latest question was asked before in this conversation (same topic
  intent, or the same words), so the first answer did not help;
- `several_needs`: two or more distinct needs, raised in at least two different messages (one
  message with three needs, or two needs and distress, is already `high` on its own: `message_high`);
- `appeal_after_decision`: a complaint or appeal after the bot gave a pre-check result, or about
  a decision the claimant describes ("they turned me down", "被驳回");
- `long_message`: a long message (400+ characters, 150+ Chinese characters) touching two or more
  needs or topics (its ranking's, and the topics its story touched: `secondary_topics`);
- `repeated_concern`: distress (concern or above) in the latest message and the one before it:
  one sad message is answered, a second in a row is a person's to hear;
- `concern_and_complex`: distress in the latest message on top of any reason above.
The caller records the reasons (slot `complexity_reason`) so the handoff shows them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

FALLBACK_INTENT = "nlu_fallback"
RESULT_ACTIONS = ("action_unemployment_result", "action_pension_result")
APPEAL_INTENT = "complaint_appeal"
# A brief answer's buttons ask for more of the same answer: reading on is not asking again.
PART_INTENT = "show_answer_part"
NOT_A_QUESTION = {FALLBACK_INTENT, "greet", "goodbye", "thank", "affirm", "deny", "stop", "inform",
                  "correct_answer", "request_human", "bot_challenge", "out_of_scope", APPEAL_INTENT, PART_INTENT}
LONG_CHARS = 400
LONG_CJK_CHARS = 150
_DECISION = re.compile(
    r"turned (me |us |her |him )?down|rejected|refused|denied|decision|disallowed|not eligible|"
    r"驳回|拒绝|不予|不符合|决定|不批|没批|没通过|未通过|被拒", re.IGNORECASE)
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class ConversationComplexity:
    reasons: List[str] = field(default_factory=list)
    needs: List[str] = field(default_factory=list)
    evidence: List[Dict[str, str]] = field(default_factory=list)

    @property
    def level(self) -> str:
        return "high" if self.reasons else ("some" if self.needs else "none")

    def as_reason(self) -> Optional[str]:
        """The text kept in slot `complexity_reason`: reasons, then needs, e.g.
        `several_needs,repeated_question; needs: debt, housing`."""
        if not self.reasons:
            return None
        text = ",".join(self.reasons)
        return f"{text}; needs: {', '.join(self.needs)}" if self.needs else text


def user_messages(events: Iterable[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """User events of the current session (after the last session start), less those written to
    a person while the bot was paused: the bot did not answer them, so they are not its failures."""
    found: List[Mapping[str, Any]] = []
    paused = False
    for event in events:
        kind = event.get("event")
        if kind == "session_started":
            found = []
        elif kind == "pause":
            paused = True
        elif kind == "resume":
            paused = False
        elif kind == "user" and not paused:
            found.append(event)
    return found


def _intent(event: Mapping[str, Any]) -> str:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""


def _signals(event: Mapping[str, Any]) -> Mapping[str, Any]:
    return (event.get("parse_data") or {}).get("signals") or {}


def _language(event: Mapping[str, Any]) -> str:
    """The detected language of a message ("" when not known: then it matches any)."""
    found = (event.get("parse_data") or {}).get("language")
    return (found.get("code") if isinstance(found, dict) else found) or ""


def _words(event: Mapping[str, Any]) -> str:
    return re.sub(r"[\W_]+", "", (event.get("text") or "").lower())


def assess(events: Sequence[Mapping[str, Any]]) -> ConversationComplexity:
    """Complexity of the conversation up to and including the latest user message."""
    users = user_messages(events)
    if not users:
        return ConversationComplexity()
    latest = users[-1]
    reasons: List[str] = []

    if len(users) >= 2 and all(_intent(u) == FALLBACK_INTENT for u in users[-2:]):
        reasons.append("failed_turns")

    intent = _intent(latest)
    # Asked again in the same language: the same topic, or the very same words. A claimant who
    # switches language and asks again is reading the answer in their language, not stuck.
    language = _language(latest)
    earlier = [u for u in users[:-1] if not language or _language(u) in ("", language)]
    same_words = intent != PART_INTENT and len(_words(latest)) >= 6 and any(
        _words(u) == _words(latest) for u in earlier)
    if (intent and intent not in NOT_A_QUESTION and any(_intent(u) == intent for u in earlier)) or same_words:
        reasons.append("repeated_question")

    needs_by_message = [set((_signals(u).get("complexity") or {}).get("needs") or []) for u in users]
    all_needs = sorted(set().union(*needs_by_message))
    contributing = sum(1 for n in needs_by_message if n)
    latest_complexity = _signals(latest).get("complexity") or {}
    if latest_complexity.get("level") == "high":
        reasons.append("message_high")
    elif len(all_needs) >= 2 and contributing >= 2:
        reasons.append("several_needs")

    if intent == APPEAL_INTENT and (
            _result_given(events) or _DECISION.search(latest.get("text") or "")):
        reasons.append("appeal_after_decision")

    text = latest.get("text") or ""
    is_long = len(text) >= LONG_CHARS or len(_CJK.findall(text)) >= LONG_CJK_CHARS
    if is_long and (len(latest_complexity.get("needs") or []) >= 2 or len(_topics(latest)) >= 2):
        reasons.append("long_message")

    levels = [(_signals(u).get("distress") or {}).get("level") or "none" for u in users]
    if len(levels) >= 2 and levels[-1] != "none" and levels[-2] != "none":
        reasons.append("repeated_concern")
    elif levels[-1] != "none" and reasons:
        reasons.append("concern_and_complex")

    evidence = []
    seen = set()
    for user in users:
        for item in (_signals(user).get("complexity") or {}).get("evidence") or []:
            key = (item.get("text"), item.get("rule"))
            if key not in seen:
                seen.add(key)
                evidence.append(dict(item))
    return ConversationComplexity(reasons, all_needs, evidence)


def _topics(message: Mapping[str, Any]) -> set:
    """The topics a message touched: its intent ranking's at 0.15 or more, and the story's
    `secondary_topics` (bot/components/question_focus.py), which a long letter's question can
    outweigh in the ranking."""
    parse = message.get("parse_data") or {}
    ranked = {r.get("name") for r in parse.get("intent_ranking") or [] if (r.get("confidence") or 0) >= 0.15}
    secondary = {t.get("intent") for t in parse.get("secondary_topics") or [] if isinstance(t, Mapping)}
    return {name for name in ranked | secondary if name and name not in NOT_A_QUESTION}


def _result_given(events: Iterable[Mapping[str, Any]]) -> bool:
    return any(e.get("event") == "action" and e.get("name") in RESULT_ACTIONS for e in events)
