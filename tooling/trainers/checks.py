"""The project's own checks on trainer-edited data. Pure: data in, `Problem`s out.

Each check returns problems that name the file, the line, what is wrong and what to do; the
runner (`tooling/validation.py`) prints them and fails when there are any. The rules are written for
trainers in docs/trainers.md ("What `make validate` checks"); keep the two in step.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from bot.situation.fact import ENTITIES as SITUATION_ENTITIES
from core.language_codes import LANGUAGES
from tooling.trainers.project import Domain, Example, NluData
from tooling.trainers.yamldoc import YamlDoc

#: Fewest examples an intent may have in each language (docs/trainers.md says why).
MIN_EXAMPLES = 15
#: Two examples under different intents whose word/character-pair overlap (Jaccard) is at least
#: this are "nearly the same". Shorter examples than NEAR_MIN_SHINGLES are only compared exactly.
NEAR_THRESHOLD = 0.8
NEAR_MIN_SHINGLES = 4
#: A knowledge-base entry not reviewed for this many days is due for review.
REVIEW_MAX_DAYS = 365
#: Files in data/kb/ that are not answers (they hold figures for the pre-checks).
KB_FIGURE_FILES = ("eligibility.yml",)
#: What only buttons send, as a payload (`/show_answer_part{"answer_topic": ..., "answer_part": ...}`,
#: actions/answer_text.py): never written by claimants, so no examples are needed or wanted.
BUTTON_INTENTS = frozenset({"show_answer_part"})
BUTTON_ENTITIES = frozenset({"answer_topic", "answer_part"})
#: Found by rules and the lists in data/lexicons/situation (bot/situation/), not learned from
#: examples: none are needed, and annotations (`[Shenzhen](city)`) are kept only as documentation.
RULE_ENTITIES = frozenset(SITUATION_ENTITIES)


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    what: str
    fix: str

    def render(self, root: Optional[Path] = None) -> str:
        shown = self.path
        if root is not None:
            try:
                shown = self.path.relative_to(root)
            except ValueError:
                pass
        return f"{shown}:{self.line}: {self.what}\n    -> {self.fix}"


# ---------------------------------------------------------------------------- examples per intent


def check_example_counts(nlu: NluData, intents: Iterable[str], *, minimum: int = MIN_EXAMPLES) -> List[Problem]:
    """Every domain intent (but those only buttons send) has at least `minimum` examples in each language."""
    counts = Counter((e.intent, e.lang) for e in nlu.examples)
    where = {(b.intent, b.lang): b for b in nlu.blocks}
    problems = []
    for intent in intents:
        if intent in BUTTON_INTENTS:
            continue
        for lang in LANGUAGES:
            count = counts[(intent, lang)]
            if count >= minimum:
                continue
            block = where.get((intent, lang))
            if block is None:
                other = next((b for b in nlu.blocks if b.intent == intent), None)
                path = (
                    other.path.parent.parent / lang / f"{intent}.yml"
                    if other
                    else Path(f"data/nlu/{lang}/{intent}.yml")
                )
                problems.append(
                    Problem(
                        path,
                        1,
                        f"intent '{intent}' has no {_LANG[lang]} examples",
                        f"create {path.name} in data/nlu/{lang}/ with at least "
                        f"{minimum} {_LANG[lang]} examples (copy the other "
                        f"language's file as a pattern, then write your own sentences)",
                    )
                )
            else:
                problems.append(
                    Problem(
                        block.path,
                        block.line,
                        f"intent '{intent}' has {count} {_LANG[lang]} example(s), fewer than the minimum of {minimum}",
                        f"add {minimum - count} or more different ways claimants say it",
                    )
                )
    return problems


_LANG = {"zh": "Chinese", "en": "English"}


# ----------------------------------------------------------------------------- duplicate examples

_PUNCT_OR_SPACE = re.compile(r"[\s\W_]+", re.UNICODE)
_TOKENS = re.compile(r"[a-z0-9]+|[\u3400-\u9fff\uf900-\ufaff]")


def normalise_example(text: str) -> str:
    """Case, width, Traditional/Simplified, punctuation and spaces folded away."""
    from bot.textnorm import to_simplified

    folded = to_simplified(unicodedata.normalize("NFKC", text)).casefold()
    return _PUNCT_OR_SPACE.sub(" ", folded).strip()


def shingles(normalised: str) -> frozenset:
    """Latin words, and pairs of neighbouring Chinese characters (single ones when alone)."""
    tokens = _TOKENS.findall(normalised)
    found: Set[str] = set()
    run: List[str] = []
    for token in tokens + [" "]:
        if len(token) == 1 and not token.isascii():
            run.append(token)
            continue
        if len(run) == 1:
            found.add(run[0])
        found.update(a + b for a, b in zip(run, run[1:]))
        run = []
        if token != " ":
            found.add(token)
    return frozenset(found)


def _jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def similar_pairs(sets: Sequence[frozenset], threshold: float) -> List[Tuple[int, int, float]]:
    """Index pairs whose Jaccard similarity is >= threshold (all-pairs with prefix filtering).

    Shingles are ordered rarest first; two sets that reach the threshold must share a shingle in
    their first `n - ceil(threshold * n) + 1` shingles, so only those are indexed and compared.
    """
    frequency = Counter(s for group in sets for s in group)
    index: Dict[str, List[int]] = defaultdict(list)
    pairs = []
    for i, group in enumerate(sets):
        if not group:
            continue
        ordered = sorted(group, key=lambda s: (frequency[s], s))
        prefix = ordered[: len(ordered) - math.ceil(threshold * len(ordered)) + 1]
        candidates: Set[int] = set()
        for s in prefix:
            candidates.update(index[s])
        for j in candidates:
            score = _jaccard(group, sets[j])
            if score >= threshold:
                pairs.append((j, i, score))
        for s in prefix:
            index[s].append(i)
    return pairs


def check_duplicates(
    examples: Sequence[Example], *, threshold: float = NEAR_THRESHOLD, min_shingles: int = NEAR_MIN_SHINGLES
) -> List[Problem]:
    """The same, or nearly the same, example under two different intents."""
    normal = [normalise_example(e.text) for e in examples]
    problems = []
    seen: Dict[str, int] = {}
    exact: Set[Tuple[int, int]] = set()
    for i, text in enumerate(normal):
        if not text:
            continue
        j = seen.setdefault(text, i)
        if j != i and examples[j].intent != examples[i].intent:
            exact.add((j, i))
            problems.append(_duplicate(examples[j], examples[i], "the same example"))
    sets = [shingles(t) if len(shingles(t)) >= min_shingles else frozenset() for t in normal]
    for j, i, score in similar_pairs(sets, threshold):
        if examples[j].intent == examples[i].intent or (j, i) in exact or normal[i] == normal[j]:
            continue
        problems.append(_duplicate(examples[j], examples[i], f"nearly the same example ({score:.0%} alike)"))
    return problems


def _duplicate(first: Example, second: Example, kind: str) -> Problem:
    other = f"{first.path.parent.name}/{first.path.name}:{first.line}"
    return Problem(
        second.path,
        second.line,
        f"{kind} as {other} (intent '{first.intent}'), here under '{second.intent}': \"{second.text[:60]}\"",
        "keep it under the one intent it really means; delete or reword the other",
    )


# ------------------------------------------------------------------------------------- responses

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# Hints such as "(例如:3年)" or "(for example: 3 years)" show a format, they state no fact.
_EXAMPLE_HINT = re.compile(r"(?:例如|比如|for example|e\.g\.)[^。;；)）!！?？]*", re.IGNORECASE)
_NUMBER_WORDS = {
    w: str(n) for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())
}
_FACTS = {
    "zh": re.compile(r"(\d+(?:\.\d+)?)\s*(日|天|周|个月|月|年|岁|%|元)"),
    "en": re.compile(r"(\d+(?:\.\d+)?)\s*(days?|weeks?|months?|years?|%|yuan)\b|\bage\s+(\d+)", re.IGNORECASE),
}
_WORD_NUMBER = re.compile(
    r"\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve)\b(?=\s+(?:days?|weeks?|months?|years?)\b)",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<!\d)(\d{5,})(?!\d)")
_UNIT = {
    "日": "day",
    "天": "day",
    "days": "day",
    "day": "day",
    "周": "week",
    "week": "week",
    "weeks": "week",
    "个月": "month",
    "月": "month",
    "month": "month",
    "months": "month",
    "年": "year",
    "year": "year",
    "years": "year",
    "岁": "age",
    "%": "percent",
    "元": "money",
    "yuan": "money",
}


def facts(text: str, lang: str) -> Set[Tuple[str, str]]:
    """(number, kind) pairs a text states: periods, ages, amounts, rates and phone numbers."""
    text = _EXAMPLE_HINT.sub(" ", _PLACEHOLDER.sub(" ", text))
    if lang == "en":
        text = _WORD_NUMBER.sub(lambda m: _NUMBER_WORDS[m.group(0).lower()], text)
    found: Set[Tuple[str, str]] = {(m.group(1), "phone") for m in _PHONE.finditer(text)}
    for match in _FACTS[lang].finditer(text):
        if match.group(1) is None:  # "age 60"
            found.add((match.group(3), "age"))
        else:
            found.add((match.group(1), _UNIT[match.group(2).lower()]))
    return found


def _is_en(variation: Mapping[str, Any]) -> Optional[bool]:
    """True for the English variation, False for Chinese (or unconditioned), None otherwise."""
    for condition in variation.get("condition") or []:
        if isinstance(condition, dict) and condition.get("name") == "language":
            return {"en": True, "zh": False}.get(str(condition.get("value")))
    return False


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


@dataclass(frozen=True)
class KbIndex:
    """What the knowledge base states, per language, to trace a response's facts to it."""

    ids: Dict[str, Set[str]]  # entry id -> its source refs
    facts: Dict[str, Set[Tuple[str, str]]]  # lang -> facts stated anywhere in the KB
    numbers: Dict[str, Set[str]]  # lang -> every number in the KB


