"""The evaluation report as one HTML page: figures per language, what changed since last time,
the confusion matrices, and every miss (message, expected, predicted, confidence). Pure: a
report dict in, a string out. Every piece of text from data or claimants goes through `escape`.
"""
from __future__ import annotations

from html import escape
from typing import Any, Dict, List, Mapping, Optional, Sequence

from bot.trainers.compare import Comparison

_STYLE = """
body{font-family:system-ui,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC",sans-serif;max-width:70rem;margin:1.5rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6rem}h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0 1.2rem}th,td{border:1px solid #ccc;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}
.low{background:#fde2e2}.mid{background:#fff4d6}.good{background:#e5f4e6}
.better{color:#0a6b1f}.worse{color:#b00020}.msg{max-width:38rem;word-break:break-word}
nav a{margin-right:1rem}img{max-width:100%;border:1px solid #ddd}small{color:#555}
"""


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _band(f1: float) -> str:
    return "good" if f1 >= 0.9 else "mid" if f1 >= 0.75 else "low"


def _anchor(*parts: str) -> str:
    return "-".join("".join(c if c.isalnum() or c in "_" else "_" for c in p) for p in parts)


def render(report: Mapping[str, Any], comparison: Optional[Comparison]) -> str:
    langs: Dict[str, Any] = dict(report.get("languages") or {})
    out: List[str] = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>Renben NLU evaluation {escape(str(report.get('created', '')))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>How well the bot understands claimants</h1>",
        f"<p><small>Model {escape(str(report.get('model', '')))} · data fingerprint "
        f"{escape(str(report.get('fingerprint', '')))} · {escape(str(report.get('created', '')))} · "
        + (f"cross-validation with {escape(str(report.get('folds')))} folds" if report.get("folds")
           else "no cross-validation in this run (--no-cv)") + "</small></p>",
        "<nav>" + "".join(f"<a href='#{_anchor(lang)}'>{escape(lang)}</a>" for lang in langs)
        + "<a href='#changes'>changes</a><a href='#signals'>signals</a></nav>",
        _summary(langs),
        _changes(comparison),
        _signals(report.get("signals")),
    ]
    for lang, data in langs.items():
        out.append(_language(lang, data))
    out.append("</body></html>")
    return "\n".join(out)


def _summary(langs: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th><a href='#{_anchor(lang)}'>{escape(lang)}</a></th>"
        + (f"<td class='n'>{_pct(d['cv_accuracy'])}</td><td class='n'>{_pct(d.get('cv_macro_f1', 0))}</td>"
           if d.get("cv_examples") else "<td colspan='2'>not run (--no-cv)</td>")
        + f"<td class='n'>{_dev(d)}</td><td class='n'>{d.get('cv_examples') or '—'}</td></tr>"
        for lang, d in langs.items())
    return ("<h2>Summary</h2><table><tr><th>language</th><th>cross-validation accuracy</th>"
            "<th>macro F1 (each intent counts the same)</th><th>real questions (dev slice)</th>"
            f"<th>examples</th></tr>{rows}</table>")


def _dev(data: Mapping[str, Any]) -> str:
    if "dev_accuracy" not in data:
        return "not measured"
    hits = sum(1 for r in data.get("dev") or [] if r["hit"])
    return f"{_pct(data['dev_accuracy'])} ({hits}/{len(data.get('dev') or [])})"


def _changes(comparison: Optional[Comparison]) -> str:
    head = "<h2 id='changes'>Since the previous report</h2>"
    if comparison is None:
        return head + "<p>No previous report to compare with: the next run will compare with this one.</p>"
    parts = [head, f"<p><small>previous model {escape(comparison.previous_model)}</small></p>"]
    if comparison.note:
        parts.append(f"<p><b>Note:</b> {escape(comparison.note)}.</p>")
    if comparison.empty:
        parts.append("<p>No intent changed by more than a point of F1 and no real question changed.</p>")
    for title, items, css in (("Intents that got better", comparison.intents_better, "better"),
                              ("Intents that got worse", comparison.intents_worse, "worse")):
        if items:
            rows = "".join(f"<tr><td>{escape(c.lang)}</td><td><a href='#{_anchor('score', c.lang, c.intent)}'>"
                           f"{escape(c.intent)}</a></td><td class='n'>{_pct(c.before)}</td>"
                           f"<td class='n'>{_pct(c.after)}</td><td class='n {css}'>{c.delta:+.1%}</td></tr>"
                           for c in items)
            parts.append(f"<h3 class='{css}'>{title}</h3><table><tr><th>language</th><th>intent</th>"
                         f"<th>F1 before</th><th>F1 now</th><th>change</th></tr>{rows}</table>")
    for title, items, css in (("Real questions now answered right", comparison.rows_fixed, "better"),
                              ("Real questions now answered wrong", comparison.rows_broken, "worse")):
        if items:
            rows = "".join(f"<tr><td>{escape(c.lang)}</td><td class='msg'>{escape(c.text)}</td>"
                           f"<td>{escape(' | '.join(c.accept))}</td><td>{escape(c.before)}</td>"
                           f"<td>{escape(c.after)}</td></tr>" for c in items)
            parts.append(f"<h3 class='{css}'>{title}</h3><table><tr><th>language</th><th>message</th>"
                         f"<th>right answers</th><th>was</th><th>now</th></tr>{rows}</table>")
    return "".join(parts)


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


