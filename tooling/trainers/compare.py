"""What got better or worse since the previous evaluation report. Pure: two report dicts in.

A report (reports/eval/latest.json, written by tooling/evaluation.py) holds, per language,
`intents: {intent: {precision, recall, f1, support}}` and `dev: [{id, text, accept, predicted,
confidence, hit}]`. Dev rows are matched by `id` (a hash of language and text), so a row keeps its
identity when the model changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

#: A change in F1 smaller than this is noise between runs, not better or worse.
F1_TOLERANCE = 0.01


@dataclass(frozen=True)
class IntentChange:
    lang: str
    intent: str
    before: float
    after: float

    @property
    def delta(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class RowChange:
    lang: str
    text: str
    accept: List[str]
    before: str  # intent predicted in the previous report
    after: str


@dataclass
class Comparison:
    previous_model: str = ""
    intents_better: List[IntentChange] = field(default_factory=list)
    intents_worse: List[IntentChange] = field(default_factory=list)
    rows_fixed: List[RowChange] = field(default_factory=list)
    rows_broken: List[RowChange] = field(default_factory=list)
    figures: Dict[str, Dict[str, float]] = field(default_factory=dict)  # lang -> name -> delta
    note: str = ""  # why the two reports are not fully comparable, if they are not

    @property
    def empty(self) -> bool:
        return not (self.intents_better or self.intents_worse or self.rows_fixed or self.rows_broken)


def compare(
    previous: Optional[Mapping[str, Any]], current: Mapping[str, Any], *, tolerance: float = F1_TOLERANCE
) -> Optional[Comparison]:
    """None when there is no previous report to compare with."""
    if not previous:
        return None
    result = Comparison(previous_model=str(previous.get("model") or ""))
    if previous.get("folds") != current.get("folds"):
        result.note = (
            f"the previous report used {previous.get('folds')} folds and this one "
            f"{current.get('folds')}: part of the difference in F1 comes from that"
        )
    before_langs = previous.get("languages") or {}
    for lang, now in sorted((current.get("languages") or {}).items()):
        then = before_langs.get(lang) or {}
        old_intents = then.get("intents") or {}
        for intent, score in sorted((now.get("intents") or {}).items()):
            if intent not in old_intents:
                continue
            change = IntentChange(lang, intent, float(old_intents[intent]["f1"]), float(score["f1"]))
            if change.delta >= tolerance:
                result.intents_better.append(change)
            elif change.delta <= -tolerance:
                result.intents_worse.append(change)
        old_rows = {row["id"]: row for row in then.get("dev") or []}
        for row in now.get("dev") or []:
            old = old_rows.get(row["id"])
            if old is None or bool(old["hit"]) == bool(row["hit"]):
                continue
            row_change = RowChange(lang, row["text"], list(row["accept"]), old["predicted"], row["predicted"])
            (result.rows_fixed if row["hit"] else result.rows_broken).append(row_change)
        for name in ("cv_macro_f1", "cv_accuracy", "dev_accuracy"):
            if name in now and name in then:
                result.figures.setdefault(lang, {})[name] = float(now[name]) - float(then[name])
    result.intents_worse.sort(key=lambda c: c.delta)
    result.intents_better.sort(key=lambda c: -c.delta)
    return result
