"""The statistical backstop: a linear model over character and word n-grams, per language.

Rules recognise the ideas a trainer wrote down; people combine them in more ways than any list
holds. The backstop is trained on a corpus written for it (`data/lexicons/signals-corpus/
<lang>-*.tsv`: level, text, style; levels none, concern, urgent, crisis) when the detector is
built, and reads every sentence window of a message (a crisis sentence inside a long letter is
read on its own, not diluted by the letter). It may raise a message to a level only when that
level's probability is over the threshold calibrated for it: the thresholds are set so that at
most `PLAIN_RATE` of the corpus's plain questions (cross-validated) would be raised to it.

Its evidence is the n-grams of the message that added most to the level it gave, shown as the
text of the evidence with the rule `model:<lang>.<level>`. Pure after training; no I/O.
"""
from __future__ import annotations

import csv
import hashlib
import logging
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from core.language_codes import LANGUAGES

logger = logging.getLogger(__name__)

LEVELS = ("none", "concern", "urgent", "crisis")
#: The share of plain questions (cross-validated) a threshold may raise to its level.
PLAIN_RATE = {"concern": 0.04, "urgent": 0.01, "crisis": 0.005}
#: The lowest threshold per level: a concern is only offered a person, but an offer out of the
#: blue after "明天天气怎么样" helps nobody (0.65 keeps distress recall, measured by cross-validation).
#: Urgent and crisis at 0.4: at 0.5 the floor, not the plain-question rate, set both thresholds.
#: Measured by `make eval-signals`: blind round 9 crisis recall zh 85.5 -> 87.2% (en unchanged at
#: 79.8%), false escalation zh 2.8 -> 3.1%, en 0.8%. Missing a crisis is the worst error here.
FLOORS = {"concern": 0.65, "urgent": 0.4, "crisis": 0.4}
#: A sentence window is at most this many characters; longer texts are read window by window.
WINDOW_CHARS = 240
_SENTENCE = re.compile(r"[^。!！?？;；\n.…]+[。!！?？;；\n.…]*")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Words that carry no idea by themselves: evidence made only of these is no evidence ("i'll / it").
_STOP = {"en": set("""i i'm i'll i've i'd me my mine myself you your it it's its to the a an and or but so if then
                      of in on at for with from by about as is are was were be been being am do does did done doing
                      will would can could should just not no yes this that these those there here what when how
                      why who all any some more very too up out now get got go going gone he she they them his her
                      their we us our one like really what's that's there's here's who's how's where's
                      let's you're they're we're isn't aren't wasn't don't doesn't didn't can can't
                      please thanks thank hi hello hey ok okay yes""".split()),
         "zh": set("我你他她它们的了是在就也都和与或还又很太把被给让对从向要想会能去来这那个一不没有吗呢吧啊呀哦嘛么着过得地")}
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class Judgement:
    level: str
    evidence: Tuple[str, ...]
    rule: str
    probability: float