def kb_index(docs: Sequence[YamlDoc]) -> KbIndex:
    ids: Dict[str, Set[str]] = {}
    stated: Dict[str, Set[Tuple[str, str]]] = {lang: set() for lang in LANGUAGES}
    numbers: Dict[str, Set[str]] = {lang: set() for lang in LANGUAGES}
    for doc in docs:
        data = doc.data if isinstance(doc.data, dict) else {}
        ids[str(data.get("id") or doc.path.stem)] = {
            str(s.get("ref")) for s in data.get("sources") or [] if isinstance(s, dict)
        }
        for lang in LANGUAGES:
            for text in _texts(data.get(lang)):
                stated[lang] |= facts(text, lang)
                numbers[lang].update(re.findall(r"\d+", text))
    return KbIndex(ids, stated, numbers)


def check_responses(domain: Domain, kb: KbIndex, *, today: dt.date) -> List[Problem]:
    """Every response has Chinese and English text, and each fact it states has a source."""
    problems = []
    for name, doc in sorted(domain.responses.items()):
        variations = (doc.data.get("responses") or {}).get(name) or []
        line = doc.line("responses", name)
        langs = {_is_en(v): i for i, v in enumerate(variations) if isinstance(v, dict)}
        if any(
            isinstance(v, dict) and not v.get("condition") and _bilingual(str(v.get("text") or "")) for v in variations
        ):
            langs[True] = langs[False] = 0  # one text in both languages, for when none is known yet
        if True not in langs:
            problems.append(
                Problem(
                    doc.path,
                    line,
                    f"response '{name}' has no English text",
                    "add a variation with `condition: [{type: slot, name: language, "
                    "value: en}]` and the English text, before the Chinese one",
                )
            )
        if False not in langs:
            problems.append(
                Problem(
                    doc.path,
                    line,
                    f"response '{name}' has no Chinese text",
                    "add a variation without a condition holding the Chinese text",
                )
            )
        for index, variation in enumerate(variations):
            if not isinstance(variation, dict):
                continue
            english = _is_en(variation)
            lang = "en" if english else "zh"
            here = doc.line("responses", name, index, "text")
            text = str(variation.get("text") or "")
            problems.extend(_language_mismatch(doc.path, here, name, lang, text))
            problems.extend(_unsourced(doc.path, here, name, lang, variation, kb, today))
    return problems


