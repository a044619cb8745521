"""Turning a knowledge-base entry into the messages a claimant reads: pure functions."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from actions.knowledge import WHERE_KEYS, Entry
from actions.phrasebook import Phrasebook

# Topics where foreign employees in China get the foreign_employees entry instead.
FOREIGN_TOPICS = {"ask_pension", "ask_contribution", "ask_transfer", "ask_medical", "ask_documents"}
FOREIGN_WORDS = ("foreigner", "foreign", "expat", "non-chinese", "work permit", "外国人", "外籍", "老外")


def mentions_foreign_employee(text: str) -> bool:
    lowered = (text or "").lower()
    return any(word in lowered for word in FOREIGN_WORDS)


def answer_messages(entry: Entry, phrases: Phrasebook, *, city: Optional[str] = None) -> List[str]:
    """The answer itself (with steps), then the practical details and the source."""
    t = entry.text(phrases.language)
    first = [t["title"], str(t["answer"]).strip()]
    if t.get("steps"):
        first.append(phrases.say("utter_kb_steps"))
        first.extend(f"{n}. {step}" for n, step in enumerate(t["steps"], start=1))

    second: List[str] = []
    if t.get("documents"):
        second.append(phrases.say("utter_kb_documents"))
        second.extend(f"• {doc}" for doc in t["documents"])
    where = t.get("where") or {}
    if where:
        second.append(phrases.say("utter_kb_where"))
        second.extend(
            f"• {phrases.say('utter_kb_where_' + key)}: {where[key]}" for key in WHERE_KEYS if where.get(key)
        )
    if entry.varies_by_place and t.get("local"):
        local = str(t["local"]).strip()
        second.append(
            phrases.say("utter_kb_local_city", city=city, local=local)
            if city
            else phrases.say("utter_kb_local", local=local)
        )
    second.append(
        phrases.say("utter_kb_source", sources="; ".join(entry.source_titles(phrases.language)),
                    date=entry.last_reviewed)
    )
    return ["\n".join(first), "\n".join(second)]


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
