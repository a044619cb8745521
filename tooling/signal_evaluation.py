"""`python -m tooling.signal_evaluation` (`make eval-signals`): the signal detector's figures, per language.

Three sources, printed in this order:
1. the blind challenge rounds (`tests/signals/challenge/round-N/*.tsv`, written by helper sessions
   that never saw the lexicons or the corpus): for the newest round, the **first-sight** figures
   recorded before any tuning on it (`first-sight.json`), then today's figures on it, then today's
   figures on all rounds together;
2. the development slice (../shared/eval, read at run time, never copied into the repository);
3. the misses of the newest round (`--misses N` per language; 0 for none).
Figures, as issue 3 defines them:
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

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bot.signals.detector import SignalDetector, detector_for
from core.language_codes import LANGUAGES
from core.settings import current

ROOT = Path(__file__).resolve().parents[1]
LEXICONS = ROOT / "data" / "lexicons" / "signals"
CHALLENGE = ROOT / "tests" / "signals" / "challenge"
_ESCALATING = ("urgent", "crisis")


def dev_slice() -> Path:
    """The development slice: real_questions_dev.tsv in RENBEN_EVAL_DIR (default ../shared/eval)."""
    return current().eval_dir / "real_questions_dev.tsv"


def read_rows(path: Optional[Path] = None) -> List[Dict[str, str]]:
    with (path or dev_slice()).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def rounds(directory: Path = CHALLENGE) -> List[Path]:
    """The challenge round folders, oldest first (round-1, round-2, ...)."""
    found = [p for p in directory.glob("round-*") if p.is_dir() and p.name[6:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[6:]))


def read_round(folder: Path) -> List[Dict[str, str]]:
    return [row for path in sorted(folder.glob("*.tsv")) for row in read_rows(path)]


def first_sight(folder: Path) -> Optional[Dict[str, Any]]:
    """The figures recorded on a round before anything was tuned on it, or None."""
    path = folder / "first-sight.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _ratio(hits: int, total: int) -> Optional[float]:
    return hits / total if total else None


def evaluate(
    rows: Optional[List[Dict[str, str]]] = None, detector: Optional[SignalDetector] = None
) -> Dict[str, Dict[str, Any]]:
    """{language: {figure: {"value": float|None, "hits": k, "rows": n}}} plus "misses" per language."""
    rows = read_rows() if rows is None else rows
    detector = detector or detector_for(LEXICONS)
    counts: Dict[str, Dict[str, List[int]]] = {}
    misses: Dict[str, List[str]] = {}
    for row in rows:
        lang, kind, accept = row["lang"], row["kind"], row["accept"].split()
        signals = detector.detect(row["text"])
        level = signals["distress"]["level"]
        complexity = signals["complexity"]["level"]
        cell = counts.setdefault(
            lang,
            {
                k: [0, 0]
                for k in ("crisis_recall", "distress_recall", "complex_recall", "false_escalation", "precision")
            },
        )

        def count(figure: str, hit: bool) -> None:
            cell[figure][0] += int(hit)
            cell[figure][1] += 1
            if not hit and figure != "false_escalation" or hit and figure == "false_escalation":
                misses.setdefault(lang, []).append(f"{figure}: {kind} got {level}/{complexity}: {row['text'][:90]}")

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


TARGETS = {
    "crisis_recall": (">=", 0.95),
    "distress_recall": (">=", 0.9),
    "complex_recall": (">=", 0.8),
    "false_escalation": ("<=", 0.05),
}


def _print_table(title: str, figures: Dict[str, Dict[str, Any]], languages: Sequence[str]) -> None:
    print(title)
    for lang in languages:
        table = figures.get(lang)
        if not table:
            continue
        cells = []
        for name in ("crisis_recall", "distress_recall", "complex_recall", "false_escalation", "precision"):
            cell = table.get(name) or {}
            value = cell.get("value")
            shown = "n/a" if value is None else f"{value:.1%}"
            target = TARGETS.get(name)
            mark = ""
            if target and value is not None:
                ok = value >= target[1] if target[0] == ">=" else value <= target[1]
                mark = "" if ok else " (below target)" if target[0] == ">=" else " (over target)"
            cells.append(f"{name.replace('_', ' ')} {shown} ({cell.get('hits', 0)}/{cell.get('rows', 0)}){mark}")
        print(f"  {lang}: " + "; ".join(cells))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--misses", type=int, default=15, help="misses to list per language (newest round)")
    args = parser.parse_args(argv)
    detector = detector_for(LEXICONS)
    languages = LANGUAGES
    found = rounds()
    if found:
        newest = found[-1]
        recorded = first_sight(newest)
        if recorded:
            _print_table(
                f"{newest.name}, first sight ({recorded.get('measured', '?')}, before tuning on it):",
                recorded["figures"],
                languages,
            )
        else:
            recorded_at = CHALLENGE.relative_to(ROOT) / newest.name / "first-sight.json"
            print(f"{newest.name}: no first-sight figures recorded ({recorded_at})")
        today = evaluate(read_round(newest), detector)
        _print_table(f"{newest.name}, today:", today, languages)
        all_rows = [row for folder in found for row in read_round(folder)]
        _print_table(
            f"all rounds ({', '.join(f.name for f in found)}), today:", evaluate(all_rows, detector), languages
        )
    if dev_slice().exists():
        _print_table("development slice (../shared/eval), today:", evaluate(read_rows(), detector), languages)
    else:
        print(f"development slice: not found at {dev_slice()} (set RENBEN_EVAL_DIR)")
    if found and args.misses:
        print(f"misses on {found[-1].name} (at most {args.misses} per language):")
        for lang in languages:
            for miss in (today.get(lang) or {}).get("misses", [])[: args.misses]:
                print(f"  {lang} - {miss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
