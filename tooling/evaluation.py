"""`make eval`: how well the NLU understands claimants, per language, and what changed.

1. Cross-validation on data/nlu (k seeded folds, one NLU training each: the slow step, progress
   shown): intent precision, recall and F1 per language.
2. Accuracy on the development slice of real questions in ../shared/eval/, read at run time and
   never copied into the repository. A `topic` row counts when the predicted intent is one of the
   row's `accept` intents. Long messages (`LONG_CHARS`: where the question comes after a story)
   are also counted apart.
3. The signal figures from `tooling.signal_evaluation`, when that module exists.
4. A comparison with the previous report: intents and dev rows that got better or worse.

Writes reports/eval/ (ignored by git): report.html (open it in a browser), confusion-<lang>.png,
latest.json (the next run's "previous"), previous.json; and reports/eval.json as before.
`--folds K` (or RENBEN_CV_FOLDS) sets k; `--no-cv` measures only the dev slice (a minute);
`--model PATH` measures that trained model instead of the one for today's data.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

from core.settings import ROOT, current

DEV_SLICE_NAME = "real_questions_dev.tsv"


def dev_slice() -> Path:
    """The development slice: real_questions_dev.tsv in RENBEN_EVAL_DIR (default ../shared/eval)."""
    return current().eval_dir / DEV_SLICE_NAME


@dataclass(frozen=True)
class Row:
    lang: str
    kind: str
    accept: Sequence[str]
    text: str


@dataclass(frozen=True)
class Outcome:
    row: Row
    predicted: str
    confidence: float

    @property
    def hit(self) -> bool:
        return self.predicted in self.row.accept


def read_rows(path: Optional[Path] = None) -> List[Row]:
    with (path or dev_slice()).open(encoding="utf-8", newline="") as handle:
        return [
            Row(r["lang"], r["kind"], tuple(r["accept"].split()), r["text"])
            for r in csv.DictReader(handle, delimiter="\t")
        ]


#: A long message, where the question tends to come after a story. Chinese says in one character
#: about what English says in two or three, hence the two lengths.
LONG_CHARS = {"zh": 100, "en": 250}


def is_long(row: Row) -> bool:
    return len(row.text) >= LONG_CHARS.get(row.lang, 250)


def accuracy(outcomes: Iterable[Outcome]) -> Dict[str, Dict[str, float]]:
    """{language: {"rows": n, "hits": k, "accuracy": k/n}}."""
    table: Dict[str, Dict[str, float]] = {}
    for outcome in outcomes:
        cell = table.setdefault(outcome.row.lang, {"rows": 0, "hits": 0})
        cell["rows"] += 1
        cell["hits"] += outcome.hit
    for cell in table.values():
        cell["accuracy"] = cell["hits"] / cell["rows"] if cell["rows"] else 0.0
    return table


async def predict(model: Path, rows: List[Row]) -> List[Outcome]:
    """Each row parsed by the trained model: its intent and confidence."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    outcomes = []
    for row in rows:
        parsed = await agent.parse_message(row.text)
        intent = parsed.get("intent") or {}
        outcomes.append(Outcome(row, intent.get("name") or "", float(intent.get("confidence") or 0.0)))
    return outcomes


DEFAULT_FOLDS = 3
SHOWN_CHANGES = 5  # per direction in the printed summary; the report lists them all
REPORTS = ROOT / "reports"


def row_id(lang: str, text: str) -> str:
    """A dev row's identity across reports (the slice has no ids of its own)."""
    return hashlib.sha1(f"{lang}\0{text}".encode("utf-8")).hexdigest()[:12]


def signal_figures() -> Any:
    """`tooling.signal_evaluation.evaluate()` (the signals' own figures on the dev slice, per
    language), or a note saying why there are none."""
    try:
        from tooling.signal_evaluation import evaluate
    except ImportError as error:
        return f"not measured: tooling.signal_evaluation is not importable ({error})"
    try:
        return evaluate()
    except Exception as error:  # another module's failure must not lose the NLU report
        return f"not measured: tooling.signal_evaluation failed ({type(error).__name__}: {error})"