def _bilingual(text: str) -> bool:
    """A text written in both languages at once (Chinese, then the English, or the reverse)."""
    words = _PLACEHOLDER.sub("", text)
    return len(_CJK.findall(words)) >= 5 and len(re.findall(r"[A-Za-z]", words)) >= 20


def _language_mismatch(path: Path, line: int, name: str, lang: str, text: str) -> List[Problem]:
    words = _PLACEHOLDER.sub("", text)
    letters = len(_LETTER.findall(words))
    cjk = len(_CJK.findall(words))
    if lang == "zh" and letters and not cjk:
        return [
            Problem(
                path,
                line,
                f"the Chinese text of '{name}' has no Chinese characters",
                "write the Chinese text here (the English one goes in the variation with the `value: en` condition)",
            )
        ]
    if lang == "en" and letters and cjk > letters / 2:
        return [
            Problem(
                path,
                line,
                f"the English text of '{name}' is mostly Chinese",
                "write the English text here (the Chinese one goes in the variation without a condition)",
            )
        ]
    return []


def _unsourced(
    path: Path, line: int, name: str, lang: str, variation: Mapping[str, Any], kb: KbIndex, today: dt.date
) -> List[Problem]:
    """A response stating a fact must trace it: to the knowledge base (which has sources and a
    review date), or by its own `metadata: {source: <entry>#<ref>}` or `{source: <url>,
    last_reviewed: <date>}`."""
    metadata = variation.get("metadata") or {}
    metadata = metadata if isinstance(metadata, dict) else {}
    source = str(metadata.get("source") or "")
    if source.startswith(("https://", "http://")):
        reviewed = metadata.get("last_reviewed")
        if not isinstance(reviewed, dt.date) or reviewed > today or (today - reviewed).days > REVIEW_MAX_DAYS:
            return [
                Problem(
                    path,
                    line,
                    f"'{name}' cites {source} without a current review date",
                    "after checking the text against that page, add `last_reviewed: "
                    "YYYY-MM-DD` (today's date) next to `source` in `metadata`",
                )
            ]
        return []
    if source:
        entry, _, ref = source.partition("#")
        if entry not in kb.ids or (ref and ref not in kb.ids[entry]):
            return [
                Problem(
                    path,
                    line,
                    f"'{name}' names the source '{source}', which is not in the knowledge base",
                    "write `<entry id>#<source ref>` of an entry in "
                    "data/kb/, e.g. `complaint_appeal#arl-20`, or a web address with "
                    "`last_reviewed`",
                )
            ]
        return []
    missing = sorted(
        f
        for f in _texts(variation.get("text") or "")
        for f in facts(f, lang)
        if f not in kb.facts[lang] and not (f[1] == "age" and f[0] in kb.numbers[lang])
    )
    if not missing:
        return []
    shown = ", ".join(n if k == "phone" else f"{n} ({k})" for n, k in missing)
    return [
        Problem(
            path,
            line,
            f"the {_LANG[lang]} text of '{name}' states {shown}, which no knowledge-base entry states",
            "check the figure against an official source, then add it to the knowledge-"
            "base entry it belongs to (with the source), or give this variation "
            "`metadata: {source: <entry id>#<source ref>}` or `metadata: {source: <url>, "
            "last_reviewed: YYYY-MM-DD}`",
        )
    ]


