"""The signal grammar: word classes, the rules that combine them, and spelling variants.

Trainers edit three files per language beside the phrase lexicons (`data/lexicons/signals/<lang>/`):

    classes.yml    classes:                      # word classes: words that carry one idea
                     intent: [想, 打算, 宁可]
                     death:  [去死, 了结, 不在了]
                   ignore: [想问, 死亡待遇]       # no class word counts inside these phrases
                   asked_about:                  # a word named as the subject of a rules question
                     words: [自杀, 自伤]          # ("自杀能报销吗") counts for nothing, unless an
                     near: [报销, 工伤, 保险]     # `intent` word stands right before it
                     within: 16
                   people:                       # the people a message is about, by role: several
                     spouse: [老公, 老伴]         # needs across several people is a compounded
                     child: [儿子, 闺女]          # situation (complexity high, bot/signals/detector.py)
    rules.yml      rules:
                     - id: zh.rule.intent_death  # shown to agents as the rule, like a lexicon id
                       level: crisis             # concern | urgent | crisis
                       match: [intent, death]    # classes, in this order (any_order: true for any)
                       within: 8                 # characters (zh) or words (en), first to last
                       needs: [health]           # optional, as in the distress lexicons
                       other: crisis             # optional: the level when the act is someone else's
                                                 # ("my dad has bought the pesticide"); default concern
    spelling.yml   spelling:                     # variant -> what it stands for, read before matching
                     紫砂: 自杀
                     kms: kill myself

A rule fires when its classes occur within `within` of each other in one sentence; the hit then
goes through the same negation and reported-speech checks as a lexicon phrase. Loading is pure
apart from reading the files; any problem raises `LexiconError` naming the file, line and problem.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.signals.lexicon import (_ID, _NAME, DISTRESS_LEVELS, GRAMMAR_FILES, LANGUAGES, LexiconError, _key_line,
                                read_mapping)

__all__ = ["GRAMMAR_FILES", "AskedAbout", "Grammar", "Rule", "load_grammar"]
_RULE_KEYS = {"id", "level", "match", "within", "any_order", "needs", "other", "note"}
MAX_WITHIN = 60


@dataclass(frozen=True)
class Rule:
    id: str
    language: str
    level: str
    classes: Tuple[str, ...]
    within: int
    any_order: bool = False
    needs: Tuple[str, ...] = ()
    source: str = ""
    #: The level when the act is someone else's: a plan, a means at hand or an act under way is a
    #: crisis whoever it is about (the claimant is told who to call now); a wish, concern.
    other: str = "concern"


@dataclass(frozen=True)
class AskedAbout:
    """Words that, near a rules word in one sentence, name a topic of a question, not a person's act."""

    words: Tuple[str, ...]
    near: Tuple[str, ...]
    within: int


@dataclass
class Grammar:
    """Per language: word classes, ignored phrases, rules and spelling variants."""

    classes: Dict[str, Dict[str, Tuple[str, ...]]] = field(default_factory=dict)
    ignore: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    asked_about: Dict[str, Optional[AskedAbout]] = field(default_factory=dict)
    people: Dict[str, Dict[str, Tuple[str, ...]]] = field(default_factory=dict)
    rules: List[Rule] = field(default_factory=list)
    spelling: Dict[str, Dict[str, str]] = field(default_factory=dict)

    def rules_for(self, language: str) -> List[Rule]:
        return [rule for rule in self.rules if rule.language == language]


def load_grammar(directory: Path) -> Grammar:
    """The grammar files of every language under `directory`; a missing file is an empty part."""
    grammar = Grammar()
    seen: Dict[str, str] = {}
    for language in LANGUAGES:
        folder = Path(directory) / language
        classes, ignore, asked, people = _classes(folder / "classes.yml")
        grammar.classes[language], grammar.ignore[language] = classes, ignore
        grammar.asked_about[language], grammar.people[language] = asked, people
        grammar.spelling[language] = _spelling(folder / "spelling.yml")
        for rule in _rules(folder / "rules.yml", language, classes):
            if rule.id in seen:
                raise LexiconError(folder / "rules.yml", _line(rule), f"duplicate id {rule.id!r} (also at {seen[rule.id]})")
            seen[rule.id] = rule.source
            grammar.rules.append(rule)
    return grammar


def _read(path: Path) -> Optional[CommentedMap]:
    return read_mapping(path) if path.exists() else None


def _words(path: Path, value: Any, line: Optional[int], what: str) -> Tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise LexiconError(path, line, f"{what} must be a non-empty list of words")
    words = []
    for i, word in enumerate(value):
        if not isinstance(word, str) or not word.strip():
            item = value.lc.item(i)[0] + 1 if isinstance(value, CommentedSeq) else line
            raise LexiconError(path, item, f"{what}: item {i + 1} is empty or not text")
        words.append(word.strip().lower())
    return tuple(words)


Classes = Dict[str, Tuple[str, ...]]


def _classes(path: Path) -> Tuple[Classes, Tuple[str, ...], Optional[AskedAbout], Classes]:
    document = _read(path)
    if document is None:
        return {}, (), None, {}
    unknown = set(document) - {"classes", "ignore", "asked_about", "people", "note"}
    if unknown:
        key = sorted(unknown)[0]
        raise LexiconError(path, _key_line(document, key),
                           f"unknown key {key!r} (allowed: classes, ignore, asked_about, people, note)")
    raw = document.get("classes")
    if not isinstance(raw, CommentedMap) or not raw:
        raise LexiconError(path, _key_line(document, "classes") or 1, "`classes:` must map class names to word lists")
    classes = {}
    for name, words in raw.items():
        line = _key_line(raw, name)
        if not isinstance(name, str) or not _NAME.match(name):
            raise LexiconError(path, line, f"class name {name!r}: lower-case letters and _ only")
        classes[name] = _words(path, words, line, f"class {name!r}")
    ignore = document.get("ignore")
    ignored = _words(path, ignore, _key_line(document, "ignore"), "`ignore`") if ignore else ()
    return classes, ignored, _asked_about(path, document), _people(path, document)