@dataclass
class LanguageModel:
    """Counts of word and character n-grams, tf-idf weighted, into a logistic regression."""

    language: str
    counters: List[CountVectorizer]
    weighting: TfidfTransformer
    classifier: LogisticRegression
    thresholds: Dict[str, float]

    def matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        counts = sp.hstack([counter.transform(texts) for counter in self.counters]).tocsr()
        return self.weighting.transform(counts)

    def judge(self, text: str) -> Optional[Judgement]:
        """The highest level over the text's sentence windows, with its evidence, or None.

        Each sentence is counted once; a window's counts are the sum of its sentences' (the same
        as counting the window's text, but a 2,000-character letter is read once, not thrice)."""
        sentences, spans = windows(text)
        counts = sp.hstack([counter.transform(sentences) for counter in self.counters]).tocsr()
        rows, cols = [], []
        for window, (first, last) in enumerate(spans):
            rows += [window] * (last - first)
            cols += list(range(first, last))
        joiner = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(spans), len(sentences)))
        matrix = self.weighting.transform(joiner @ counts)
        probabilities = self.classifier.predict_proba(matrix)
        classes = list(self.classifier.classes_)
        for level in ("crisis", "urgent", "concern"):
            column = probabilities[:, classes.index(level)] if level != "concern" else \
                1.0 - probabilities[:, classes.index("none")]
            best = int(np.argmax(column))
            if column[best] >= self.thresholds[level]:
                evidence = self._evidence(matrix[best], classes.index(level))
                # evidence is n-grams that carry an idea; above concern, two of them ("tablets" alone is a pharmacy)
                # above concern two pieces; in Chinese a word among them, not only characters ("再 / 见")
                if len(evidence) >= (1 if level == "concern" else 2) and not (
                        self.language == "zh" and all(len(p) < 2 for p in evidence)):
                    return Judgement(level, evidence, f"model:{self.language}.{level}", float(column[best]))
        return None

    def _carries_meaning(self, piece: str) -> bool:
        """False for an n-gram made only of function words or characters ("i'll it", "想了")."""
        stop = _STOP[self.language]
        if self.language == "zh":
            return any(ch not in stop and not ch.isspace() and ch not in "，。,.!?！？、" for ch in piece)
        return any(word not in stop for word in re.findall(r"[\w']+", piece.lower()))

    def _evidence(self, row: sp.csr_matrix, class_index: int, top: int = 3) -> Tuple[str, ...]:
        weights = self.classifier.coef_[class_index] if self.classifier.coef_.shape[0] > 1 else self.classifier.coef_[0]
        contributions = row.multiply(weights).tocsr()
        names = self.feature_names()
        if len(self.counters) > 1:  # English: words read better than letter n-grams
            keep = contributions.indices < len(self.counters[0].vocabulary_)
        else:  # Chinese: two or three characters read better than one
            keep = np.array([len(names[i].strip()) >= 2 for i in contributions.indices], dtype=bool)
        if keep.any():
            contributions = sp.csr_matrix((contributions.data[keep], contributions.indices[keep],
                                           [0, int(keep.sum())]), shape=contributions.shape)
        order = np.argsort(-contributions.data)[:top * 8]
        names = self.feature_names()
        picked: List[str] = []
        for i in order:
            if contributions.data[i] <= 0:
                break
            name = names[contributions.indices[i]].strip()
            if name and self._carries_meaning(name) and not any(name in kept or kept in name for kept in picked):
                picked.append(name)
            if len(picked) == top:
                break
        return tuple(picked)

    def feature_names(self) -> List[str]:
        if not hasattr(self, "_names"):
            self._names = [name for counter in self.counters for name in counter.get_feature_names_out()]
        return self._names


class Backstop:
    """One model per language that has a corpus."""

    def __init__(self, models: Dict[str, LanguageModel]):
        self.models = models

    @classmethod
    def train_from(cls, directory: Path, *, cache: Optional[Path] = None) -> Optional["Backstop"]:
        """Trains on `directory/<lang>-*.tsv`; None when there is no corpus. With `cache` (a
        folder), a model trained on the same corpus and code is loaded from there instead."""
        files = sorted(Path(directory).glob("*.tsv"))
        if not files:
            return None
        key = _fingerprint(files)
        path = Path(cache) / f"signals-backstop-{key}.pkl" if cache else None
        if path is not None and path.exists():
            try:
                with path.open("rb") as handle:
                    return pickle.load(handle)
            except Exception as error:  # a stale or broken cache is retrained, never trusted
                logger.warning("signal backstop cache %s unreadable (%s); training again", path, error)
        models = {}
        for language in LANGUAGES:
            rows = read_corpus([f for f in files if f.name.startswith(f"{language}-")])
            if len({level for level, _ in rows}) == len(LEVELS):
                models[language] = train(language, rows)
        backstop = cls(models) if models else None
        if backstop is not None and path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".tmp")
            with partial.open("wb") as handle:
                pickle.dump(backstop, handle)
            partial.replace(path)
        return backstop

    def assess(self, text: str) -> Optional[Judgement]:
        """The highest level a model gives any window of the text, or None."""
        judgements = []
        if "zh" in self.models and len(_CJK.findall(text)) >= 5:  # "你好" is too little to judge
            judgements.append(self.models["zh"].judge(text))
        content = [w for w in _LATIN_WORD.findall(text.lower()) if w not in _STOP["en"]]
        if "en" in self.models and len(content) >= 3:  # "what's the weather tomorrow" is too little to judge
            judgements.append(self.models["en"].judge(text))
        found = [j for j in judgements if j is not None]
        return max(found, key=lambda j: (LEVELS.index(j.level), j.probability), default=None)