# -------------------------------------------------------------------------------- knowledge base

_REQUIRED_SOURCE_KEYS = ("ref", "zh", "en", "url")


def check_kb(
    docs: Sequence[YamlDoc], *, topics: Iterable[str], intents: Iterable[str], today: dt.date, kb_dir: Path
) -> List[Problem]:
    """Every answer in both languages, with sources and a review date that is not overdue."""
    problems: List[Problem] = []
    known = set(intents)
    have = set()
    for doc in docs:
        if doc.path.name in KB_FIGURE_FILES:
            problems.extend(_check_figures(doc, today))
            continue
        data = doc.data if isinstance(doc.data, dict) else {}
        entry = str(data.get("id") or "")
        have.add(entry)
        if entry != doc.path.stem:
            problems.append(
                Problem(
                    doc.path,
                    doc.line("id"),
                    f"the entry's id '{entry}' is not the file's name '{doc.path.stem}'",
                    f"set `id: {doc.path.stem}` (or rename the file)",
                )
            )
        problems.extend(_check_review_date(doc, data, today))
        problems.extend(_check_sources(doc, data.get("sources"), ("sources",)))
        for related in data.get("related") or []:
            if str(related) not in known:
                problems.append(
                    Problem(
                        doc.path,
                        doc.line("related"),
                        f"related intent '{related}' is not an intent",
                        "use a name from docs/intents.md",
                    )
                )
        problems.extend(_check_languages(doc, data))
    for topic in sorted(set(topics) - have):
        problems.append(
            Problem(
                kb_dir / f"{topic}.yml",
                1,
                f"topic intent '{topic}' has no knowledge-base entry",
                f"create data/kb/{topic}.yml (see docs/knowledge-base.md)",
            )
        )
    return problems


