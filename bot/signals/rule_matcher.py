"""Where the grammar's rules fire in one message (bot/signals/grammar.py has the file format).

Chinese class words are matched on characters (jieba cuts a phrase differently inside a sentence
than alone), English ones on spaCy's lower-cased tokens; a class word ending in `*` matches any
English word that begins so (`kill*`: kill, killing, killed). A class word inside an `ignore`
phrase does not count (`想` inside `想问`, `死` inside `死亡待遇`, `dying` inside `dying to know`).
A rule fires when its classes occur, in order (or in any order), within `within` characters
(Chinese) or words (English) of each other in one sentence. Pure: no I/O after construction.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from bot.signals.grammar import Grammar, Rule

_SENTENCE_END = {"zh": set("。!！?？;；\n…"), "en": {".", "!", "?", ";", "\n", "…"}}
_IGNORE = "ignore"
_ASKED, _NEAR = "asked:word", "asked:near"


@dataclass(frozen=True)
class RuleHit:
    rule: Rule
    start: int  # character offsets into the text the docs were made from
    end: int
    #: where the rule's last class begins (in-order rules): a condition's consequence can be
    #: denied inside the span ("if they don't pay I'm not going to kill myself")
    head: Optional[int] = None
    #: where the class before the last one ends: a negation before it is the condition's
    head_from: Optional[int] = None


@dataclass(frozen=True)
class _Occurrence:
    start: int  # unit index (character for zh, token for en), end exclusive
    end: int


class RuleMatcher:
    """Built once per process from the grammar and the detector's vocabularies."""

    def __init__(self, grammar: Grammar, vocabs: Dict[str, Vocab], make_doc: Dict[str, Callable[[str], Doc]]):
        self.grammar = grammar
        self._phrases: Dict[str, PhraseMatcher] = {}
        self._prefixes: Dict[str, Matcher] = {}
        self._rules = {language: grammar.rules_for(language) for language in vocabs}
        for language, vocab in vocabs.items():
            phrases = PhraseMatcher(vocab, attr="ORTH" if language == "zh" else "LOWER")
            prefixes = Matcher(vocab)
            for name, words in grammar.classes.get(language, {}).items():
                whole = [w for w in words if not (language == "en" and w.endswith("*"))]
                if whole:
                    phrases.add(name, [make_doc[language](w) for w in whole])
                for word in words:
                    if language == "en" and word.endswith("*"):
                        stems = word[:-1].split()
                        pattern = [{"LOWER": stem} for stem in stems[:-1]] + [{"LOWER": {"REGEX": f"^{stems[-1]}"}}]
                        prefixes.add(name, [pattern])
            if grammar.ignore.get(language):
                phrases.add(_IGNORE, [make_doc[language](w) for w in grammar.ignore[language]])
            asked = grammar.asked_about.get(language)
            if asked:
                phrases.add(_ASKED, [make_doc[language](w) for w in asked.words])
                phrases.add(_NEAR, [make_doc[language](w) for w in asked.near])
            self._phrases[language], self._prefixes[language] = phrases, prefixes

    def read(self, language: str, doc: Doc) -> Tuple[List[RuleHit], List[Tuple[int, int]]]:
        """The rules that fire in `doc` (a character doc for zh, a token doc for en), and the
        character spans nothing may count in: the `ignore` phrases ("starving for info",
        "急死了") and the words asked about in a rules question ("自杀能报销吗")."""
        if language not in self._phrases or len(doc) == 0:
            return [], []
        strings = doc.vocab.strings
        found: Dict[str, List[_Occurrence]] = {}
        matches = list(self._phrases[language](doc))
        if len(self._prefixes[language]):
            matches += list(self._prefixes[language](doc))
        for match_id, start, end in matches:
            found.setdefault(strings[match_id], []).append(_Occurrence(start, end))
        sentence_of = _sentence_index(doc, language)
        ignored = [(o.start, o.end) for o in found.pop(_IGNORE, [])]
        ignored += self._asked_about(language, found.pop(_ASKED, []), found.pop(_NEAR, []),
                                     found.get("intent", []), sentence_of)
        if ignored:
            found = {name: [o for o in occurrences if not any(s <= o.start and o.end <= e for s, e in ignored)]
                     for name, occurrences in found.items()}
        for occurrences in found.values():
            occurrences.sort(key=lambda o: (o.start, o.end))
        hits = []
        for rule in self._rules.get(language, []):
            if not all(found.get(name) for name in rule.classes):
                continue
            span = (_any_order if rule.any_order else _in_order)(rule, found, sentence_of)
            if span:
                head = _char(doc, span[2]) if len(span) > 2 else None
                head_from = _char_end(doc, span[3]) if len(span) > 2 else None
                hits.append(RuleHit(rule, _char(doc, span[0]), _char_end(doc, span[1]), head, head_from))
        return hits, [(_char(doc, s), _char_end(doc, e)) for s, e in ignored]

    def _asked_about(self, language: str, words: List[_Occurrence], near: List[_Occurrence],
                     intents: List[_Occurrence], sentence_of: Sequence[int]) -> List[Tuple[int, int]]:
        asked = self.grammar.asked_about.get(language)
        if not asked or not words or not near:
            return []
        spans = []
        for word in words:
            if any(i.end in (word.start, word.start - 1) for i in intents):
                continue  # "想自杀": a wish, not a topic
            if any(sentence_of[n.start] == sentence_of[word.start]
                   and max(n.end, word.end) - min(n.start, word.start) <= asked.within for n in near):
                spans.append((word.start, word.end))
        return spans


def _char(doc: Doc, token: int) -> int:
    return doc[token].idx


def _char_end(doc: Doc, token_end: int) -> int:
    last = doc[token_end - 1]
    return last.idx + len(last.text)


def _sentence_index(doc: Doc, language: str) -> List[int]:
    ends = _SENTENCE_END[language]
    index, current = [], 0
    for token in doc:
        index.append(current)
        if token.text in ends:
            current += 1
    return index


def _in_order(rule: Rule, found: Dict[str, List[_Occurrence]], sentence_of: Sequence[int]):
    """The first span where the rule's classes occur in order within its window, or None."""
    for first in found[rule.classes[0]]:
        end, head, before_head, ok = first.end, first.start, first.end, True
        for name in rule.classes[1:]:
            occurrences = found[name]
            i = bisect_left([o.start for o in occurrences], end)
            if i >= len(occurrences):
                ok = False
                break
            before_head, (end, head) = end, (occurrences[i].end, occurrences[i].start)
        if ok and end - first.start <= rule.within and sentence_of[first.start] == sentence_of[end - 1]:
            return first.start, end, head, before_head
    return None


def _any_order(rule: Rule, found: Dict[str, List[_Occurrence]], sentence_of: Sequence[int]):
    """The first span holding every class of the rule within its window, in any order, or None."""
    for anchor in found[rule.classes[0]]:
        start, end = anchor.start, anchor.end
        for name in rule.classes[1:]:
            near = [o for o in found[name]
                    if max(end, o.end) - min(start, o.start) <= rule.within
                    and sentence_of[o.start] == sentence_of[anchor.start]]
            if not near:
                break
            closest = min(near, key=lambda o: abs(o.start - anchor.start))
            start, end = min(start, closest.start), max(end, closest.end)
        else:
            return start, end
    return None
