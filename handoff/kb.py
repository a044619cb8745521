"""The knowledge base as the desk reads it: the topic entries of data/kb/ (docs/knowledge-base.md),
only what agent assist needs (titles, answers, sources). Read here rather than through
actions/knowledge.py so that the desk does not import the action server's package (as
handoff/phrases.py does for the domain's words); the files and their format are the same.

`load()` reads the folder once per path (RENBEN_DATA_DIR/kb when set, else the repository's
data/kb) and returns a `KnowledgeBase`; a missing folder gives an empty one (no suggestions),
a broken file raises (yaml.YAMLError, OSError, KeyError) so that a desk never starts on half a
knowledge base unnoticed.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

import yaml

from core import settings
from core.language_codes import LANGUAGES, ZH

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "data" / "kb"


@dataclass(frozen=True)
class Source:
    ref: str
    titles: Mapping[str, str]  # by language
    url: str

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles.get(ZH) or self.ref


@dataclass(frozen=True)
class Entry:
    """One topic: `texts[language]` has `title`, `short`, `answer` (docs/knowledge-base.md)."""
    id: str
    last_reviewed: str
    sources: List[Source]
    texts: Mapping[str, Mapping[str, Any]]

    def text(self, language: str) -> Mapping[str, Any]:
        """The entry's words in `language`, else in Chinese (every entry has both: make validate)."""
        return self.texts.get(language) or self.texts.get(ZH) or {}

    def title(self, language: str) -> str:
        return str(self.text(language).get("title") or self.id)


@dataclass(frozen=True)
class KnowledgeBase:
    entries: Mapping[str, Entry] = field(default_factory=dict)

    def get(self, topic: Optional[str]) -> Optional[Entry]:
        return self.entries.get(topic) if topic else None

    def titles(self) -> Dict[str, Dict[str, str]]:
        """topic -> language -> title, for the summary (handoff/assist.py)."""
        return {topic: {language: entry.title(language) for language in LANGUAGES}
                for topic, entry in self.entries.items()}


def parse_entry(raw: Mapping[str, Any]) -> Entry:
    sources = [Source(ref=str(s.get("ref", "")), titles={l: str(s.get(l) or "") for l in LANGUAGES},
                      url=str(s.get("url") or ""))
               for s in raw.get("sources") or [] if isinstance(s, Mapping)]
    return Entry(id=str(raw["id"]), last_reviewed=str(raw.get("last_reviewed", "")), sources=sources,
                 texts={l: raw[l] for l in LANGUAGES if isinstance(raw.get(l), Mapping)})


def load(directory: Optional[Union[str, Path]] = None) -> KnowledgeBase:
    """Every topic entry in `directory` (default: the process settings' data directory's kb/,
    RENBEN_DATA_DIR/kb, else data/kb)."""
    folder = Path(directory) if directory else settings.current().data_dir / "kb"
    return _read(folder.resolve())


@functools.lru_cache(maxsize=4)
def _read(folder: Path) -> KnowledgeBase:
    entries: Dict[str, Entry] = {}
    for path in sorted(folder.glob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(raw, Mapping) and "id" in raw:  # eligibility.yml holds figures, not an answer
            entry = parse_entry(raw)
            entries[entry.id] = entry
    return KnowledgeBase(entries)