def _signals(figures: Any) -> str:
    head = ("<h2 id='signals'>Distress and complexity signals</h2><p>From the signals' own "
            "evaluation on the real questions (see docs/signals.md for what each figure means).</p>")
    if not isinstance(figures, Mapping) or not figures:
        return head + f"<p>{escape(str(figures or 'not measured'))}</p>"
    if all(isinstance(v, Mapping) for v in figures.values()):
        rows = "".join(
            f"<tr><th>{escape(str(lang))}</th><td>{escape(name)}</td><td class='n'>{escape(value)}</td>"
            f"<td class='n'>{escape(count)}</td></tr>"
            for lang, table in figures.items() for name, value, count in signal_cells(table))
        return head + f"<table><tr><th>language</th><th>figure</th><th>value</th><th>rows</th></tr>{rows}</table>"
    rows = "".join(f"<tr><th>{escape(n)}</th><td>{escape(v)}</td><td>{escape(c)}</td></tr>"
                   for n, v, c in signal_cells(figures))
    return head + f"<table>{rows}</table>"


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_figure(v)}" for k, v in value.items())
    return str(value)


def _language(lang: str, data: Mapping[str, Any]) -> str:
    parts = [f"<h2 id='{_anchor(lang)}'>Language: {escape(lang)}</h2>"]
    intents: Mapping[str, Mapping[str, float]] = data.get("intents") or {}
    misses: Sequence[Mapping[str, Any]] = data.get("cv_misses") or []
    miss_count: Dict[str, int] = {}
    for miss in misses:
        miss_count[miss["expected"]] = miss_count.get(miss["expected"], 0) + 1
    rows = "".join(
        f"<tr id='{_anchor('score', lang, name)}' class='{_band(s['f1'])}'><td>{escape(name)}</td>"
        f"<td class='n'>{_pct(s['precision'])}</td><td class='n'>{_pct(s['recall'])}</td>"
        f"<td class='n'>{_pct(s['f1'])}</td><td class='n'>{int(s['support'])}</td><td class='n'>"
        + (f"<a href='#{_anchor(lang, name)}'>{miss_count[name]}</a>" if miss_count.get(name) else "0")
        + "</td></tr>" for name, s in sorted(intents.items(), key=lambda kv: kv[1]["f1"]) if s["support"])
    fell_back = sum(1 for m in misses if m["predicted"] == "nlu_fallback")
    parts.append("<p>Worst first. <b>Precision</b>: of the messages the bot put under this intent, the "
                 "share that belonged there. <b>Recall</b>: of the messages that belong there, the share "
                 "the bot found. <b>F1</b> combines the two.</p>")
    parts.append("<table><tr><th>intent</th><th>precision</th><th>recall</th><th>F1</th>"
                 f"<th>examples</th><th>missed</th></tr>{rows}</table>")
    parts.append(f"<p>{fell_back} held-out example(s) were not understood at all (<code>nlu_fallback</code>: "
                 "the bot would ask the claimant to rephrase).</p>")
    if data.get("confusion_png"):
        parts.append(f"<h3>Confusion matrix</h3><p><a href='{escape(data['confusion_png'])}'>"
                     f"<img src='{escape(data['confusion_png'])}' alt='confusion matrix for "
                     f"{escape(lang)}: expected intents down, predicted across'></a></p>")
    parts.append(_dev_rows(lang, data.get("dev") or []))
    parts.append(f"<h3>Training examples the held-out model got wrong ({len(misses)})</h3>")
    grouped: Dict[str, List[Mapping[str, Any]]] = {}
    for miss in misses:
        grouped.setdefault(miss["expected"], []).append(miss)
    for intent in sorted(grouped):
        rows = "".join(
            f"<tr><td class='msg'>{escape(m['text'])}</td><td>{escape(m['predicted'])}</td>"
            f"<td class='n'>{m['confidence']:.2f}</td><td><a href='{escape(_file_link(m['where']))}'>"
            f"{escape(m['where'])}</a></td></tr>" for m in grouped[intent])
        parts.append(f"<h4 id='{_anchor(lang, intent)}'>expected {escape(intent)}</h4><table><tr>"
                     f"<th>message</th><th>predicted</th><th>confidence</th><th>file</th></tr>{rows}</table>")
    return "".join(parts)


def _dev_rows(lang: str, rows: Sequence[Mapping[str, Any]]) -> str:
    missed = [r for r in rows if not r["hit"]]
    if not rows:
        return "<h3>Real questions (dev slice)</h3><p>Not measured.</p>"
    body = "".join(
        f"<tr><td class='msg'>{escape(r['text'])}</td><td>{escape(' | '.join(r['accept']))}</td>"
        f"<td>{escape(r['predicted'])}</td><td class='n'>{r['confidence']:.2f}</td></tr>" for r in missed)
    return (f"<h3 id='{_anchor(lang, 'dev')}'>Real questions the bot got wrong ({len(missed)} of {len(rows)})</h3>"
            "<table><tr><th>message</th><th>right answers</th><th>predicted</th><th>confidence</th></tr>"
            f"{body}</table>")


def _file_link(where: str) -> str:
    """reports/eval/report.html -> the data file (a browser opens it; line numbers are shown)."""
    return "../../" + where.rsplit(":", 1)[0]