def build_report(
    *, model: str, fingerprint: str, folds: int, cv: Sequence[Any], dev: Sequence[Outcome], signals: Any, created: str
) -> Dict[str, Any]:
    """The report dict (reports/eval/latest.json) from cross-validation and dev predictions."""
    from tooling.trainers import metrics

    languages: Dict[str, Dict[str, Any]] = {}
    for lang, predictions in metrics.by_language(cv).items():
        scores = metrics.intent_scores(predictions)
        averages = metrics.averages(predictions)
        languages[lang] = {
            "cv_examples": len(predictions),
            "cv_accuracy": metrics.accuracy(predictions),
            "cv_macro_f1": averages["macro_f1"],
            "cv_weighted_f1": averages["weighted_f1"],
            "averages": averages,
            "intents": {s.intent: s.as_dict() for s in scores},
            "cv_misses": [
                {
                    "text": p.text,
                    "expected": p.expected,
                    "predicted": p.predicted,
                    "confidence": p.confidence,
                    "where": p.where,
                }
                for p in predictions
                if not p.hit
            ],
        }
    for lang, cell in accuracy(dev).items():
        entry = languages.setdefault(lang, {})
        entry["dev_accuracy"] = cell["accuracy"]
        entry["dev"] = [
            {
                "id": row_id(o.row.lang, o.row.text),
                "text": o.row.text,
                "accept": list(o.row.accept),
                "predicted": o.predicted,
                "confidence": o.confidence,
                "hit": o.hit,
            }
            for o in dev
            if o.row.lang == lang
        ]
    return {
        "created": created,
        "model": model,
        "fingerprint": fingerprint,
        "folds": folds,
        "signals": signals,
        "languages": dict(sorted(languages.items())),
    }


def write_report(report: Dict[str, Any], out: Path, cv: Sequence[Any]) -> Optional[Any]:
    """Writes the PNGs, the HTML and the JSON; returns the comparison with the previous report."""
    from tooling.trainers import compare, metrics, plots, report_html

    out.mkdir(parents=True, exist_ok=True)
    latest = out / "latest.json"
    previous = json.loads(latest.read_text(encoding="utf-8")) if latest.exists() else None
    for lang, predictions in metrics.by_language(cv).items():
        labels, counts = metrics.confusion(predictions)
        name = f"confusion-{lang}.png"
        plots.confusion_png(
            labels, counts, out / name, title=f"{lang}: expected (rows) vs predicted (columns), cross-validation"
        )
        report["languages"][lang]["confusion_png"] = name
    comparison = compare.compare(previous, report)
    (out / "report.html").write_text(report_html.render(report, comparison), encoding="utf-8")
    if previous is not None:
        (out / "previous.json").write_text(json.dumps(previous, ensure_ascii=False, indent=1), encoding="utf-8")
    latest.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return comparison