def _check_review_date(doc: YamlDoc, data: Mapping[str, Any], today: dt.date) -> List[Problem]:
    reviewed = data.get("last_reviewed")
    line = doc.line("last_reviewed")
    if not isinstance(reviewed, dt.date):
        return [
            Problem(
                doc.path,
                line,
                "no review date (`last_reviewed`)",
                "after checking every fact against its source, write `last_reviewed: YYYY-MM-DD` with today's date",
            )
        ]
    if reviewed > today:
        return [
            Problem(
                doc.path,
                line,
                f"review date {reviewed} is in the future",
                "write the date the facts were actually checked",
            )
        ]
    if (today - reviewed).days > REVIEW_MAX_DAYS:
        return [
            Problem(
                doc.path,
                line,
                f"last reviewed {reviewed}, more than {REVIEW_MAX_DAYS} days ago: the entry is due for review",
                "check every fact against its sources again, then update `last_reviewed`",
            )
        ]
    return []


def _check_sources(doc: YamlDoc, sources: Any, at: Tuple[Any, ...]) -> List[Problem]:
    if not isinstance(sources, list) or not sources:
        return [
            Problem(
                doc.path,
                doc.line(*at),
                "no sources",
                "list every law, regulation or official page the text relies on under `sources:` (ref, zh, en, url)",
            )
        ]
    problems = []
    for index, source in enumerate(sources):
        source = source if isinstance(source, dict) else {}
        missing = [k for k in _REQUIRED_SOURCE_KEYS if not str(source.get(k) or "").strip()]
        url = str(source.get("url") or "")
        if missing:
            problems.append(
                Problem(
                    doc.path,
                    doc.line(*at, index),
                    f"source {index + 1} lacks {', '.join(missing)}",
                    "give every source a ref, its name in Chinese and English, and the url it was checked against",
                )
            )
        elif not url.startswith(("https://", "http://")):
            problems.append(
                Problem(
                    doc.path,
                    doc.line(*at, index, "url"),
                    f"source '{source.get('ref')}' has no web address",
                    "write the full address, starting with https://",
                )
            )
    return problems


