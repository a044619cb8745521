"""The figures a benchmark prints, kept as JSON lines for the summary of `make bench`
(bench/summary.py).

Each bench script calls `record(...)` beside the line that prints a figure. When the environment
names a file in RENBEN_BENCH_FIGURES (`make bench` sets reports/bench/figures.jsonl), the figure is
appended to it as one line of JSON:

    {"bench": "nlu_latency", "figure": "/model/parse p50", "value": 12.3, "unit": "ms",
     "baseline": 8.1, "baseline_name": "Rasa's default pipeline", "target": "ratio <= 1.5"}

otherwise nothing is written: a script run by hand prints what it always printed, and no more.
`target` is "ratio OP NUMBER" (value / baseline) or "value OP NUMBER", OP one of <=, <, ==, >=, >.
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional

VARIABLE = "RENBEN_BENCH_FIGURES"
_TARGET = re.compile(r"^(ratio|value)\s*(<=|<|==|>=|>)\s*(-?[\d.]+)$")
_COMPARE = {"<=": lambda a, b: a <= b, "<": lambda a, b: a < b, "==": lambda a, b: a == b,
            ">=": lambda a, b: a >= b, ">": lambda a, b: a > b}


def record(bench: str, figure: str, value: float, unit: str, *, baseline: Optional[float] = None,
           baseline_name: Optional[str] = None, target: Optional[str] = None) -> None:
    """Keeps one figure (and its baseline, measured in the same run) for the summary."""
    if target is not None and not _TARGET.match(target):
        raise ValueError(f"a target is 'ratio|value OP number', not {target!r}")
    path = os.environ.get(VARIABLE)
    if not path:
        return
    line = {"bench": bench, "figure": figure, "value": _number(value), "unit": unit,
            "baseline": _number(baseline), "baseline_name": baseline_name, "target": target}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def _number(value: Optional[float]) -> Optional[float]:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(value)


def read(path: Path) -> List[Dict[str, Any]]:
    """The figures kept in `path`, in the order they were recorded ([] when there is none)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def ratio(figure: Dict[str, Any]) -> Optional[float]:
    value, baseline = figure.get("value"), figure.get("baseline")
    if value is None or not baseline:
        return None
    return value / baseline


def met(figure: Dict[str, Any]) -> Optional[bool]:
    """Whether the figure meets its target; None when it has none (or nothing to compare)."""
    match = _TARGET.match(figure.get("target") or "")
    if not match:
        return None
    measured = ratio(figure) if match[1] == "ratio" else figure.get("value")
    if measured is None:
        return None
    return _COMPARE[match[2]](measured, float(match[3]))
