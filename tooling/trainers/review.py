"""The review inbox: messages from real conversations the bot should learn from. Pure core.

Where rows come from (`collect`):
- a claimant message NLU did not understand (`nlu_fallback`, or followed by `action_clarify` /
  `action_default_fallback`): "fallback";
- a message understood with confidence under `LOW_CONFIDENCE`: "low confidence";
- the message that led to a handoff (`action_handoff`): the last message before it that was not
  itself a request for a person: "handoff";
- a message an agent flagged in the console ("the bot should have handled this"), with the
  intent the agent suggests: "flagged by an agent".

Every text is redacted (`redactor`) before it enters a row, so nothing unredacted is ever written.
The inbox file (`inbox_yaml`) is edited by a trainer; `plan_apply` reads it back and says which
rows go into which data/nlu file. Reading the tracker store and Redis is in review_sources.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Sequence, Set, Tuple

import yaml

from bot.textnorm import cjk_count
from core.language_codes import LANGUAGES
from core.privacy.identity import conversation_ref

LOW_CONFIDENCE = 0.5
FALLBACK_ACTIONS = frozenset({"action_clarify", "action_default_fallback"})
HANDOFF_ACTION = "action_handoff"
ASK_FOR_PERSON = frozenset({"request_human"})
DECISIONS = ("undecided", "keep", "discard")

Redactor = Callable[[str], str]


class ReviewFileError(ValueError):
    """The reviewed file cannot be applied; `line` (1-based, 0 if unknown) says where."""

    def __init__(self, line: int, reason: str):
        super().__init__(f"line {line}: {reason}" if line else reason)
        self.line, self.reason = line, reason


@dataclass(frozen=True)
class Event:
    """One row of the tracker store's `events` table, decoded."""

    conversation_id: str
    type_name: str
    timestamp: float
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Flag:
    """One agent flag from the `renben:review-flags` stream."""

    conversation_id: str
    text: str
    suggested_intent: str
    agent_id: str
    language: str
    timestamp: float


@dataclass
class Row:
    lang: str
    text: str  # redacted
    intent: str  # the intent to train: the agent's suggestion, else the bot's guess
    guessed: str  # what the bot predicted
    confidence: float
    reasons: List[str]
    origin: str  # "conversation c-1a2b3c4d5e, 2026-11-22 10:31"
    timestamp: float
    count: int = 1
    decision: str = "undecided"


def _when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _language(parse: Mapping[str, Any], text: str) -> str:
    detected = parse.get("language")
    code = detected.get("code") if isinstance(detected, Mapping) else detected
    if code in LANGUAGES:
        return str(code)
    return "zh" if cjk_count(text) else "en"


@dataclass
class _Said:
    text: str
    lang: str
    intent: str
    confidence: float
    timestamp: float


def collect(
    events: Iterable[Event],
    flags: Iterable[Flag],
    *,
    redactor: Redactor,
    low_confidence: float = LOW_CONFIDENCE,
    known: Set[Tuple[str, str]] = frozenset(),
    normalise: Callable[[str], str] = lambda s: " ".join(s.split()),
    since: float = 0.0,
) -> Dict[str, List[Row]]:
    """Rows per language, one per distinct (redacted, normalised) message, most frequent first.

    `events` must be in tracker order per conversation. `known` holds (lang, normalised text) of
    examples already in data/nlu: those are left out. Only what happened from `since` on counts
    (a fallback, a handoff); earlier events are read for context, such as the message that led
    to a handoff."""
    rows: Dict[Tuple[str, str], Row] = {}

    def add(said: _Said, reason: str, conversation: str, suggested: str = "") -> None:
        text = " ".join(redactor(said.text).split())
        key = (said.lang, normalise(text))
        if not key[1] or key in known:
            return
        row = rows.get(key)
        origin = f"conversation {conversation_ref(conversation)}, {_when(said.timestamp)}"
        if row is None:
            rows[key] = Row(
                said.lang,
                text,
                suggested or said.intent,
                said.intent,
                said.confidence,
                [reason],
                origin,
                said.timestamp,
            )
            return
        if reason not in row.reasons:
            row.reasons.append(reason)
        if suggested:
            row.intent = suggested
        if origin != row.origin and reason != "flagged by an agent":
            row.count += 1

    history: Dict[str, List[_Said]] = {}
    for event in events:
        said = history.setdefault(event.conversation_id, [])
        recent = event.timestamp >= since
        name = event.data.get("name") if event.type_name == "action" else None
        if event.type_name == "user":
            text = str(event.data.get("text") or "")
            if not text.strip() or text.startswith("/"):  # buttons send "/intent" payloads
                continue
            parse = event.data.get("parse_data") or {}
            intent = parse.get("intent") or {}
            current = _Said(
                text,
                _language(parse, text),
                str(intent.get("name") or ""),
                float(intent.get("confidence") or 0.0),
                event.timestamp,
            )
            said.append(current)
            if not recent:
                continue
            if current.intent == "nlu_fallback":
                add(current, "fallback", event.conversation_id)
            elif current.confidence < low_confidence:
                add(current, f"low confidence ({current.confidence:.2f})", event.conversation_id)
        elif name == "action_session_start":
            said.clear()
        elif not recent:
            continue
        elif name in FALLBACK_ACTIONS and said:
            add(said[-1], "fallback", event.conversation_id)
        elif name == HANDOFF_ACTION:
            unresolved = next((s for s in reversed(said) if s.intent not in ASK_FOR_PERSON), None)
            if unresolved is not None:
                add(unresolved, "handoff", event.conversation_id)
    for flag in flags:
        if flag.timestamp < since:
            continue
        lang = flag.language if flag.language in LANGUAGES else ("zh" if cjk_count(flag.text) else "en")
        add(
            _Said(flag.text, lang, "", 0.0, flag.timestamp),
            "flagged by an agent",
            flag.conversation_id,
            flag.suggested_intent,
        )
    by_lang: Dict[str, List[Row]] = {}
    for row in sorted(rows.values(), key=lambda r: (-r.count, r.timestamp)):
        by_lang.setdefault(row.lang, []).append(row)
    return by_lang


