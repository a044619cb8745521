"""`make eval`: intent accuracy per language on the development slice in ../shared/eval/.

The slice is read at run time and never copied into the repository. A `topic` row counts when
the predicted intent is one of the row's `accept` intents. The report goes to reports/eval.json
(ignored by git); the summary and the misses are printed.
"""
from __future__ import annotations

import asyncio
import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Sequence

from bot.settings import ROOT

DEV_SLICE = Path(os.environ.get("RENBEN_EVAL_DIR") or ROOT.parent / "shared" / "eval") / "real_questions_dev.tsv"


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


def read_rows(path: Path = DEV_SLICE) -> List[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [Row(r["lang"], r["kind"], tuple(r["accept"].split()), r["text"])
                for r in csv.DictReader(handle, delimiter="\t")]


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


async def _predict(model: Path, rows: List[Row]) -> List[Outcome]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    outcomes = []
    for row in rows:
        parsed = await agent.parse_message(row.text)
        intent = parsed.get("intent") or {}
        outcomes.append(Outcome(row, intent.get("name") or "", float(intent.get("confidence") or 0.0)))
    return outcomes


def main() -> int:
    from bot import model_store

    if not DEV_SLICE.exists():
        print(f"No development slice at {DEV_SLICE}: set RENBEN_EVAL_DIR to the folder that holds it.")
        return 2
    model = model_store.ensure_trained(ROOT / "models")
    rows = [r for r in read_rows() if r.kind == "topic"]
    print(f"Evaluating {len(rows)} topic rows of {DEV_SLICE.name} with {model.name} ...")
    outcomes = asyncio.run(_predict(model, rows))
    table = accuracy(outcomes)
    misses = [o for o in outcomes if not o.hit]
    for outcome in misses:
        text = outcome.row.text.replace("\n", " ")
        print(f"  miss [{outcome.row.lang}] expected {'|'.join(outcome.row.accept)}, got "
              f"{outcome.predicted} ({outcome.confidence:.2f}): {text[:90]}")
    for lang, cell in sorted(table.items()):
        print(f"{lang}: intent accuracy {cell['accuracy']:.1%} ({cell['hits']}/{cell['rows']} topic rows)")
    reports = ROOT / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "eval.json").write_text(json.dumps({
        "model": model.name, "accuracy": table,
        "misses": [{"lang": o.row.lang, "expected": list(o.row.accept), "predicted": o.predicted,
                    "confidence": o.confidence, "text": o.row.text} for o in misses],
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"Report: {reports / 'eval.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
