"""Intent figures from predictions: precision, recall, F1 and the confusion matrix, computed by
scikit-learn and returned as plain Python numbers (the report is JSON). Pure.

A `Prediction` is one message with the intent it should get, the one it got and how sure the
model was. Callers group predictions by language (`by_language`) and score each group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Sequence, Tuple

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


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


def _labels(predictions: Sequence[Prediction]) -> List[str]:
    """Every intent expected or predicted, sorted by name."""
    return sorted({p.expected for p in predictions} | {p.predicted for p in predictions})


def intent_scores(predictions: Sequence[Prediction]) -> List[IntentScore]:
    """Per intent, sorted by name. An intent only ever predicted (never expected) gets support 0;
    a figure whose denominator is 0 is 0."""
    labels = _labels(predictions)
    if not labels:
        return []
    precision, recall, f1, support = precision_recall_fscore_support(
        [p.expected for p in predictions], [p.predicted for p in predictions], labels=labels, zero_division=0
    )
    return [
        IntentScore(intent, float(p), float(r), float(f), int(n))
        for intent, p, r, f, n in zip(labels, precision, recall, f1, support)
    ]


def averages(predictions: Sequence[Prediction]) -> Dict[str, float]:
    """Macro (each intent counts the same) and weighted (by support) averages of the per-intent
    figures, over the intents expected (scikit-learn's `average="macro"` and `"weighted"`); an
    intent only ever predicted counts in no average. 0 for no predictions."""
    expected = sorted({p.expected for p in predictions})
    table: Dict[str, float] = {}
    for average in ("macro", "weighted"):
        figures = (0.0, 0.0, 0.0)
        if expected:
            precision, recall, f1, _ = precision_recall_fscore_support(
                [p.expected for p in predictions],
                [p.predicted for p in predictions],
                labels=expected,
                average=average,
                zero_division=0,
            )
            figures = (float(precision), float(recall), float(f1))
        table.update({f"{average}_{name}": value for name, value in zip(("precision", "recall", "f1"), figures)})
    return table


def accuracy(predictions: Sequence[Prediction]) -> float:
    """The share of predictions that hit; 0 for none."""
    if not predictions:
        return 0.0
    return float(accuracy_score([p.expected for p in predictions], [p.predicted for p in predictions]))


def confusion(predictions: Iterable[Prediction]) -> Tuple[List[str], List[List[int]]]:
    """(labels, counts) where counts[i][j] = messages expected labels[i] and predicted labels[j]."""
    predictions = list(predictions)
    labels = _labels(predictions)
    if not labels:
        return [], []
    counts = confusion_matrix([p.expected for p in predictions], [p.predicted for p in predictions], labels=labels)
    return labels, counts.tolist()


def by_language(predictions: Iterable[Prediction]) -> Dict[str, List[Prediction]]:
    groups: Dict[str, List[Prediction]] = {}
    for prediction in predictions:
        groups.setdefault(prediction.lang, []).append(prediction)
    return dict(sorted(groups.items()))
