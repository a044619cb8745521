"""The knowledge base: one YAML file per topic in data/kb/ (see docs/knowledge-base.md)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import yaml

from core.language_codes import LANGUAGES
from core.settings import current

WHERE_KEYS = ("online", "office", "wechat", "phone")


def data_dir() -> Path:
    """`RENBEN_DATA_DIR`, or the repository's data/ folder (the process's settings)."""
    return current().data_dir


@dataclass(frozen=True)
class Source:
    ref: str
    title: Mapping[str, str]  # by language
    url: str


@dataclass(frozen=True)
class Entry:
    id: str
    last_reviewed: str
    varies_by_place: bool
    related: List[str]
    sources: List[Source]
    texts: Mapping[str, Mapping[str, Any]]  # language -> title, answer, steps, documents, where, local

    def text(self, language: str) -> Mapping[str, Any]:
        return self.texts.get(language) or self.texts["zh"]

    def source_titles(self, language: str) -> List[str]:
        return [s.title.get(language) or s.title.get("zh", s.ref) for s in self.sources]


def parse_entry(raw: Mapping[str, Any]) -> Entry:
    sources = [
        Source(ref=str(s.get("ref", "")), title={lang: s.get(lang, "") for lang in LANGUAGES}, url=s.get("url", ""))
        for s in raw.get("sources") or []
    ]
    return Entry(
        id=str(raw["id"]),
        last_reviewed=str(raw.get("last_reviewed", "")),
        varies_by_place=bool(raw.get("varies_by_place", False)),
        related=list(raw.get("related") or []),
        sources=sources,
        texts={lang: raw[lang] for lang in LANGUAGES if isinstance(raw.get(lang), Mapping)},
    )


@functools.lru_cache(maxsize=4)
def load(directory: Optional[str] = None) -> Dict[str, Entry]:
    """Every topic entry in `directory` (default: data/kb), by id. Cached per directory."""
    folder = Path(directory) if directory else data_dir() / "kb"
    entries: Dict[str, Entry] = {}
    for path in sorted(folder.glob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if "id" in raw:
            entry = parse_entry(raw)
            entries[entry.id] = entry
    return entries


@functools.lru_cache(maxsize=4)
def load_yaml(name: str, directory: Optional[str] = None) -> Dict[str, Any]:
    """A data file such as `kb/eligibility.yml` or `service.yml`, relative to data/."""
    folder = Path(directory) if directory else data_dir()
    return yaml.safe_load((folder / name).read_text(encoding="utf-8")) or {}
