"""Distress and complexity signals for one message: pure logic over spaCy matchers and the lexicons.

    detector = detector_for(path)                       # once per process (matchers, model)
    detector.detect("我没有想死,只是房租交不起了")        # -> the `signals` dict (see docs/signals.md)

How a level is reached, in order (docs/signals.md explains why):
1. Traditional characters become Simplified (zhconv); curly apostrophes become straight ones;
   spelling variants (euphemisms, Cantonese forms, symbols inside words) become what they stand
   for (bot/signals/spelling.py).
2. Chinese phrases are matched on characters (jieba may cut a phrase differently inside a sentence
   than alone); Chinese token patterns on jieba words; English phrases and patterns on spaCy's
   blank English tokens, lower-cased. Both languages run on every message (mixed text). The
   grammar's rules (word classes combined within a window, bot/signals/rule_matcher.py) fire
   like phrases, with their rule id as the entry.
3. A match is dropped when a negation or denial governs it ("I'm not suicidal", "我没有想死").
4. A `crisis` match about someone else ("my neighbour said she wants to die", "他想自杀") is
   kept, as `concern` with rule `<id>@other`: worth passing on, but not the claimant's own crisis.
5. `concern` becomes `urgent` only when an intensifier governs a concern match and two more,
   different concern entries also matched; the intensifier is shown as evidence.
6. The statistical backstop (bot/signals/backstop.py) reads each sentence window of the message;
   it may raise the level, above its calibrated thresholds only, with the n-grams that weighed
   most as evidence (rule `model:<lang>.<level>`). It never lowers a level.
Every level above none carries the words that raised it and the lexicon entry, rule or model.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import spacy
import zhconv
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from bot.signals.grammar import Grammar, load_grammar
from bot.signals.lexicon import DISTRESS_LEVELS, INTENSIFIER, Entry, Lexicon, LexiconError, load_lexicon
from bot.signals.people import People
from bot.signals.rule_matcher import RuleMatcher
from bot.signals.spelling import Speller

NONE = "none"
#: Needs that make complexity high by themselves, in a message and in a long letter.
HIGH_NEEDS, HIGH_NEEDS_LONG, LONG_LETTER_CHARS = 3, 4, 250
#: Needs spread over this many people (roles: spouse, child, parent...) make it high with one need
#: less; a long letter names more people in passing, so it takes one more.
HIGH_PEOPLE, HIGH_PEOPLE_LONG = 2, 3
PEOPLE_NEEDS = ("dependants",)
#: A letter that tells of several situations at once: needs, the people they belong to (at most
#: three counted), several separate asks (`ask` class words, three or more), and the writer saying
#: so (`compound` class: "complicated", "how does it all fit together", 情况比较复杂) add up to a
#: score; this many make complexity high (a long letter spells one question out at length, so it
#: takes more). Calibrated on the challenge rounds' plain letters (docs/signals.md).
#: Per language: (score, score in a long letter, characters from which a letter is long). Chinese
#: letters pack more into fewer characters, and its plain letters scored higher: its bars are higher.
COMPOUND_BARS = {"en": (4, 6, 400), "zh": (6, 8, 150)}
COMPOUND_ASKS = 3
LEVELS = (NONE,) + DISTRESS_LEVELS
COMPLEXITY_LEVELS = (NONE, "some", "high")
OTHER_SUFFIX = "@other"

_NEGATION = {
    "en": {"not", "n't", "nt", "never", "no", "without", "neither", "nor", "nobody"},
    "zh": {"不", "没", "没有", "不是", "并不", "并没有", "并没", "从不", "从没", "从没有", "从来不",
           "从来没", "从来没有", "未", "未曾", "从未", "别", "不会", "绝不", "决不", "绝对不", "并非",
           "不要", "不用", "没想", "不曾", "不至于"},
}
# Words right after a negation cue that undo it: "no longer", "never been so", "不知道", "从没这么".
_PSEUDO = {
    "en": {"longer", "only", "just", "know", "sure", "so", "more", "such", "this", "even", "matter",
           "anymore", "any", "stop", "help", "breathe", "sleep", "eat", "cope", "afford", "pay", "stand", "bear",
           "face", "work", "find", "see", "get", "believe", "wait"},
    "zh": {"知道", "晓得", "清楚", "这么", "那么", "如此", "这样", "更", "再", "止", "得不", "一样"},
}
# Negation does not reach across these.
_CLAUSE_END = {
    "en": {",", ".", ";", ":", "!", "?", "…", "-", "—", "but", "and", "so", "because", "though",
           "although", "however", "yet", "then", "if", "when", "while", "since"},
    # full-width marks written as escapes: an editor's normalisation once turned them into ASCII
    "zh": {",", "\uff0c", "。", ";", "\uff1b", ":", "\uff1a", "!", "\uff01", "?", "\uff1f", "…", "、", "但", "但是", "可是",
           "可", "所以", "因为", "而且", "然后", "却", "如果", "要是", "只是", "不过", "\n", " "},
}
_SENTENCE_END = {"en": {".", "!", "?", "…", "\n"}, "zh": {"。", "!", "\uff01", "?", "\uff1f", "…", "\n", "."}}
_COMPLEMENT = {"住", "了", "下", "起", "着", "动", "上", "过", "来", "去", "开", "完"}
_NEGATION_WINDOW = {"en": 4, "zh": 5}  # Chinese: context words and single characters (_context_doc)
_INTENSIFIER_GAP = {"en": 2, "zh": 4}

# Who a self-harm match is about: the nearest person word before it in the sentence.
_SELF = {"en": {"i", "me", "my", "myself", "im", "we", "us", "our"},
         "zh": {"我", "我们", "俺", "本人", "咱", "咱们"}}
_OTHER = {
    "en": {"he", "she", "they", "him", "her", "his", "them", "their", "himself", "herself",
           "themselves", "someone", "somebody", "anyone", "people", "person", "friend", "friends",
           "neighbour", "neighbor", "son", "daughter", "husband", "wife", "partner", "mother", "mum",
           "mom", "father", "dad", "brother", "sister", "child", "kid", "colleague", "boyfriend",
           "girlfriend", "uncle", "aunt", "cousin", "grandmother", "grandfather", "grandma",
           "grandpa", "nan", "man", "woman", "client", "tenant", "flatmate", "roommate", "relative",
           "parent", "parents", "nephew", "niece", "student", "patient"},
    "zh": {"他", "她", "他们", "她们", "朋友", "邻居", "儿子", "女儿", "孩子", "丈夫", "老公", "妻子",
           "老婆", "爱人", "母亲", "妈妈", "妈", "父亲", "爸爸", "爸", "哥哥", "哥", "弟弟", "弟", "姐姐",
           "姐", "妹妹", "妹", "同事", "别人", "有人", "亲戚", "老人", "婆婆", "公公", "岳父", "岳母",
           "奶奶", "爷爷", "外婆", "外公", "家人", "对方", "男友", "女友", "室友", "病人", "工友",
           "同学", "侄子", "外甥", "老乡", "房客", "租客"},
}
_OTHER_REFLEXIVE = {"himself", "herself", "themselves", "他自己", "她自己"}
# The Chinese words the context rules read as words; every other character is read alone.
_ZH_CONTEXT = re.compile("|".join(re.escape(w) for w in sorted(
    _NEGATION["zh"] | _PSEUDO["zh"] | _CLAUSE_END["zh"] | _SELF["zh"] | _OTHER["zh"] | {"自己"},
    key=len, reverse=True) if len(w) > 1) + r"|.", re.S)


@dataclass(frozen=True)
class Hit:
    """One lexicon match, before interpretation."""

    entry: Entry
    start: int  # character offsets into the simplified text
    end: int
    text: str
    head: Optional[Tuple[int, int]] = None  # a condition rule's consequence (from, start): a negation there denies it


_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def to_simplified(text: str) -> str:
    return zhconv.convert(text, "zh-cn")


def _clean(text: str) -> str:
    return to_simplified(text or "").replace("\u2019", "'").replace("\u2018", "'")


@functools.lru_cache(maxsize=4)
def detector_for(directory: Path) -> "SignalDetector":
    """The detector of a lexicon folder (phrases, grammar, and the backstop trained on its
    corpus), built once per process. Raises LexiconError for a file with a problem."""
    from bot.signals.backstop import Backstop

    directory = Path(directory)
    cache = Path(__file__).resolve().parents[2] / "models"  # retrained when the corpus or the code changes
    return SignalDetector(load_lexicon(directory), load_grammar(directory),
                          Backstop.train_from(directory.parent / "signals-corpus", cache=cache))


class SignalDetector:
    """Builds the matchers once; `detect` is then pure and cheap (a few ms per message)."""

    def __init__(self, lexicon: Lexicon, grammar: Optional[Grammar] = None, backstop: Any = None):
        self.lexicon = lexicon
        self.grammar = grammar or Grammar()
        self.backstop = backstop
        self._speller = Speller(self.grammar.spelling)
        self._people = People(self.grammar.people)
        self._prescribed = {language: _word_pattern((), classes.get("prescribed", ()), language)[1]
                            for language, classes in self.grammar.classes.items()}
        self._compound_words = {language: _word_pattern(classes.get("ask", ()), classes.get("compound", ()), language)
                                for language, classes in self.grammar.classes.items()}
        self._nlp = {
            "zh": spacy.blank("zh"),  # a vocabulary for the character and context docs; no segmenter runs
            "en": spacy.blank("en"),
        }
        self._by_hash: Dict[int, Entry] = {}
        self._phrases: Dict[str, PhraseMatcher] = {}
        self._patterns: Dict[str, Matcher] = {}
        for language, nlp in self._nlp.items():
            phrases = PhraseMatcher(nlp.vocab, attr="LOWER" if language == "en" else "ORTH")
            patterns = Matcher(nlp.vocab)
            for entry in lexicon.for_language(language):
                self._by_hash[nlp.vocab.strings.add(entry.id)] = entry
                if entry.phrases:
                    phrases.add(entry.id, [self._phrase_doc(language, p) for p in entry.phrases])
                if entry.patterns:
                    try:
                        patterns.add(entry.id, [list(p) for p in entry.patterns])
                    except Exception as error:  # checked at load; kept for lexicons built in code
                        path, _, line = entry.source.rpartition(":")
                        raise LexiconError(path, int(line) if line.isdigit() else None,
                                           f"entry {entry.id!r}: {error}") from None
            self._phrases[language], self._patterns[language] = phrases, patterns
        self._rules = RuleMatcher(self.grammar, {k: nlp.vocab for k, nlp in self._nlp.items()},
                                  {"zh": self._char_doc, "en": self._nlp["en"].make_doc})
        self._rule_entries = {rule.id: Entry(rule.id, rule.level, rule.language, needs=rule.needs,
                                             source=rule.source, other=rule.other) for rule in self.grammar.rules}

    # ---------------------------------------------------------------- matching

    def _phrase_doc(self, language: str, phrase: str) -> Doc:
        phrase = _clean(phrase)
        if language == "en":
            return self._nlp["en"].make_doc(phrase)
        return self._char_doc(phrase.lower())

    def _context_doc(self, text: str) -> Doc:
        """Chinese text as the negation, person and clause words the context rules read, and
        every other character alone: the context rules need no more, and it is ten times cheaper
        than segmenting a 2,000-character letter with jieba."""
        words = _ZH_CONTEXT.findall(text.lower())
        return Doc(self._nlp["zh"].vocab, words=words or [" "], spaces=[False] * (len(words) or 1))

    def _char_doc(self, text: str) -> Doc:
        return Doc(self._nlp["zh"].vocab, words=list(text), spaces=[False] * len(text))

    def normalise(self, text: str) -> str:
        """What the matchers read: Simplified characters, straight quotes, spellings resolved."""
        return self._speller.normalise(_clean(text))

    def hits(self, text: str) -> Tuple[str, Dict[str, Doc], List[Hit]]:
        """The normalised text, the word-level doc per language, and every raw match."""
        clean, _, docs, found = self._read(text)
        return clean, docs, found

    def _read(self, text: str) -> Tuple[str, str, Dict[str, Doc], List[Hit]]:
        """hits(), and the text the backstop reads (the `ignore` phrases blanked out)."""
        clean = self.normalise(text)
        for_model = clean  # what the backstop reads: the ignore phrases blanked out
        docs: Dict[str, Doc] = {}
        found: List[Hit] = []
        if not clean.strip():
            return clean, for_model, docs, found
        has_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in clean)
        has_latin = any("a" <= ch <= "z" for ch in clean.lower())
        if has_cjk:
            doc = docs["zh"] = self._context_doc(clean)
            chars = self._char_doc(clean.lower())
            for match_id, start, end in self._phrases["zh"](chars):
                found.append(self._hit(match_id, start, end, clean))
            for match_id, start, end in (self._patterns["zh"](doc) if len(self._patterns["zh"]) else ()):
                span = doc[start:end]
                found.append(self._hit(match_id, span.start_char, span.end_char, clean))
            rule_hits, ignored = self._rules.read("zh", chars)
            found, for_model = _outside(found, ignored), _blank(for_model, ignored)
            for rule_hit in rule_hits:
                found.append(Hit(self._rule_entries[rule_hit.rule.id], rule_hit.start, rule_hit.end,
                                 clean[rule_hit.start:rule_hit.end], _consequence(rule_hit)))
        if has_latin:  # Chinese characters become spaces: "我想kill myself" reads "  kill myself", offsets kept
            doc = docs["en"] = self._nlp["en"].make_doc(_CJK.sub(" ", clean) if has_cjk else clean)
            for matcher in (self._phrases["en"], self._patterns["en"]):
                for match_id, start, end in (matcher(doc) if len(matcher) else ()):
                    span = doc[start:end]
                    found.append(self._hit(match_id, span.start_char, span.end_char, clean))
            rule_hits, ignored = self._rules.read("en", doc)
            english = _outside([h for h in found if h.entry.language == "en"], ignored)
            for_model = _blank(for_model, ignored)
            found = [h for h in found if h.entry.language != "en"] + english
            for rule_hit in rule_hits:
                found.append(Hit(self._rule_entries[rule_hit.rule.id], rule_hit.start, rule_hit.end,
                                 clean[rule_hit.start:rule_hit.end], _consequence(rule_hit)))
        return clean, for_model, docs, _longest_first(found)

    def _hit(self, match_id: int, start: int, end: int, text: str) -> Hit:
        return Hit(self._by_hash[match_id], start, end, text[start:end])

    # ---------------------------------------------------------------- interpretation

    def detect(self, text: Optional[str]) -> Dict[str, Any]:
        """The `signals` dict for one message. Never raises on odd text; empty text gives none."""
        clean, for_model, docs, found = self._read(text or "")
        distress: List[Tuple[str, Hit, str]] = []  # (level, hit, rule)
        intensifiers: List[Hit] = []
        needs: Dict[str, List[Hit]] = {}
        settled: Set[str] = set()  # levels the rules read as denied or about someone else
        for hit in found:
            language = hit.entry.language
            doc = docs.get(language)
            if doc is None:
                continue
            if hit.entry.category == INTENSIFIER:
                intensifiers.append(hit)
                continue
            if is_negated(doc, hit.start, hit.end, language) or (
                    hit.head is not None and is_negated(doc, hit.head[1], hit.end, language, since=hit.head[0])):
                if hit.entry.is_distress:
                    settled.add("denied")  # "I'm not suicidal": the model may not say otherwise
                continue
            if hit.entry.is_distress:
                level, rule = hit.entry.category, hit.entry.id
                if level == "crisis" and is_about_someone_else(doc, hit.start, hit.end, language):
                    # someone else's: a wish reported is a concern; a plan, a means at hand or an
                    # act under way is a crisis (the claimant is told who to call now)
                    level, rule = hit.entry.other, hit.entry.id + OTHER_SUFFIX
                    if level != "crisis":
                        settled.add("crisis")  # the model may not make a reported wish the claimant's
                distress.append((level, hit, rule))
                for need in hit.entry.needs:
                    needs.setdefault(need, []).append(hit)
            elif hit.entry.is_need:
                needs.setdefault(hit.entry.category, []).append(hit)

        level = max((lvl for lvl, _, _ in distress), key=LEVELS.index, default=NONE)
        evidence = [(lvl, {"text": h.text, "rule": rule}) for lvl, h, rule in distress]
        if level == "concern":
            raised = _intensified(distress, intensifiers, docs)
            if raised:
                level = "urgent"
                evidence.append(("urgent", {"text": raised.text, "rule": raised.entry.id}))
        if self.backstop is not None and level != "crisis":
            judged = self.backstop.assess(for_model)
            if judged is not None and (judged.level in settled or "denied" in settled):
                judged = None  # the words the model reads were denied or were about someone else
            if judged is not None and judged.level in ("urgent", "crisis") and not distress and self._as_prescribed(clean, docs):
                judged = None  # "my son will take the pills the doctor gave him": a treatment, not a means
            if judged is not None and judged.evidence and LEVELS.index(judged.level) > LEVELS.index(level):
                level = judged.level
                evidence.append((level, {"text": " / ".join(judged.evidence), "rule": judged.rule}))
        evidence.sort(key=lambda item: -LEVELS.index(item[0]))
        distress_evidence = _unique(e for _, e in evidence)
        # a crisis that is only someone else's ("my father has bought the pesticide"): the response
        # tells the claimant who to call for them, instead of speaking to the claimant's own feelings
        crisis_rules = [rule for lvl, _, rule in distress if lvl == "crisis"]
        someone_else = (level == "crisis" and bool(crisis_rules)
                        and all(rule.endswith(OTHER_SUFFIX) for rule in crisis_rules))

        need_names = sorted(needs)
        # a long letter names more of a life: it takes one more need to count as compounded
        many = HIGH_NEEDS_LONG if len(clean) >= LONG_LETTER_CHARS else HIGH_NEEDS
        # two needs and distress: distress the rules found, or the model above concern
        ruled = any(lvl != NONE for lvl, _, _ in distress) or level in ("urgent", "crisis")
        # the needs of several people (a sick mother, a husband out of work): one need fewer
        # (having dependants is itself about people, so it does not count twice here)
        own = [name for name in need_names if name not in PEOPLE_NEEDS]
        people = self._people_named(clean, docs) if len(own) >= max(2, many - 1) else {}
        enough = HIGH_PEOPLE_LONG if len(clean) >= LONG_LETTER_CHARS else HIGH_PEOPLE
        spread = len({role for _, role in people}) >= enough
        compound = self._compound(clean, docs, need_names) if need_names and not spread else None
        if len(need_names) >= many or (len(need_names) >= 2 and ruled) or spread or compound:
            complexity = "high"
        elif need_names:
            complexity = "some"
        else:
            complexity = NONE
        need_evidence = _unique({"text": h.text, "rule": h.entry.id}
                                for name in need_names for h in needs[name])
        if spread:
            need_evidence += [{"text": word, "rule": f"{language}.people.{role}"}
                              for (language, role), word in sorted(people.items())]
        elif compound:
            need_evidence += compound
        distress_part: Dict[str, Any] = {"level": level, "evidence": distress_evidence}
        if someone_else:
            distress_part["about"] = "someone_else"
        return {
            "distress": distress_part,
            "complexity": {"level": complexity, "needs": need_names, "evidence": need_evidence},
        }


    def _as_prescribed(self, clean: str, docs: Mapping[str, Doc]) -> bool:
        """True when the message names a treatment as prescribed (`prescribed` class): the model
        alone may then not read its pills as a means."""
        lowered = clean.lower()
        return any(self._prescribed.get(language) is not None and self._prescribed[language].search(lowered)
                   for language in docs)

    def _compound(self, clean: str, docs: Mapping[str, Doc], need_names: Sequence[str]) -> List[Dict[str, str]]:
        """The evidence that a letter compounds several situations (the people it names, its
        asks, the writer's own words for it), or [] when its score stays under the bar."""
        own = [name for name in need_names if name not in PEOPLE_NEEDS]  # dependants are the people counted
        if len(own) < 2:
            return []  # one need, however many people and questions, is one situation
        lowered = clean.lower()
        asks: List[str] = []
        cues: List[str] = []
        for language in docs:
            ask, cue = self._compound_words.get(language, (None, None))
            asks += [m.group(0) for m in ask.finditer(lowered)] if ask else []
            cues += [m.group(0) for m in cue.finditer(lowered)] if cue else []
        people = self._people_named(clean, docs)
        many_asks = len(asks) >= COMPOUND_ASKS
        score = len(own) + min(len({role for _, role in people}), 3) + int(many_asks) + (2 if cues else 0)
        written_in = "zh" if "zh" in docs and len(_CJK.findall(clean)) * 2 >= len(clean.strip()) else "en"
        short_bar, long_bar, long_chars = COMPOUND_BARS[written_in]
        if score < (long_bar if len(clean) >= long_chars else short_bar):
            return []
        return ([{"text": word, "rule": f"{language}.people.{role}"} for (language, role), word in sorted(people.items())]
                + [{"text": cue, "rule": f"{written_in}.compound"} for cue in _unique_words(cues)]
                + ([{"text": " / ".join(_unique_words(asks)), "rule": f"{written_in}.compound.asks"}] if many_asks else []))

    def _people_named(self, clean: str, docs: Mapping[str, Doc]) -> Dict[Tuple[str, str], str]:
        """{(language, role): word} for the people the message names, in the languages it is written in."""
        lowered = clean.lower()
        return {(language, role): word for language in docs
                for role, word in self._people.named(lowered, language).items()}


def _word_pattern(asks: Sequence[str], cues: Sequence[str], language: str) -> Tuple[Optional["re.Pattern[str]"], ...]:
    """Regular expressions for the `ask` and `compound` classes (whole words in English)."""
    def compile_(words: Sequence[str]) -> Optional["re.Pattern[str]"]:
        if not words:
            return None
        alternatives = "|".join(re.escape(w.lower()) for w in sorted(words, key=len, reverse=True))
        return re.compile(alternatives if language == "zh" else rf"(?<![a-z0-9'])(?:{alternatives})(?![a-z0-9'])")
    return compile_(asks), compile_(cues)


def _unique_words(words: Iterable[str]) -> List[str]:
    return list(dict.fromkeys(words))


def empty_signals() -> Dict[str, Any]:
    return {"distress": {"level": NONE, "evidence": []},
            "complexity": {"level": NONE, "needs": [], "evidence": []}}


# -------------------------------------------------------------------- context rules (pure)

def _tokens_before(doc: Doc, start: int, limit: int = 20) -> List[str]:
    """Lower-cased words before a character offset, nearest first (a word cut by it is trimmed);
    at most `limit` of them (the rules never look further back)."""
    first = _token_at(doc, start)
    words = []
    for i in range(first - 1, max(-1, first - 1 - limit * 2), -1):
        token = doc[i]
        text = token.text[: start - token.idx] if token.idx + len(token.text) > start else token.text
        if text.strip() or text in ("\n", " "):  # a space ends a clause in Chinese ("撑不住了 想死")
            words.append(text.lower())
            if len(words) == limit:
                break
    if first < len(doc) and doc[first].idx < start:  # the match begins inside this token
        words.insert(0, doc[first].text[: start - doc[first].idx].lower())
    return [w for w in words if w.strip() or w in ("\n", " ")]


def _token_at(doc: Doc, start: int) -> int:
    """The index of the first token ending after `start` (binary search on the tokens' offsets)."""
    low, high = 0, len(doc)
    while low < high:
        middle = (low + high) // 2
        token = doc[middle]
        if token.idx + len(token.text) <= start:
            low = middle + 1
        else:
            high = middle
    return low


def is_negated(doc: Doc, start: int, end: int, language: str, since: int = 0) -> bool:
    """A negation cue within a few words before the match, in the same clause, not undone; with
    `since`, only a cue after that offset counts (the consequence of a condition: in "再不发他就喝农药"
    the 不 is the condition's, in "if they refuse I'm not going to kill myself" the not is the consequence's)."""
    before = _tokens_before(doc, start)
    window = before[: _NEGATION_WINDOW[language]]
    if since:
        window = window[: max(0, _token_at(doc, start) - _token_at(doc, since))]
    for i, word in enumerate(window):
        if word in _CLAUSE_END[language]:
            return False
        if word in _NEGATION[language]:
            following = window[i - 1] if i > 0 else _first_word(doc, start)
            if language == "zh" and word == "不" and following in _COMPLEMENT and i > 0:
                continue  # "撑不住", "受不了", "睡不着": a verb's complement, not a negation of what follows
            if following in _PSEUDO[language]:
                return False
            if any(w in _PSEUDO[language] for w in window[:i]):
                return False  # "never been so", "从没这么"
            if i >= 2 and _in_condition(before[i + 1:i + 1 + _CONDITION_REACH[language]], language):
                # "if they don't approve it I'm going to...": the "not" is the condition's (a "not"
                # right before the words, "如果不行我也不想死", still denies them)
                return False
            return True
        if language == "zh" and len(word) > 1 and word[-1] in "不没" and i == 0:
            return True  # jieba glued the cue to a word: "也不" + "想死"
    return False


# A "not" belongs to the condition only when it stands right after it ("if they don't", "要是不给"):
# in "if the council refuses I'm not going to hurt myself" it is the main clause's, and denies.
_CONDITION_REACH = {"en": 4, "zh": 5}
_CONDITION = {"en": {"if", "unless", "when", "once"}, "zh": {"如果", "要是", "若是", "假如", "万一", "只要"}}


def _in_condition(further: Sequence[str], language: str) -> bool:
    """True when a condition word opens the clause the negation stands in ("if they don't...")."""
    for word in further:
        if word in _CONDITION[language]:
            return True
        if word in _CLAUSE_END[language] or word in _NEGATION[language]:
            return False  # another clause, or the condition has its own "not" ("if they don't pay I'm not...")
    return False


def _first_word(doc: Doc, start: int) -> str:
    index = _token_at(doc, start)
    return doc[index].lower_ if index < len(doc) else ""


def is_about_someone_else(doc: Doc, start: int, end: int, language: str) -> bool:
    """True when the nearest person word before the match (same sentence) is a third person,
    or the match itself names one ("killed herself")."""
    inside = doc.text[start:end].lower()
    if any(r in inside for r in _OTHER_REFLEXIVE):
        return True
    if language == "en" and any(w in inside.split() for w in ("myself", "my", "me", "i", "i'm")):
        return False  # "better off without me" is the claimant's, whoever was named before it
    for word in _tokens_before(doc, start)[:15]:
        if word in _SENTENCE_END[language]:
            return False
        if _is_other(word, language):
            return True
        if word in _SELF[language]:
            return False
    return False


def _is_other(word: str, language: str) -> bool:
    if word in _OTHER[language]:
        return True
    if language == "zh" and len(word) > 1:  # jieba keeps "我妈", "他说", "她们家" as one word
        return word[0] in "他她" or any(word.endswith(n) for n in _OTHER["zh"] if n not in "他她")
    return False


def _intensified(distress: Sequence[Tuple[str, Hit, str]], intensifiers: Sequence[Hit],
                 docs: Dict[str, Doc]) -> Optional[Hit]:
    """The intensifier that lifts concern to urgent, or None (needs three distinct concern entries)."""
    concern = [h for lvl, h, _ in distress if lvl == "concern"]
    if len({h.start for h in concern}) < 3:  # three different places, however many entries match each
        return None
    for hit in concern:
        doc = docs[hit.entry.language]
        gap_words = _INTENSIFIER_GAP[hit.entry.language]
        for booster in intensifiers:
            if booster.end > hit.start:
                continue
            between = [t for t in doc if booster.end <= t.idx < hit.start and t.text.strip()]
            if len(between) <= gap_words and not any(
                    t.lower_ in _CLAUSE_END[hit.entry.language] for t in between):
                return booster
    return None


def _consequence(rule_hit: Any) -> Optional[Tuple[int, int]]:
    """Where a condition rule's consequence begins ("if they refuse, I'm not going to [kill myself]"),
    for the negation check; None for other rules (their own classes may hold a "not": "never wake up")."""
    if rule_hit.rule.classes[0] != "condition" or rule_hit.head is None:
        return None
    return rule_hit.head_from, rule_hit.head


def _outside(hits: List[Hit], spans: Sequence[Tuple[int, int]]) -> List[Hit]:
    """The hits not lying inside an ignored span. `ignore` guards the distress words ("去世" is a
    relative's death, not the claimant's wish to die); a need it names still counts (bereavement)."""
    if not spans:
        return hits
    return [h for h in hits if h.entry.is_need or not any(s <= h.start and h.end <= e for s, e in spans)]


def _blank(text: str, spans: Sequence[Tuple[int, int]]) -> str:
    """`text` with the spans replaced by spaces (offsets kept)."""
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _longest_first(hits: Iterable[Hit]) -> List[Hit]:
    """One hit per entry and span; a shorter match inside a longer one of the same category goes."""
    unique = {(h.entry.id, h.start, h.end): h for h in hits}
    ordered = sorted(unique.values(), key=lambda h: (h.start, -(h.end - h.start)))
    kept: List[Hit] = []
    for hit in ordered:
        if any(k.entry.category == hit.entry.category and k.start <= hit.start and hit.end <= k.end
               and (k.end - k.start) > (hit.end - hit.start) for k in kept):
            continue
        kept.append(hit)
    return kept


def _unique(items: Iterable[Dict[str, str]]) -> List[Dict[str, str]]:
    seen: Set[Tuple[str, str]] = set()
    out = []
    for item in items:
        key = (item["text"], item["rule"])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
