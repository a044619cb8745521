"""`python -m tooling.topic_challenge` (`make eval-topics`): topic accuracy on the blind challenge rounds.

The rounds (`tests/nlu/challenge/round-N/{zh,en}.tsv`) were written by helper sessions that never
saw the training data: real claimants' styles (search fragments, long letters with the question
after the story, other countries' benefit names, rural and local schemes, typos, Traditional
characters, mixed languages). A row counts when the predicted intent is one of its `accept` intents.

Printed per language, overall and for long messages apart (`LONG_CHARS`): the newest round's
**first-sight** figures (`first-sight.json`, recorded before anything was tuned on that round: the
honest estimate), today's figures on it, and today's figures on all rounds. `--record` writes the
newest round's first-sight file when it has none; `--misses N` lists misses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

from core.language_codes import LANGUAGES
from core.settings import ROOT
from tooling.evaluation import Outcome, Row, is_long, predict, read_rows

CHALLENGE = ROOT / "tests" / "nlu" / "challenge"


def rounds(directory: Path = CHALLENGE) -> List[Path]:
    """The round folders, oldest first."""
    found = [p for p in directory.glob("round-*") if p.is_dir() and p.name[6:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[6:]))


def read_round(folder: Path) -> List[Row]:
    return [row for path in sorted(folder.glob("*.tsv")) for row in read_rows(path)]


def figures(outcomes: Iterable[Outcome]) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """{language: {"all"|"long"|"short": {"rows": n, "hits": k, "accuracy": k/n or None}}}."""
    table: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for outcome in outcomes:
        cells = table.setdefault(outcome.row.lang, {part: {"rows": 0, "hits": 0} for part in ("all", "long", "short")})
        for part in ("all", "long" if is_long(outcome.row) else "short"):
            cells[part]["rows"] += 1
            cells[part]["hits"] += int(outcome.hit)
    for cells in table.values():
        for cell in cells.values():
            cell["accuracy"] = round(cell["hits"] / cell["rows"], 3) if cell["rows"] else None
    return table


def lines(title: str, table: Dict[str, Dict[str, Dict[str, Any]]]) -> List[str]:
    out = [title]
    for lang in sorted(table):
        parts = []
        for part in ("all", "long", "short"):
            cell = table[lang][part]
            shown = f"{cell['accuracy']:.1%}" if cell["accuracy"] is not None else "n/a"
            parts.append(f"{part} {shown} ({cell['hits']}/{cell['rows']})")
        out.append(f"  {lang}: " + "; ".join(parts))
    return out


def _model() -> Path:
    from tooling.model_store import fingerprint

    path = ROOT / "models" / f"renben-{fingerprint()}.tar.gz"
    if not path.exists():
        raise SystemExit(f"no model for this data ({path.name}): run `make model` first")
    return path


def _commit() -> str:
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.topic_challenge", description=__doc__.splitlines()[0])
    parser.add_argument("--misses", type=int, default=10, help="misses to list per language (newest round)")
    parser.add_argument("--record", action="store_true", help="write the newest round's first-sight figures")
    parser.add_argument("--model", type=Path, help="a trained model (default: the one for today's data)")
    args = parser.parse_args(argv)
    from tooling.trainers.crossval import quiet_rasa

    quiet_rasa()  # Rasa's debug lines would print every row of every round
    folders = rounds()
    if not folders:
        print(f"no challenge rounds under {CHALLENGE}")
        return 1
    model = args.model or _model()
    newest = folders[-1]
    by_round = {folder.name: asyncio.run(predict(model, read_round(folder))) for folder in folders}
    today = figures(by_round[newest.name])
    recorded = newest / "first-sight.json"
    if args.record and not recorded.exists():
        recorded.write_text(
            json.dumps(
                {
                    "measured": f"at commit {_commit()}, before any tuning on {newest.name}",
                    "command": "python -m tooling.topic_challenge (make eval-topics)",
                    "figures": today,
                },
                indent=1,
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
    if recorded.exists():
        first = json.loads(recorded.read_text(encoding="utf-8"))
        print("\n".join(lines(f"{newest.name}, first sight ({first['measured']}):", first["figures"])))
    else:
        print(f"{newest.name}: no first-sight figures recorded (run with --record before tuning on it)")
    print("\n".join(lines(f"{newest.name}, today:", today)))
    everything = [outcome for outcomes in by_round.values() for outcome in outcomes]
    print("\n".join(lines(f"all rounds ({', '.join(by_round)}), today:", figures(everything))))
    for lang in LANGUAGES:
        missed = [o for o in by_round[newest.name] if o.row.lang == lang and not o.hit][: args.misses]
        for outcome in missed:
            print(
                f"  {lang} miss: wanted {'/'.join(outcome.row.accept)}, got {outcome.predicted} "
                f"({outcome.confidence:.2f}): {outcome.row.text[:90]}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
