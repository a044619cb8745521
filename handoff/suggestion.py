"""The knowledge-base answer offered to the agent for the claimant's latest question (pure).

The latest question is the claimant's latest message read as a topic the knowledge base has an
entry for (`ask_unemployment` ...), or a button asking for a part of one (`show_answer_part` with
its `answer_topic`). The suggestion is that entry in the claimant's language: its title, its full
answer, and its first source with the review date and "not a decision" (the domain's
`utter_kb_source_brief`, bot/domain/topics.yml, the words the bot itself uses), ready to insert
into the reply box; every source with its address is in `sources` for the console to show.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional

from handoff.kb import Entry, KnowledgeBase
from handoff.phrases import Phrases

PART_INTENT, TOPIC_ENTITY = "show_answer_part", "answer_topic"


@dataclass(frozen=True)
class Suggestion:
    topic: str
    language: str
    title: str
    text: str
    sources: List[Dict[str, str]]  # {ref, title, url}, in the claimant's language
    last_reviewed: str

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def topic_of(intent: Optional[str], entities: Any, kb: KnowledgeBase) -> Optional[str]:
    """The knowledge-base topic one claimant message asks about, or None."""
    if intent == PART_INTENT:
        named = next((e.get("value") for e in entities or [] if isinstance(e, Mapping)
                      and e.get("entity") == TOPIC_ENTITY), None)
        return named if isinstance(named, str) and kb.get(named) else None
    return intent if isinstance(intent, str) and kb.get(intent) else None


def latest_topic(events: Iterable[Any], kb: KnowledgeBase) -> Optional[str]:
    """The topic of the claimant's latest message that asked one (a request for a person after a
    question leaves that question the latest), or None."""
    latest = None
    for event in events:
        if not isinstance(event, Mapping) or event.get("event") != "user":
            continue
        parse = event.get("parse_data") if isinstance(event.get("parse_data"), Mapping) else {}
        intent = parse.get("intent") if isinstance(parse.get("intent"), Mapping) else {}
        latest = topic_of(intent.get("name"), parse.get("entities"), kb) or latest
    return latest


def suggest(entry: Entry, language: str, phrases: Phrases) -> Suggestion:
    """`entry` as a reply in `language`: title, answer, then the first source line."""
    text = entry.text(language)
    lines = [str(text.get(part) or "").strip() for part in ("title", "answer")]
    if entry.sources:
        lines.append(phrases.say("utter_kb_source_brief", language, source=entry.sources[0].title(language),
                                 date=entry.last_reviewed))
    return Suggestion(topic=entry.id, language=language, title=entry.title(language),
                      text="\n".join(line for line in lines if line),
                      sources=[{"ref": s.ref, "title": s.title(language), "url": s.url} for s in entry.sources],
                      last_reviewed=entry.last_reviewed)