def summary_lines(report: Dict[str, Any], comparison: Optional[Any]) -> List[str]:
    lines = []
    for lang, data in report["languages"].items():
        if "cv_accuracy" in data:
            a = data["averages"]
            lines.append(
                f"{lang}: cross-validation ({report['folds']} folds, {data['cv_examples']} examples): "
                f"accuracy {data['cv_accuracy']:.1%}, macro precision {a['macro_precision']:.1%}, "
                f"recall {a['macro_recall']:.1%}, F1 {a['macro_f1']:.1%}"
            )
            worst = sorted(((n, s) for n, s in data["intents"].items() if s["support"]), key=lambda kv: kv[1]["f1"])[:3]
            lines.append(f"{lang}:   weakest intents: " + ", ".join(f"{n} F1 {s['f1']:.0%}" for n, s in worst))
        if "dev_accuracy" in data:
            hits = sum(r["hit"] for r in data["dev"])
            lines.append(
                f"{lang}: dev slice intent accuracy {data['dev_accuracy']:.1%} ({hits}/{len(data['dev'])} topic rows)"
            )
            long = [r for r in data["dev"] if is_long(Row(lang, "topic", (), r["text"]))]
            if long:
                lines.append(
                    f"{lang}: dev slice, long messages alone: "
                    f"{sum(r['hit'] for r in long) / len(long):.1%} ({sum(r['hit'] for r in long)}/{len(long)})"
                )
    signals = report.get("signals")
    if isinstance(signals, dict) and all(isinstance(v, dict) for v in signals.values()):
        from tooling.trainers.report_html import signal_cells

        for lang, table in signals.items():
            lines.append(
                f"{lang}: signals "
                + ", ".join(
                    f"{name} {value}" + (f" ({count})" if count else "")
                    for name, value, count in signal_cells(table)
                    if name != "misses"
                )
            )
    else:
        lines.append(f"signals: {signals}")
    if comparison is None:
        lines.append("changes: no previous report (the next run compares with this one)")
    else:
        if comparison.note:
            lines.append(f"changes: {comparison.note}")
        for kind, changes in (("worse", comparison.intents_worse), ("better", comparison.intents_better)):
            for c in changes[:SHOWN_CHANGES]:
                lines.append(f"{kind}: {c.lang} {c.intent} F1 {c.before:.0%} -> {c.after:.0%}")
            if len(changes) > SHOWN_CHANGES:
                lines.append(f"{kind}: ... and {len(changes) - SHOWN_CHANGES} more intent(s), see the report")
        for r in comparison.rows_broken:
            lines.append(f"now wrong: [{r.lang}] {r.text[:70]} (was {r.before}, now {r.after})")
        lines.append(
            f"changes: {len(comparison.rows_fixed)} real question(s) now right, "
            f"{len(comparison.rows_broken)} now wrong, {len(comparison.intents_better)} intent(s) "
            f"better, {len(comparison.intents_worse)} worse"
        )
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    from tooling import model_store
    from tooling.trainers import crossval

    parser = argparse.ArgumentParser(prog="python -m tooling.evaluation", description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=int(os.environ.get("RENBEN_CV_FOLDS") or DEFAULT_FOLDS))
    parser.add_argument("--no-cv", action="store_true", help="skip cross-validation (dev slice only)")
    parser.add_argument("--out", type=Path, default=REPORTS / "eval")
    parser.add_argument("--model", type=Path, help="a trained model (default: the one for today's data)")
    args = parser.parse_args(argv)
    model_given = args.model.resolve() if args.model else None
    os.chdir(ROOT)  # the pipeline names its files relative to the project
    crossval.quiet_rasa()
    started = time.monotonic()

    try:
        model = model_given or model_store.ensure_trained(ROOT / "models")
    except subprocess.CalledProcessError:
        print(
            "Training the bot failed: Rasa's message above says why. Run `make validate`, fix "
            "what it reports, and run `make eval` again."
        )
        return 1
    dev: List[Outcome] = []
    slice_path = dev_slice()
    if slice_path.exists():
        rows = [r for r in read_rows(slice_path) if r.kind == "topic"]
        print(f"[1/3] dev slice: {len(rows)} topic rows of {slice_path.name} with {model.name} ...", flush=True)
        dev = asyncio.run(predict(model, rows))
    else:
        print(f"[1/3] no development slice at {slice_path}: set RENBEN_EVAL_DIR to the folder that holds it.")
    cv: List[Any] = []
    if not args.no_cv:
        print(f"[2/3] cross-validation, {args.folds} folds (about a minute each) ...", flush=True)
        cv = crossval.cross_validate(ROOT, k=args.folds, progress=lambda line: print(line, flush=True))
    print("[3/3] signal figures, report ...", flush=True)
    report = build_report(
        model=model.name,
        fingerprint=model_store.fingerprint(),
        folds=args.folds if cv else 0,
        cv=cv,
        dev=dev,
        signals=signal_figures(),
        created=dt.datetime.now().isoformat(timespec="seconds"),
    )
    comparison = write_report(report, args.out, cv)
    misses = [o for o in dev if not o.hit]
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "eval.json").write_text(
        json.dumps(
            {
                "model": model.name,
                "accuracy": accuracy(dev),
                "misses": [
                    {
                        "lang": o.row.lang,
                        "expected": list(o.row.accept),
                        "predicted": o.predicted,
                        "confidence": o.confidence,
                        "text": o.row.text,
                    }
                    for o in misses
                ],
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    for line in summary_lines(report, comparison):
        print(line)
    print(f"Report: {args.out / 'report.html'} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
