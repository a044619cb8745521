"""Intent figures from predictions: precision, recall, F1 and the confusion matrix. Pure.

A `Prediction` is one message with the intent it should get, the one it got and how sure the
model was. Callers group predictions by language and pass each group to `intent_report`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, List, Sequence, Tuple


@dataclass(frozen=True)
class Prediction:
    lang: str
    text: str
    expected: str
    predicted: str
    confidence: float
    where: str = ""  # "data/nlu/en/ask_pension.yml:12" for training examples

    @property
    def hit(self) -> bool:
        return self.expected == self.predicted


@dataclass(frozen=True)
class IntentScore:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int  # how many messages should have had this intent

    def as_dict(self) -> Dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "support": self.support}


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def intent_scores(predictions: Sequence[Prediction]) -> List[IntentScore]:
    """Per intent, sorted by name. An intent only ever predicted (never expected) gets support 0."""
    expected = Counter(p.expected for p in predictions)
    predicted = Counter(p.predicted for p in predictions)
    correct = Counter(p.expected for p in predictions if p.hit)
    scores = []
    for intent in sorted(set(expected) | set(predicted)):
        precision = _ratio(correct[intent], predicted[intent])
        recall = _ratio(correct[intent], expected[intent])
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(IntentScore(intent, precision, recall, f1, expected[intent]))
    return scores


def averages(scores: Sequence[IntentScore]) -> Dict[str, float]:
    """Macro (each intent counts the same) and weighted (by support) averages, over expected intents."""
    real = [s for s in scores if s.support]
    total = sum(s.support for s in real)
    table: Dict[str, float] = {}
    for name in ("precision", "recall", "f1"):
        table[f"macro_{name}"] = _ratio_f(sum(getattr(s, name) for s in real), len(real))
        table[f"weighted_{name}"] = _ratio_f(sum(getattr(s, name) * s.support for s in real), total)
    return table


def _ratio_f(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def accuracy(predictions: Sequence[Prediction]) -> float:
    return _ratio(sum(p.hit for p in predictions), len(predictions))


def confusion(predictions: Iterable[Prediction]) -> Tuple[List[str], List[List[int]]]:
    """(labels, counts) where counts[i][j] = messages expected labels[i] and predicted labels[j]."""
    pairs = Counter((p.expected, p.predicted) for p in predictions)
    labels = sorted({a for a, _ in pairs} | {b for _, b in pairs})
    position = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for (expected, predicted), n in pairs.items():
        counts[position[expected]][position[predicted]] = n
    return labels, counts


def by_language(predictions: Iterable[Prediction]) -> Dict[str, List[Prediction]]:
    groups: Dict[str, List[Prediction]] = {}
    for prediction in predictions:
        groups.setdefault(prediction.lang, []).append(prediction)
    return dict(sorted(groups.items()))