def _check_languages(doc: YamlDoc, data: Mapping[str, Any]) -> List[Problem]:
    problems = []
    sections = {lang: data.get(lang) for lang in LANGUAGES}
    for lang, section in sections.items():
        if not isinstance(section, dict):
            problems.append(
                Problem(
                    doc.path,
                    doc.line(lang),
                    f"no {_LANG[lang]} answer",
                    f"add a `{lang}:` section with title, answer and the same keys as the other language",
                )
            )
            continue
        for key in ("title", "answer", "short"):
            if not str(section.get(key) or "").strip():
                problems.append(
                    Problem(
                        doc.path,
                        doc.line(lang, key),
                        f"the {_LANG[lang]} `{key}` is empty",
                        f"write the {_LANG[lang]} {key}" + (_SHORT_HOW if key == "short" else ""),
                    )
                )
        problems.extend(_check_short(doc, lang, section))
        if data.get("varies_by_place") and not str(section.get("local") or "").strip():
            problems.append(
                Problem(
                    doc.path,
                    doc.line(lang),
                    f"`varies_by_place` is true but the {_LANG[lang]} answer has no `local` text",
                    "say what differs by place and where to find the local figure",
                )
            )
    if all(isinstance(s, dict) for s in sections.values()):
        zh, en = set(sections["zh"]), set(sections["en"])
        for key in sorted(zh ^ en):
            lang = "en" if key in zh else "zh"
            problems.append(
                Problem(
                    doc.path,
                    doc.line("zh" if key in zh else "en", key),
                    f"`{key}` is in one language only",
                    f"add `{key}` to the {_LANG[lang]} section too (or remove it from both)",
                )
            )
    return problems


#: A short answer is at most this many sentences (docs/knowledge-base.md).
SHORT_MAX_SENTENCES = 3
_SHORT_HOW = ": two or three plain sentences that answer the question, saying only what the rest of the entry says"
_SENTENCE_END = re.compile(r"[。！？!?]|\.(?=\s|$)")


def _check_short(doc: YamlDoc, lang: str, section: Mapping[str, Any]) -> List[Problem]:
    """The short answer is short, and states no figure the rest of the entry does not state."""
    short = str(section.get("short") or "").strip()
    if not short:
        return []
    problems = []
    sentences = len([s for s in _SENTENCE_END.split(short) if s.strip()])
    if sentences > SHORT_MAX_SENTENCES:
        problems.append(
            Problem(
                doc.path,
                doc.line(lang, "short"),
                f"the {_LANG[lang]} `short` answer has {sentences} sentences",
                f"keep it to {SHORT_MAX_SENTENCES} at most: the buttons under it give the rest",
            )
        )
    rest = {
        fact for key, value in section.items() if key != "short" for text in _texts(value) for fact in facts(text, lang)
    }
    for number, kind in sorted(facts(short, lang) - rest):
        problems.append(
            Problem(
                doc.path,
                doc.line(lang, "short"),
                f"the {_LANG[lang]} `short` answer states {number} ({kind}), which the rest of the entry does not",
                "say only what the answer, steps or local text say: fix the figure, or "
                "add it with its source to the full answer first",
            )
        )
    return problems


def _check_figures(doc: YamlDoc, today: dt.date) -> List[Problem]:
    data = doc.data if isinstance(doc.data, dict) else {}
    problems = _check_review_date(doc, data, today)
    for name, section in data.items():
        if isinstance(section, dict):
            problems.extend(_check_sources(doc, section.get("sources"), (name, "sources")))
    return problems


# ----------------------------------------------------------------------- names against the domain