_HEADER = """\
# Review inbox ({language_name}), exported {exported}.
# Messages from real conversations that the bot did not handle well. Identifiers are removed.
# For each item, set `decision`:
#   keep     - the message is a good example of `intent`: it is added to the training data
#              (correct `intent` first if it is wrong; see docs/intents.md for the names)
#   discard  - not useful (nonsense, too personal, not about social security)
#   undecided - leave it for later: it stays in this file
# You may shorten `text` or remove anything personal left in it, but do not add to it.
# Then run:  python -m tooling.trainers review apply {path}
"""


def inbox_yaml(rows: Sequence[Row], *, lang: str, path: str, exported: str) -> str:
    """The file a trainer edits: a comment header, then one item per row."""
    items = [
        {
            "text": row.text,
            "intent": row.intent or "",
            "decision": row.decision,
            "why": ", ".join(row.reasons) + (f" ({row.count} times)" if row.count > 1 else ""),
            "bot guessed": f"{row.guessed or 'nothing'} ({row.confidence:.2f})" if row.guessed else "(flag)",
            "from": row.origin,
        }
        for row in rows
    ]
    body = yaml.safe_dump({"language": lang, "items": items}, allow_unicode=True, sort_keys=False, width=1000)
    header = _HEADER.format(
        language_name={"zh": "Chinese", "en": "English"}.get(lang, lang), exported=exported, path=path
    )
    return header + body


@dataclass(frozen=True)
class Accepted:
    lang: str
    intent: str
    text: str
    origin: str
    why: str


@dataclass
class Plan:
    accepted: List[Accepted] = field(default_factory=list)
    discarded: int = 0
    undecided: List[Dict[str, Any]] = field(default_factory=list)
    already_known: List[Accepted] = field(default_factory=list)


def plan_apply(
    text: str,
    *,
    intents: Set[str],
    redactor: Redactor,
    known: Set[Tuple[str, str]] = frozenset(),
    normalise: Callable[[str], str] = lambda s: " ".join(s.split()),
) -> Plan:
    """What applying a reviewed inbox file would do. Raises ReviewFileError for any row that
    cannot be applied (unknown intent or decision, text that still holds an identifier), so that
    a file is applied whole or not at all."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise ReviewFileError(mark.line + 1 if mark else 0, f"not valid YAML: {error.problem}") from error
    finally:
        loader.dispose()
    if not isinstance(data, dict) or data.get("language") not in LANGUAGES or not isinstance(data.get("items"), list):
        raise ReviewFileError(0, "this is not a review inbox file (it needs `language` and `items`)")
    lang = data["language"]
    item_nodes = next((v for k, v in node.value if k.value == "items"), None)
    plan = Plan()
    for index, item in enumerate(data["items"]):
        line = item_nodes.value[index].start_mark.line + 1 if item_nodes else 0
        if not isinstance(item, dict):
            raise ReviewFileError(line, "each item needs text, intent and decision")
        decision = str(item.get("decision") or "undecided").strip().lower()
        if decision not in DECISIONS:
            raise ReviewFileError(line, f"decision '{decision}' is not one of keep, discard, undecided")
        if decision == "discard":
            plan.discarded += 1
            continue
        if decision == "undecided":
            plan.undecided.append(item)
            continue
        intent = str(item.get("intent") or "").strip()
        body = " ".join(str(item.get("text") or "").split())
        if intent not in intents:
            raise ReviewFileError(line, f"intent '{intent}' does not exist: use a name from docs/intents.md")
        if not body:
            raise ReviewFileError(line, "the text is empty: discard the item instead")
        if redactor(body) != body:
            raise ReviewFileError(
                line, "the text still holds an identifier (a number, a name): remove it, or discard the item"
            )
        accepted = Accepted(lang, intent, body, str(item.get("from") or ""), str(item.get("why") or ""))
        if (lang, normalise(body)) in known:
            plan.already_known.append(accepted)
        else:
            plan.accepted.append(accepted)
    return plan


def nlu_entry(accepted: Accepted, *, source_file: str, today: str) -> str:
    """The YAML appended to data/nlu/<lang>/<intent>.yml: a comment saying where the example came
    from, then its own `- intent:` entry (Rasa merges entries of one intent)."""
    origin = f"{accepted.why}; {accepted.origin}".strip("; ")
    comment = f"# From the review inbox ({source_file}), accepted {today}: {origin}".replace("\n", " ")
    text = accepted.text.replace("\n", " ")
    return f"{comment}\n- intent: {accepted.intent}\n  examples: |\n    - {text}\n"
