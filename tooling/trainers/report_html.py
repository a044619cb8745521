"""The evaluation report as one HTML page: figures per language, what changed since last time,
the confusion matrices, and every miss (message, expected, predicted, confidence). Pure: a
report dict in, a string out.

The page is the Jinja2 template `templates/report.html.j2`; this module holds the number
formats and small helpers it uses. The template autoescapes every value from data or claimants.
"""

from __future__ import annotations

import functools
from html import escape
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import jinja2
from markupsafe import Markup

from tooling.trainers.compare import Comparison

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _band(f1: float) -> str:
    return "good" if f1 >= 0.9 else "mid" if f1 >= 0.75 else "low"


def _anchor(*parts: str) -> str:
    return "-".join("".join(c if c.isalnum() or c in "_" else "_" for c in p) for p in parts)


def _escaped(value: Any) -> Any:
    """Every printed value as `html.escape` writes it (&#x27; for '), as the pages always were."""
    return value if isinstance(value, Markup) else Markup(escape(str(value)))


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        finalize=_escaped,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(
        pct=_pct, band=_band, change=lambda delta: f"{delta:+.1%}", confidence=lambda value: f"{value:.2f}"
    )
    environment.globals.update(anchor=_anchor, dev_figure=_dev, signal_cells=signal_cells, file_link=_file_link)
    return environment


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    return _environment().get_template("report.html.j2")


def render(report: Mapping[str, Any], comparison: Optional[Comparison]) -> str:
    langs: Dict[str, Any] = dict(report.get("languages") or {})
    return _template().render(report=report, langs=langs, comparison=comparison)


def _dev(data: Mapping[str, Any]) -> str:
    if "dev_accuracy" not in data:
        return "not measured"
    hits = sum(1 for r in data.get("dev") or [] if r["hit"])
    return f"{_pct(data['dev_accuracy'])} ({hits}/{len(data.get('dev') or [])})"


def signal_cells(figures: Mapping[str, Any]) -> List[tuple]:
    """(name, "95.5%", "21/22") for each `{value, hits, rows}` figure; other values as text."""
    cells = []
    for name, value in figures.items():
        if isinstance(value, Mapping) and "value" in value:
            shown = "n/a" if value["value"] is None else _pct(float(value["value"]))
            cells.append((str(name), shown, f"{value.get('hits', '')}/{value.get('rows', '')}"))
        elif isinstance(value, (list, tuple)):
            cells.append((str(name), "; ".join(map(str, value)) or "none", ""))
        else:
            cells.append((str(name), _figure(value), ""))
    return cells


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_figure(v)}" for k, v in value.items())
    return str(value)


def _file_link(where: str) -> str:
    """reports/eval/report.html -> the data file (a browser opens it; line numbers are shown)."""
    return "../../" + where.rsplit(":", 1)[0]
