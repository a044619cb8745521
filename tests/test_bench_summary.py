"""The one-page summary of `make bench` (bench/figures.py, bench/summary.py): every bench keeps its
figures, the summary shows each with its baseline, ratio and target, and names a bench that kept
none. No benchmark is run here."""
from __future__ import annotations

import re

import pytest

from bench import figures, summary
from bot.settings import ROOT


def test_a_figure_is_kept_only_when_make_bench_asks(tmp_path, monkeypatch):
    path = tmp_path / "figures.jsonl"
    monkeypatch.delenv(figures.VARIABLE, raising=False)
    figures.record("nlu_latency", "/model/parse p50", 12.0, "ms", baseline=8.0, target="ratio <= 1.5")
    assert not path.exists()
    monkeypatch.setenv(figures.VARIABLE, str(path))
    figures.record("nlu_latency", "/model/parse p50", 12.0, "ms", baseline=8.0, target="ratio <= 1.5")
    figures.record("ws_load", "widget messages lost", 0, "count", target="value == 0")
    figures.record("wechat_channel", "answer in hand p50", float("nan"), "s", baseline=1.0)
    kept = figures.read(path)
    assert [(f["bench"], f["value"], f["baseline"]) for f in kept] == \
        [("nlu_latency", 12.0, 8.0), ("ws_load", 0.0, None), ("wechat_channel", None, 1.0)]
    with pytest.raises(ValueError):
        figures.record("x", "y", 1.0, "ms", target="fast please")


@pytest.mark.parametrize("value, baseline, target, met", [
    (12.0, 8.0, "ratio <= 1.5", True), (13.0, 8.0, "ratio <= 1.5", False), (2.9, None, "value < 3", True),
    (3.0, None, "value < 3", False), (0.0, None, "value == 0", True), (1.0, None, "value == 0", False),
    (5.0, None, None, None), (5.0, None, "ratio <= 2", None),
])
def test_a_target_is_met_or_missed(value, baseline, target, met):
    assert figures.met({"value": value, "baseline": baseline, "target": target}) is met


def test_the_summary_shows_every_figure_with_its_baseline_and_ratio_on_one_page():
    kept = [{"bench": "nlu_latency", "figure": "/model/parse p50", "value": 12.0, "unit": "ms", "baseline": 8.0,
             "baseline_name": "Rasa's default pipeline", "target": "ratio <= 1.5"},
            {"bench": "ws_load", "figure": "widget messages lost", "value": 2.0, "unit": "count", "baseline": None,
             "baseline_name": None, "target": "value == 0"}]
    lines = summary.table(kept, expected=["nlu_latency", "signal_latency", "ws_load"])
    text = "\n".join(lines)
    assert re.search(r"nlu_latency\s+/model/parse p50\s+12\.0 ms\s+8\.00 ms\s+1\.50\s+ratio <= 1\.5\s+ok", text)
    assert re.search(r"ws_load\s+widget messages lost\s+2\s+—\s+—\s+value == 0\s+MISSED", text)
    assert re.search(r"signal_latency\s+\(no figures", text)
    assert "nlu_latency: Rasa's default pipeline" in text and "2 figures, 2 with a target, 1 missed" in text
    assert len(lines) <= 60 and max(len(line) for line in lines) <= 110


def test_make_bench_runs_every_bench_and_each_keeps_its_figures():
    makefile = (ROOT / "Makefile").read_text()
    benches = re.search(r"^BENCHES := (.+)$", makefile, re.M)[1].split()
    helpers = {"figures", "summary", "turn_probe", "scale_shape", "scale_load", "scale_check", "lock_probe"}
    scripts = sorted(path.stem for path in (ROOT / "bench").glob("*.py") if path.stem not in helpers)
    assert sorted(benches) == scripts
    for bench in benches:
        source = (ROOT / "bench" / f"{bench}.py").read_text()
        assert re.search(rf'record\(\s*"{bench}"', source), f"bench/{bench}.py keeps no figure"
    assert "bench/summary.py $(BENCH_FIGURES)" in makefile and "RENBEN_BENCH_FIGURES=$(BENCH_FIGURES)" in makefile
