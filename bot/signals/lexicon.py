"""Signal lexicons: the trainer-edited files under `data/lexicons/signals/{zh,en}/`, loaded and checked.

One YAML file per category and language, named after the category (`en/crisis.yml`):

    category: crisis            # optional; must equal the file name when given
    entries:
      - id: en.crisis.kill_self  # unique across all files, shown to agents as the rule
        phrases: [kill myself, end my life]
        patterns:                # spaCy Matcher token patterns
          - [{LOWER: {IN: [take, taking, took]}}, {LOWER: my}, {LOWER: own, OP: "?"}, {LOWER: life}]
        needs: [housing]         # optional: needs this entry also shows (distress files only)

Categories: the distress levels `crisis`, `urgent`, `concern`; `intensifier` (words that make a
concern stronger); every other file name is a need (`housing`, `debt`, ...). Loading is pure
apart from reading the files; any problem raises `LexiconError` naming the file, line and problem,
and the caller must stop (the Rasa component lets it stop start-up).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from core.language_codes import LANGUAGES

DISTRESS_LEVELS = ("concern", "urgent", "crisis")  # in rising order
INTENSIFIER = "intensifier"
#: Files in a language folder that are the grammar (bot/signals/grammar.py), not lexicons.
GRAMMAR_FILES = ("classes", "rules", "spelling")
_NAME = re.compile(r"^[a-z][a-z_]*$")
_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")
_ENTRY_KEYS = {"id", "phrases", "patterns", "needs", "note"}


class LexiconError(ValueError):
    """A lexicon file cannot be used. `str()` reads `<file>:<line>: <problem>`."""

    def __init__(self, path: Path, line: Optional[int], problem: str):
        self.path, self.line, self.problem = path, line, problem
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Entry:
    id: str
    category: str
    language: str
    phrases: Tuple[str, ...] = ()
    patterns: Tuple[Any, ...] = ()
    needs: Tuple[str, ...] = ()
    source: str = ""  # "file:line", for error messages from the matchers
    other: str = "concern"  # the level when the crisis is someone else's (a rule's `other`)

    @property
    def is_distress(self) -> bool:
        return self.category in DISTRESS_LEVELS

    @property
    def is_need(self) -> bool:
        return self.category not in DISTRESS_LEVELS and self.category != INTENSIFIER


@dataclass
class Lexicon:
    entries: Dict[str, Entry] = field(default_factory=dict)

    def for_language(self, language: str) -> List[Entry]:
        return [e for e in self.entries.values() if e.language == language]

    def categories(self) -> List[str]:
        return sorted({e.category for e in self.entries.values()})


def load_lexicon(directory: Path) -> Lexicon:
    """Every `<language>/<category>.yml` under `directory`. Raises LexiconError on any problem."""
    directory = Path(directory)
    if not directory.is_dir():
        raise LexiconError(directory, None, "the signal lexicon folder does not exist")
    lexicon = Lexicon()
    for language in LANGUAGES:
        for path in sorted((directory / language).glob("*.y*ml")):
            if path.stem in GRAMMAR_FILES:
                continue
            for entry in load_file(path, language):
                if entry.id in lexicon.entries:
                    raise LexiconError(path, _line_of(entry), f"duplicate id {entry.id!r} "
                                       f"(also at {lexicon.entries[entry.id].source})")
                lexicon.entries[entry.id] = entry
    if not lexicon.entries:
        raise LexiconError(directory, None, "no lexicon entries found under zh/ or en/")
    return lexicon


def read_mapping(path: Path, shape: str = "the file must be a mapping") -> CommentedMap:
    """A YAML mapping with line numbers (ruamel round-trip); raises LexiconError naming the line."""
    try:
        document = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise LexiconError(path, mark.line + 1 if mark else None,
                           f"not valid YAML: {error.problem or error.context}") from None
    except UnicodeDecodeError:
        raise LexiconError(path, None, "not UTF-8 text") from None
    if not isinstance(document, CommentedMap):
        raise LexiconError(path, 1, shape)
    return document


def load_file(path: Path, language: str) -> List[Entry]:
    """The entries of one file, checked. The category is the file name."""
    category = path.stem
    if not _NAME.match(category):
        raise LexiconError(path, None, f"file name {category!r} is not a category name "
                           "(lower-case letters and _ only)")
    document = read_mapping(path, "the file must be a mapping with an `entries:` list")
    declared = document.get("category")
    if declared is not None and declared != category:
        raise LexiconError(path, _key_line(document, "category"),
                           f"category {declared!r} differs from the file name {category!r}")
    unknown = set(document) - {"category", "entries", "note"}
    if unknown:
        raise LexiconError(path, _key_line(document, sorted(unknown)[0]),
                           f"unknown key {sorted(unknown)[0]!r} (allowed: category, entries, note)")
    entries = document.get("entries")
    if not isinstance(entries, CommentedSeq) or not entries:
        raise LexiconError(path, _key_line(document, "entries") or 1, "`entries:` must be a non-empty list")
    return [_entry(path, language, category, raw, entries.lc.item(i)[0] + 1)
            for i, raw in enumerate(entries)]


def _entry(path: Path, language: str, category: str, raw: Any, line: int) -> Entry:
    if not isinstance(raw, CommentedMap):
        raise LexiconError(path, line, "each entry must be a mapping with an `id`")
    unknown = set(raw) - _ENTRY_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise LexiconError(path, _key_line(raw, key) or line,
                           f"unknown key {key!r} (allowed: {', '.join(sorted(_ENTRY_KEYS))})")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        raise LexiconError(path, line, "entry without a valid `id` (letters, digits, . _ -)")
    phrases = _phrases(path, raw, entry_id)
    patterns = _patterns(path, raw, entry_id)
    if not phrases and not patterns:
        raise LexiconError(path, line, f"entry {entry_id!r} has neither `phrases` nor `patterns`")
    needs = raw.get("needs") or []
    if not isinstance(needs, list) or not all(isinstance(n, str) and _NAME.match(n) for n in needs):
        raise LexiconError(path, _key_line(raw, "needs") or line,
                           f"entry {entry_id!r}: `needs` must be a list of need names")
    if needs and category not in DISTRESS_LEVELS:
        raise LexiconError(path, _key_line(raw, "needs") or line,
                           f"entry {entry_id!r}: `needs` is only for distress files")
    return Entry(entry_id, category, language, phrases, patterns, tuple(needs), f"{path}:{line}")


def _phrases(path: Path, raw: CommentedMap, entry_id: str) -> Tuple[str, ...]:
    phrases = raw.get("phrases")
    if phrases is None:
        return ()
    line = _key_line(raw, "phrases")
    if not isinstance(phrases, list):
        raise LexiconError(path, line, f"entry {entry_id!r}: `phrases` must be a list")
    for i, phrase in enumerate(phrases):
        if not isinstance(phrase, str) or not phrase.strip():
            item_line = phrases.lc.item(i)[0] + 1 if isinstance(phrases, CommentedSeq) else line
            raise LexiconError(path, item_line, f"entry {entry_id!r}: phrase {i + 1} is empty or not text")
    return tuple(p.strip() for p in phrases)


def _patterns(path: Path, raw: CommentedMap, entry_id: str) -> Tuple[Any, ...]:
    patterns = raw.get("patterns")
    if patterns is None:
        return ()
    if not isinstance(patterns, list):
        raise LexiconError(path, _key_line(raw, "patterns"), f"entry {entry_id!r}: `patterns` must be a list")
    checked = []
    for i, pattern in enumerate(patterns):
        item_line = patterns.lc.item(i)[0] + 1 if isinstance(patterns, CommentedSeq) else None
        problem = check_pattern(pattern)
        if problem:
            raise LexiconError(path, item_line, f"entry {entry_id!r}: pattern {i + 1}: {problem}")
        checked.append(_plain(pattern))
    return tuple(checked)


def check_pattern(pattern: Any) -> Optional[str]:
    """None if spaCy's Matcher accepts the token pattern, else what is wrong with it."""
    from spacy.matcher import Matcher
    from spacy.vocab import Vocab

    if not isinstance(pattern, list) or not pattern or not all(isinstance(t, dict) for t in pattern):
        return "a pattern is a non-empty list of token mappings, e.g. [{LOWER: lost}, {LOWER: my}]"
    try:
        Matcher(Vocab(), validate=True).add("check", [_plain(pattern)])
    except Exception as error:  # spaCy raises ValueError/MatcherError with a long table
        first = str(error).strip().splitlines()
        return "spaCy rejects it: " + " ".join(line.strip() for line in first[:4] if line.strip())
    return None


def _plain(value: Any) -> Any:
    """ruamel's commented containers to plain dicts and lists (spaCy wants plain ones)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _key_line(mapping: Any, key: str) -> Optional[int]:
    try:
        return mapping.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def _line_of(entry: Entry) -> Optional[int]:
    try:
        return int(entry.source.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def entries_by_category(entries: Sequence[Entry]) -> Dict[str, List[Entry]]:
    grouped: Dict[str, List[Entry]] = {}
    for entry in entries:
        grouped.setdefault(entry.category, []).append(entry)
    return grouped
