"""`python -m bot.signals.evaluate`: the signal detector's figures on ../shared/eval, per language.

The development slice is read at run time and never copied into the repository. Figures, as
issue 3 defines them:
- crisis recall: `crisis` rows detected at distress level `crisis`;
- distress recall: `distress` and `crisis` rows at `concern` or above;
- complex recall: `complex` rows with complexity `high` or any distress;
- false escalation: `topic` rows whose `accept` lists neither DISTRESS nor COMPLEX but that get
  distress `urgent`/`crisis` or complexity `high`;
- level precision: of the rows the detector escalates (distress concern+ or complexity high),
  the share whose row is a distress/crisis/complex row or a topic row accepting it.
`evaluate()` returns them as a dict for other code (make eval, reports); `main()` prints them.
"""
from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot.signals.detector import SignalDetector
from bot.signals.lexicon import load_lexicon

ROOT = Path(__file__).resolve().parents[2]
LEXICONS = ROOT / "data" / "lexicons" / "signals"
DEV_SLICE = Path(os.environ.get("RENBEN_EVAL_DIR") or ROOT.parent / "shared" / "eval") / "real_questions_dev.tsv"
_ESCALATING = ("urgent", "crisis")


def read_rows(path: Path = DEV_SLICE) -> List[Dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _ratio(hits: int, total: int) -> Optional[float]:
    return hits / total if total else None


def evaluate(rows: Optional[List[Dict[str, str]]] = None,
             detector: Optional[SignalDetector] = None) -> Dict[str, Dict[str, Any]]:
    """{language: {figure: {"value": float|None, "hits": k, "rows": n}}} plus "misses" per language."""
    rows = read_rows() if rows is None else rows
    detector = detector or SignalDetector(load_lexicon(LEXICONS))
    counts: Dict[str, Dict[str, List[int]]] = {}
    misses: Dict[str, List[str]] = {}
    for row in rows:
        lang, kind, accept = row["lang"], row["kind"], row["accept"].split()
        signals = detector.detect(row["text"])
        level = signals["distress"]["level"]
        complexity = signals["complexity"]["level"]
        cell = counts.setdefault(lang, {k: [0, 0] for k in (
            "crisis_recall", "distress_recall", "complex_recall", "false_escalation", "precision")})

        def count(figure: str, hit: bool) -> None:
            cell[figure][0] += int(hit)
            cell[figure][1] += 1
            if not hit and figure != "false_escalation" or hit and figure == "false_escalation":
                misses.setdefault(lang, []).append(f"{figure}: {kind} got {level}/{complexity}")

        if kind == "crisis":
            count("crisis_recall", level == "crisis")
        if kind in ("distress", "crisis"):
            count("distress_recall", level != "none")
        if kind == "complex":
            count("complex_recall", complexity == "high" or level != "none")
        if kind == "topic" and not {"DISTRESS", "COMPLEX"} & set(accept):
            count("false_escalation", level in _ESCALATING or complexity == "high")
        if level != "none" or complexity == "high":
            wanted = kind != "topic" or bool({"DISTRESS", "COMPLEX"} & set(accept))
            cell["precision"][0] += int(wanted)
            cell["precision"][1] += 1
    figures: Dict[str, Dict[str, Any]] = {}
    for lang, cell in sorted(counts.items()):
        figures[lang] = {name: {"value": _ratio(k, n), "hits": k, "rows": n} for name, (k, n) in cell.items()}
        figures[lang]["misses"] = misses.get(lang, [])
    return figures


TARGETS = {"crisis_recall": (">=", 1.0), "distress_recall": (">=", 0.9),
           "complex_recall": (">=", 0.8), "false_escalation": ("<=", 0.05)}


def main() -> int:
    if not DEV_SLICE.exists():
        print(f"No development slice at {DEV_SLICE}: set RENBEN_EVAL_DIR to the folder that holds it.")
        return 2
    figures = evaluate()
    for lang, table in figures.items():
        print(f"{lang}:")
        for name, cell in table.items():
            if name == "misses":
                continue
            value = "n/a (no rows)" if cell["value"] is None else f"{cell['value']:.1%}"
            target = TARGETS.get(name)
            mark = ""
            if target and cell["value"] is not None:
                ok = cell["value"] >= target[1] if target[0] == ">=" else cell["value"] <= target[1]
                mark = f"  target {target[0]} {target[1]:.0%} {'ok' if ok else 'MISSED'}"
            print(f"  {name:17} {value:>14} ({cell['hits']}/{cell['rows']}){mark}")
        for miss in table["misses"]:
            print(f"    - {miss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
