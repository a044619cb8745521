"""The trainer-edited data, read with file and line: NLU examples, domain, knowledge base, rules.

Pure reading, no checks: `tooling.trainers.checks` judges what these return. Every loader takes the
project root so tests can point it at fixture files in a temporary directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

from tooling.trainers.yamldoc import YamlDoc, YamlReadError

NLU_DIR, DOMAIN_DIR, KB_DIR, RULES_DIR = "data/nlu", "bot/domain", "data/kb", "data/rules"

# `[Shenzhen](city)` and `[Shenzhen]{"entity": "city"}`: the shown text, then the entity.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\(([^)]+)\)|\{[^}]*\"entity\"\s*:\s*\"([^\"]+)\"[^}]*\})")


@dataclass(frozen=True)
class Example:
    """One training example. `text` is what a claimant would type (annotations removed);
    `raw` is the line as written, with its entity markup."""

    intent: str
    lang: str
    text: str
    entities: Tuple[str, ...]
    path: Path
    line: int
    raw: str = ""


@dataclass(frozen=True)
class IntentBlock:
    """Where an `- intent:` entry starts, for problems about the intent as a whole."""

    intent: str
    lang: str
    path: Path
    line: int


@dataclass
class NluData:
    examples: List[Example] = field(default_factory=list)
    blocks: List[IntentBlock] = field(default_factory=list)
    lookups: List[Tuple[str, Path, int]] = field(default_factory=list)
    unreadable: List[YamlReadError] = field(default_factory=list)


def strip_annotations(raw: str) -> Tuple[str, Tuple[str, ...]]:
    """(`raw` without entity markup, the entity names it annotates)."""
    names = tuple(m.group(2) or m.group(3) for m in _ANNOTATION.finditer(raw))
    return _ANNOTATION.sub(lambda m: m.group(1), raw), names


def _example_lines(doc: YamlDoc, index: int, raw_lines: List[str]) -> List[Tuple[str, int]]:
    """The `- ` items of the examples block of entry `index`, each with its 1-based line."""
    entry = doc.data["nlu"][index]
    block = entry.get("examples") or ""
    start = doc.line("nlu", index, "examples")  # the `examples: |` line; items follow it
    items: List[Tuple[str, int]] = []
    cursor = start  # 0-based index of the line after `start`
    for item in block.splitlines():
        item = item.strip()
        if not item.startswith("- "):
            continue
        text = item[2:].strip()
        line = start + 1
        for number in range(cursor, len(raw_lines)):
            if raw_lines[number].strip() == item:
                line, cursor = number + 1, number + 1
                break
        items.append((text, line))
    return items


def read_nlu(root: Path) -> NluData:
    """Every `data/nlu/<lang>/*.yml` file; the language is the folder's name."""
    data = NluData()
    for path in sorted((root / NLU_DIR).rglob("*.yml")):
        lang = path.relative_to(root / NLU_DIR).parts[0]
        try:
            doc = YamlDoc.read(path)
        except YamlReadError as error:
            data.unreadable.append(error)
            continue
        raw_lines = path.read_text(encoding="utf-8").splitlines()
        for index, entry in enumerate((doc.data or {}).get("nlu") or []):
            if not isinstance(entry, dict):
                continue
            if "lookup" in entry:
                data.lookups.append((str(entry["lookup"]), path, doc.line("nlu", index)))
                continue
            if "intent" not in entry:
                continue
            intent = str(entry["intent"])
            data.blocks.append(IntentBlock(intent, lang, path, doc.line("nlu", index)))
            for raw, line in _example_lines(doc, index, raw_lines):
                text, names = strip_annotations(raw)
                data.examples.append(Example(intent, lang, text, names, path, line, raw))
    return data


def read_docs(root: Path, folder: str) -> Tuple[List[YamlDoc], List[YamlReadError]]:
    """Every YAML file in `folder` (not recursive), parsed with lines."""
    docs, errors = [], []
    for path in sorted((root / folder).glob("*.yml")):
        try:
            docs.append(YamlDoc.read(path))
        except YamlReadError as error:
            errors.append(error)
    return docs, errors


@dataclass(frozen=True)
class Domain:
    """The merged domain, remembering which file declares what."""

    docs: List[YamlDoc]
    intents: Dict[str, YamlDoc]
    entities: Dict[str, YamlDoc]
    slots: Dict[str, YamlDoc]
    responses: Dict[str, YamlDoc]
    forms: Dict[str, YamlDoc]


def read_domain(docs: List[YamlDoc]) -> Domain:
    intents: Dict[str, YamlDoc] = {}
    entities: Dict[str, YamlDoc] = {}
    slots: Dict[str, YamlDoc] = {}
    responses: Dict[str, YamlDoc] = {}
    forms: Dict[str, YamlDoc] = {}
    for doc in docs:
        data = doc.data or {}
        for item in data.get("intents") or []:
            intents[next(iter(item)) if isinstance(item, dict) else str(item)] = doc
        for item in data.get("entities") or []:
            entities[next(iter(item)) if isinstance(item, dict) else str(item)] = doc
        for table, target in (("slots", slots), ("responses", responses), ("forms", forms)):
            for name in data.get(table) or {}:
                target[str(name)] = doc
    return Domain(docs, intents, entities, slots, responses, forms)
