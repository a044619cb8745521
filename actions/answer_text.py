"""Turning a knowledge-base entry into the messages a claimant reads: pure functions.

Two styles (the `answer_style` setting): `full` sends the whole entry in two messages; `brief`
sends the entry's `short` answer with its source, and offers the other parts (`PARTS`) as
buttons, each answered on its own by `part_message`.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

from actions.knowledge import WHERE_KEYS, Entry
from actions.phrasebook import Phrasebook
from core.language_codes import EN

# Topics where foreign employees in China get the foreign_employees entry instead.
FOREIGN_TOPICS = {"ask_pension", "ask_contribution", "ask_transfer", "ask_medical", "ask_documents"}
FOREIGN_WORDS = ("foreigner", "foreign", "expat", "non-chinese", "work permit", "外国人", "外籍", "老外")

# The parts of an entry a brief answer offers, in the order of the buttons. `details` is the
# entry's full `answer`; `local` only where the entry varies by place.
PARTS = ("details", "steps", "documents", "where", "local", "sources")
PART_INTENT = "show_answer_part"
TOPIC_ENTITY, PART_ENTITY = "answer_topic", "answer_part"


def mentions_foreign_employee(text: str) -> bool:
    lowered = (text or "").lower()
    return any(word in lowered for word in FOREIGN_WORDS)


# ------------------------------------------------------------------------------- the parts

def _steps(t: Mapping[str, Any], phrases: Phrasebook) -> List[str]:
    if not t.get("steps"):
        return []
    return [phrases.say("utter_kb_steps")] + [f"{n}. {step}" for n, step in enumerate(t["steps"], start=1)]


def _documents(t: Mapping[str, Any], phrases: Phrasebook) -> List[str]:
    if not t.get("documents"):
        return []
    return [phrases.say("utter_kb_documents")] + [f"• {doc}" for doc in t["documents"]]


def _where(t: Mapping[str, Any], phrases: Phrasebook) -> List[str]:
    where = t.get("where") or {}
    lines = [f"• {phrases.say('utter_kb_where_' + key)}: {where[key]}" for key in WHERE_KEYS if where.get(key)]
    return [phrases.say("utter_kb_where")] + lines if lines else []


def _local(entry: Entry, t: Mapping[str, Any], phrases: Phrasebook, city: Optional[str]) -> List[str]:
    if not (entry.varies_by_place and t.get("local")):
        return []
    local = str(t["local"]).strip()
    return [phrases.say("utter_kb_local_city", city=city, local=local) if city
            else phrases.say("utter_kb_local", local=local)]


def _source_line(entry: Entry, phrases: Phrasebook) -> str:
    return phrases.say("utter_kb_source", sources="; ".join(entry.source_titles(phrases.language)),
                       date=entry.last_reviewed)


def available_parts(entry: Entry, language: str) -> List[str]:
    """The parts this entry has in `language`, in button order."""
    t = entry.text(language)
    has = {"details": bool(str(t.get("answer") or "").strip()), "steps": bool(t.get("steps")),
           "documents": bool(t.get("documents")), "where": any((t.get("where") or {}).get(k) for k in WHERE_KEYS),
           "local": entry.varies_by_place and bool(t.get("local")), "sources": bool(entry.sources)}
    return [part for part in PARTS if has[part]]


def part_message(entry: Entry, part: str, phrases: Phrasebook, *, city: Optional[str] = None) -> str:
    """One part of the entry, under the entry's title; "" for a part it does not have."""
    if part not in available_parts(entry, phrases.language):
        return ""
    t = entry.text(phrases.language)
    if part == "details":
        lines = [str(t["answer"]).strip()]
    elif part == "steps":
        lines = _steps(t, phrases)
    elif part == "documents":
        lines = _documents(t, phrases)
    elif part == "where":
        lines = _where(t, phrases)
    elif part == "local":
        lines = _local(entry, t, phrases, city)
    else:
        lines = [phrases.say("utter_kb_sources", date=entry.last_reviewed)] + [
            f"• {title} ({source.url})" for title, source in zip(entry.source_titles(phrases.language), entry.sources)]
    return "\n".join([t["title"]] + lines)


def part_payload(entry_id: str, part: str) -> str:
    """What a part's button sends: the part intent with the entry and the part as entities."""
    entities = json.dumps({TOPIC_ENTITY: entry_id, PART_ENTITY: part}, ensure_ascii=True, separators=(",", ":"))
    return f"/{PART_INTENT}{entities}"


def part_buttons(entry: Entry, phrases: Phrasebook, *, leave_out: Optional[str] = None) -> List[Dict[str, str]]:
    return [{"title": phrases.say(f"utter_part_{part}"), "payload": part_payload(entry.id, part)}
            for part in available_parts(entry, phrases.language) if part != leave_out]


# ------------------------------------------------------------------------------ the answers

def answer_messages(entry: Entry, phrases: Phrasebook, *, city: Optional[str] = None,
                    fitted: Sequence[str] = ()) -> List[str]:
    """The full answer: the answer itself (with steps), then the practical details and the source.
    `fitted`: lines fitted to what the claimant said (actions/tailoring.py), said first."""
    t = entry.text(phrases.language)
    first = [t["title"], *_fitted(fitted, phrases), str(t["answer"]).strip()] + _steps(t, phrases)
    second = _documents(t, phrases) + _where(t, phrases) + _local(entry, t, phrases, city)
    second.append(_source_line(entry, phrases))
    return ["\n".join(first), "\n".join(second)]


def brief_message(entry: Entry, phrases: Phrasebook, *, fitted: Sequence[str] = ()) -> str:
    """The short answer, its first source (and how many more), that it is not a decision, and the
    line that leads to the part buttons. `fitted`: lines fitted to what the claimant said
    (actions/tailoring.py), which answer their own case before the general answer."""
    t = entry.text(phrases.language)
    titles = entry.source_titles(phrases.language)
    if len(titles) > 1:
        source = phrases.say("utter_kb_source_brief_more", source=titles[0], more=len(titles) - 1,
                             count=len(titles), date=entry.last_reviewed)
    else:
        source = phrases.say("utter_kb_source_brief", source=titles[0] if titles else "", date=entry.last_reviewed)
    return "\n".join([t["title"], *_fitted(fitted, phrases), str(t.get("short") or t["answer"]).strip(), source,
                      phrases.say("utter_kb_more")])


def _fitted(lines: Sequence[str], phrases: Phrasebook) -> List[str]:
    """The fitted lines as one paragraph, or nothing."""
    text = (" " if phrases.language == EN else "").join(line for line in lines if line)
    return [text] if text else []


def onward_buttons(
    entry: Entry, phrases: Phrasebook, known_intents: List[str]
) -> List[Dict[str, Any]]:
    """Related questions, then a person: every answer ends with a way onward."""
    buttons = [
        {"title": phrases.say(f"utter_intent_title_{intent}"), "payload": f"/{intent}"}
        for intent in entry.related
        if intent in known_intents
    ]
    buttons.append({"title": phrases.say("utter_button_person"), "payload": "/request_human"})
    return buttons