#: Names Rasa declares itself.
RASA_INTENTS = frozenset({"nlu_fallback", "restart", "back", "session_start", "out_of_scope"})
RASA_SLOTS = frozenset({"requested_slot", "session_started_metadata"})


def check_names(domain: Domain, nlu: NluData, rules: Sequence[YamlDoc]) -> List[Problem]:
    """Intents, entities, slots, forms and responses used in the data are declared in the domain."""
    problems = []
    intents, entities = set(domain.intents), set(domain.entities)
    slots = set(domain.slots) | RASA_SLOTS
    for block in nlu.blocks:
        if block.intent not in intents:
            problems.append(
                Problem(
                    block.path,
                    block.line,
                    f"intent '{block.intent}' is not in the domain",
                    "fix the spelling (see docs/intents.md); a new intent "
                    "must also be added to bot/domain/shared.yml by a developer",
                )
            )
    for example in nlu.examples:
        for name in example.entities:
            if name not in entities:
                problems.append(
                    Problem(
                        example.path,
                        example.line,
                        f"entity '{name}' is not in the domain",
                        f"use one of: {', '.join(sorted(entities)) or '(none)'}",
                    )
                )
    for name, path, line in nlu.lookups:
        if name not in entities:
            problems.append(
                Problem(
                    path,
                    line,
                    f"lookup table '{name}' is not a domain entity",
                    f"name it after an entity: {', '.join(sorted(entities)) or '(none)'}",
                )
            )
    for entity, doc in sorted(domain.entities.items()):
        if entity in BUTTON_ENTITIES or entity in RULE_ENTITIES:
            continue
        for lang in LANGUAGES:
            taught = any(entity in e.entities for e in nlu.examples if e.lang == lang) or any(
                name == entity and path.parent.name == lang for name, path, _ in nlu.lookups
            )
            if not taught:
                problems.append(
                    Problem(
                        doc.path,
                        doc.line("entities"),
                        f"entity '{entity}' has no {_LANG[lang]} example or lookup table",
                        f"mark it in some {_LANG[lang]} examples, e.g. [Shenzhen]({entity})",
                    )
                )
    for slot, doc in sorted(domain.slots.items()):
        for index, mapping in enumerate((doc.data["slots"][slot] or {}).get("mappings") or []):
            problems.extend(_check_mapping(doc, slot, index, mapping, domain))
    for form, doc in sorted(domain.forms.items()):
        for slot in (doc.data["forms"][form] or {}).get("required_slots") or []:
            if slot not in slots:
                problems.append(
                    Problem(
                        doc.path,
                        doc.line("forms", form),
                        f"form '{form}' asks for slot '{slot}', which is not declared",
                        "declare the slot under `slots:` or fix the name",
                    )
                )
    for doc in rules:
        problems.extend(_check_steps(doc, domain))
    return problems


def _check_mapping(doc: YamlDoc, slot: str, index: int, mapping: Any, domain: Domain) -> List[Problem]:
    if not isinstance(mapping, dict):
        return []
    at = ("slots", slot, "mappings", index)
    problems = []
    if mapping.get("type") == "from_entity" and mapping.get("entity") not in domain.entities:
        problems.append(
            Problem(
                doc.path,
                doc.line(*at),
                f"slot '{slot}' is filled from entity '{mapping.get('entity')}', which is not declared",
                "declare the entity under `entities:` or fix the name",
            )
        )
    for key in ("intent", "not_intent"):
        value = mapping.get(key) or []
        for intent in [value] if isinstance(value, str) else value:
            if intent not in domain.intents:
                problems.append(
                    Problem(
                        doc.path,
                        doc.line(*at, key),
                        f"slot '{slot}' mapping names intent '{intent}', which is not in the domain",
                        "fix the name",
                    )
                )
    for condition in mapping.get("conditions") or []:
        if not isinstance(condition, dict):
            continue
        requested, loop = condition.get("requested_slot"), condition.get("active_loop")
        if requested and requested not in domain.slots:
            problems.append(
                Problem(
                    doc.path,
                    doc.line(*at, "conditions"),
                    f"slot '{slot}' waits for requested slot '{requested}', which is not declared",
                    "fix the name",
                )
            )
        if loop and loop not in domain.forms:
            problems.append(
                Problem(
                    doc.path,
                    doc.line(*at, "conditions"),
                    f"slot '{slot}' waits for form '{loop}', which is not declared",
                    "fix the name",
                )
            )
    return problems


