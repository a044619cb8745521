"""The one-page summary at the end of `make bench`: every figure the benches kept
(bench/figures.py), with the baseline measured in the same run, the ratio and the target.

    .venv/bin/python bench/summary.py reports/bench/figures.jsonl [--expect nlu_latency,ws_load,...]

`--expect` names the benches that ran: one that kept no figure (it failed before its end) is
listed as such. Always exits 0: the benches' own exit codes say what failed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import figures  # noqa: E402

WIDTH = {"bench": 16, "figure": 34, "value": 13, "baseline": 13, "ratio": 7, "target": 14}


def amount(value: Optional[float], unit: str) -> str:
    if value is None:
        return "—"
    if unit == "count":
        return f"{value:.0f}"
    if unit == "share":
        return f"{value:.0%}"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:.{digits}f} {unit}"


def verdict(figure: Dict[str, Any]) -> str:
    result = figures.met(figure)
    return "" if result is None else "ok" if result else "MISSED"


def table(kept: Sequence[Dict[str, Any]], expected: Sequence[str] = ()) -> List[str]:
    """The summary's lines."""
    head = (f"{'bench':<{WIDTH['bench']}}{'figure':<{WIDTH['figure']}}{'value':>{WIDTH['value']}}"
            f"{'baseline':>{WIDTH['baseline']}}{'ratio':>{WIDTH['ratio']}}  target")
    lines = [head, "-" * len(head)]
    benches = list(dict.fromkeys([*expected, *(figure["bench"] for figure in kept)]))
    for bench in benches:
        mine = [figure for figure in kept if figure["bench"] == bench]
        if not mine:
            lines.append(f"{bench:<{WIDTH['bench']}}(no figures: it stopped before printing them)")
            continue
        for n, figure in enumerate(mine):
            ratio = figures.ratio(figure)
            lines.append(
                f"{bench if n == 0 else '':<{WIDTH['bench']}}{figure['figure'][:WIDTH['figure'] - 1]:<{WIDTH['figure']}}"
                f"{amount(figure['value'], figure['unit']):>{WIDTH['value']}}"
                f"{amount(figure.get('baseline'), figure['unit']):>{WIDTH['baseline']}}"
                f"{'—' if ratio is None else f'{ratio:.2f}':>{WIDTH['ratio']}}"
                f"  {figure.get('target') or '':<{WIDTH['target']}}{verdict(figure)}".rstrip())
    missed = sum(1 for figure in kept if figures.met(figure) is False)
    lines.append("")
    lines.append("baselines (measured in the same run):")
    for bench in benches:
        names = dict.fromkeys(figure["baseline_name"] for figure in kept
                              if figure["bench"] == bench and figure.get("baseline_name"))
        if names:
            lines.append(f"  {bench}: {'; '.join(names)}")
    lines.append(f"{len(kept)} figures, {sum(1 for f in kept if figures.met(f) is not None)} with a target, "
                 f"{missed} missed")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--expect", default="", help="comma-separated benches that ran")
    args = parser.parse_args(argv)
    expected = [name for name in args.expect.split(",") if name]
    print("\nSummary of make bench: each figure against its baseline in the same run "
          "(ratio = value / baseline)")
    for line in table(figures.read(args.path), expected):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