def read_corpus(paths: Sequence[Path]) -> List[Tuple[str, str]]:
    rows = []
    for path in paths:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                level, text = (row.get("level") or "").strip(), (row.get("text") or "").strip()
                if level in LEVELS and text:
                    rows.append((level, text))
    return rows


def windows(text: str) -> Tuple[List[str], List[Tuple[int, int]]]:
    """The text's sentences, and the windows to read as (first, last+1) sentence indexes: the
    whole text when short, else each sentence with the one or two after it, up to WINDOW_CHARS."""
    text = text.strip() or " "
    if len(text) <= WINDOW_CHARS:
        return [text], [(0, 1)]
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()] or [text]
    spans = []
    for i in range(len(sentences)):
        last, size = i + 1, len(sentences[i])
        while last < len(sentences) and last - i < 3 and size + len(sentences[last]) <= WINDOW_CHARS:
            size += len(sentences[last])
            last += 1
        spans.append((i, last))
    return sentences, spans


def _counters(language: str) -> List[CountVectorizer]:
    if language == "zh":
        return [CountVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, max_features=60000)]
    return [CountVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, lowercase=True,
                            token_pattern=r"(?u)\b\w[\w']*\b", max_features=40000),
            CountVectorizer(analyzer="char_wb", ngram_range=(3, 4), min_df=2, lowercase=True, max_features=50000)]


def _fingerprint(files: Sequence[Path]) -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _classifier() -> LogisticRegression:
    return LogisticRegression(C=8.0, class_weight="balanced", solver="liblinear")


def training_rows(rows: Sequence[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """What the model learns from: every short row as it is, and every sentence window of a long
    plain letter as plain. A long letter with a crisis in it is left out: which of its windows
    holds the crisis is not known, and learning the whole letter as a crisis would teach the
    model that "thank you" and "I want to ask" are signs of one (at run time every window of a
    long message is read on its own)."""
    out: List[Tuple[str, str]] = []
    for level, text in rows:
        if len(text) <= WINDOW_CHARS:
            out.append((level, text))
        elif level == "none":
            sentences, spans = windows(text)
            out += [(level, "".join(sentences[first:last])) for first, last in spans]
    return out


def train(language: str, rows: Sequence[Tuple[str, str]]) -> LanguageModel:
    """Fits the model and calibrates its thresholds on cross-validated plain rows."""
    rows = training_rows(rows)
    levels = np.array([level for level, _ in rows])
    texts = [text for _, text in rows]
    counters = _counters(language)
    counts = sp.hstack([counter.fit_transform(texts) for counter in counters]).tocsr()
    weighting = TfidfTransformer(sublinear_tf=True)
    matrix = weighting.fit_transform(counts)
    classifier = _classifier().fit(matrix, levels)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    held_out = cross_val_predict(_classifier(), matrix, levels, cv=folds, method="predict_proba")
    classes = list(classifier.classes_)
    plain = levels == "none"
    thresholds = {}
    for level, rate in PLAIN_RATE.items():
        column = held_out[:, classes.index(level)] if level != "concern" else 1.0 - held_out[:, classes.index("none")]
        scores = np.sort(column[plain])[::-1]
        allowed = int(rate * len(scores))
        floor = FLOORS[level]
        thresholds[level] = float(min(0.95, max(floor, scores[allowed] + 1e-6))) if len(scores) else 0.9
    return LanguageModel(language, counters, weighting, classifier, thresholds)