def _check_steps(doc: YamlDoc, domain: Domain) -> List[Problem]:
    data = doc.data if isinstance(doc.data, dict) else {}
    problems = []
    for table in ("rules", "stories"):
        for i, item in enumerate(data.get(table) or []):
            if not isinstance(item, dict):
                continue
            for part in ("condition", "steps"):
                for j, step in enumerate(item.get(part) or []):
                    if not isinstance(step, dict):
                        continue
                    line = doc.line(table, i, part, j)
                    intent, action = step.get("intent"), step.get("action")
                    if intent and intent not in domain.intents and intent not in RASA_INTENTS:
                        problems.append(
                            Problem(
                                doc.path,
                                line,
                                f"intent '{intent}' is not in the domain",
                                "fix the name (see docs/intents.md)",
                            )
                        )
                    if isinstance(action, str) and action.startswith("utter_") and action not in domain.responses:
                        problems.append(
                            Problem(
                                doc.path,
                                line,
                                f"response '{action}' does not exist",
                                "add it to a file in bot/domain/ or fix the name",
                            )
                        )
                    for entry in step.get("slot_was_set") or []:
                        for slot in entry if isinstance(entry, dict) else [entry]:
                            if slot not in domain.slots and slot not in RASA_SLOTS:
                                problems.append(
                                    Problem(
                                        doc.path,
                                        line,
                                        f"slot '{slot}' is not declared",
                                        "fix the name or declare the slot",
                                    )
                                )
    return problems


def topic_intents(rules: Sequence[YamlDoc], answer_action: str = "action_answer_topic") -> Set[str]:
    """Intents the rules answer from the knowledge base: each needs a KB entry."""
    topics: Set[str] = set()
    for doc in rules:
        for item in (doc.data or {}).get("rules") or []:
            steps = item.get("steps") or [] if isinstance(item, dict) else []
            for first, second in zip(steps, steps[1:]):
                if (
                    isinstance(first, dict)
                    and isinstance(second, dict)
                    and second.get("action") == answer_action
                    and first.get("intent")
                ):
                    topics.add(str(first["intent"]))
    return topics


# --------------------------------------------------------------------------- agents' canned replies


def check_canned(path: Path) -> List[Problem]:
    """handoff/console/canned.json: valid JSON, a list of replies per language, the same number
    in each (the n-th Chinese reply and the n-th English reply say the same thing)."""
    import json

    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        line = getattr(error, "lineno", 1)
        return [
            Problem(
                path,
                line,
                f"not valid JSON: {getattr(error, 'msg', error)}",
                "every reply is in double quotes and followed by a comma, except the last one of each language",
            )
        ]
    problems = []
    lists = {lang: data.get(lang) if isinstance(data, dict) else None for lang in LANGUAGES}
    for lang, replies in lists.items():
        if not isinstance(replies, list) or not all(isinstance(r, str) and r.strip() for r in replies):
            problems.append(
                Problem(
                    path,
                    1,
                    f"no list of {_LANG[lang]} replies (or an empty one)",
                    f'write "{lang}": ["first reply", "second reply"]',
                )
            )
    if not problems and len(lists["zh"]) != len(lists["en"]):
        problems.append(
            Problem(
                path,
                1,
                f"{len(lists['zh'])} Chinese replies but {len(lists['en'])} English ones",
                "add each reply in both languages, in the same position",
            )
        )
    return problems