def _people(path: Path, document: CommentedMap) -> Classes:
    """`people:` role -> words (optional)."""
    raw = document.get("people")
    if raw is None:
        return {}
    if not isinstance(raw, CommentedMap) or not raw:
        raise LexiconError(path, _key_line(document, "people"), "`people:` must map roles to word lists")
    roles = {}
    for role, words in raw.items():
        line = _key_line(raw, role)
        if not isinstance(role, str) or not _NAME.match(role):
            raise LexiconError(path, line, f"role name {role!r}: lower-case letters and _ only")
        roles[role] = _words(path, words, line, f"people role {role!r}")
    return roles


def _asked_about(path: Path, document: CommentedMap) -> Optional[AskedAbout]:
    raw = document.get("asked_about")
    if raw is None:
        return None
    line = _key_line(document, "asked_about")
    if not isinstance(raw, CommentedMap) or set(raw) - {"words", "near", "within"}:
        raise LexiconError(path, line, "`asked_about` needs `words`, `near` and `within` only")
    within = raw.get("within", 16)
    if not isinstance(within, int) or isinstance(within, bool) or not 1 <= within <= MAX_WITHIN:
        raise LexiconError(path, _key_line(raw, "within") or line, f"`asked_about.within` must be 1-{MAX_WITHIN}")
    return AskedAbout(_words(path, raw.get("words"), _key_line(raw, "words") or line, "`asked_about.words`"),
                      _words(path, raw.get("near"), _key_line(raw, "near") or line, "`asked_about.near`"), within)


def _spelling(path: Path) -> Dict[str, str]:
    document = _read(path)
    if document is None:
        return {}
    raw = document.get("spelling")
    if not isinstance(raw, CommentedMap) or set(document) - {"spelling", "note"}:
        raise LexiconError(path, 1, "the file must have one key `spelling:` mapping variants to what they stand for")
    mapping = {}
    for variant, meant in raw.items():
        if not isinstance(variant, str) or not isinstance(meant, str) or not variant.strip() or not meant.strip():
            raise LexiconError(path, _key_line(raw, variant), f"spelling {variant!r}: both sides must be text")
        mapping[variant.strip().lower()] = meant.strip().lower()
    return mapping


def _rules(path: Path, language: str, classes: Dict[str, Tuple[str, ...]]) -> List[Rule]:
    document = _read(path)
    if document is None:
        return []
    raw = document.get("rules")
    if not isinstance(raw, CommentedSeq) or not raw:
        raise LexiconError(path, _key_line(document, "rules") or 1, "`rules:` must be a non-empty list")
    return [_rule(path, language, classes, item, raw.lc.item(i)[0] + 1) for i, item in enumerate(raw)]


def _rule(path: Path, language: str, classes: Dict[str, Tuple[str, ...]], raw: Any, line: int) -> Rule:
    if not isinstance(raw, CommentedMap):
        raise LexiconError(path, line, "each rule must be a mapping with an `id`")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise LexiconError(path, _key_line(raw, key) or line, f"unknown key {key!r} (allowed: {', '.join(sorted(_RULE_KEYS))})")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise LexiconError(path, line, "rule without a valid `id` (letters, digits, . _ -)")
    level = raw.get("level")
    if level not in DISTRESS_LEVELS:
        raise LexiconError(path, _key_line(raw, "level") or line,
                           f"rule {rule_id!r}: `level` must be one of {', '.join(DISTRESS_LEVELS)}")
    match = raw.get("match")
    if not isinstance(match, list) or not match or not all(isinstance(m, str) for m in match):
        raise LexiconError(path, _key_line(raw, "match") or line, f"rule {rule_id!r}: `match` must list word classes")
    for name in match:
        if name not in classes:
            raise LexiconError(path, _key_line(raw, "match") or line,
                               f"rule {rule_id!r}: unknown word class {name!r} (classes.yml has {', '.join(sorted(classes))})")
    within = raw.get("within", 8)
    if not isinstance(within, int) or isinstance(within, bool) or not 1 <= within <= MAX_WITHIN:
        raise LexiconError(path, _key_line(raw, "within") or line, f"rule {rule_id!r}: `within` must be 1-{MAX_WITHIN}")
    needs = raw.get("needs") or []
    if not isinstance(needs, list) or not all(isinstance(n, str) and _NAME.match(n) for n in needs):
        raise LexiconError(path, _key_line(raw, "needs") or line, f"rule {rule_id!r}: `needs` must be a list of need names")
    other = raw.get("other", "concern")
    if other not in DISTRESS_LEVELS or DISTRESS_LEVELS.index(other) > DISTRESS_LEVELS.index(level):
        raise LexiconError(path, _key_line(raw, "other") or line,
                           f"rule {rule_id!r}: `other` must be a level no higher than `level` ({level})")
    return Rule(rule_id, language, level, tuple(match), within, bool(raw.get("any_order", False)),
                tuple(needs), f"{path}:{line}", other)


def _line(rule: Rule) -> Optional[int]:
    tail = rule.source.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None
