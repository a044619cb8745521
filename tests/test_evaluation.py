"""`make eval`'s figures, comparison and report, on small fixtures (no training here)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tooling import evaluation
from tooling.trainers import compare, crossval, metrics, report_html
from tooling.trainers.metrics import Prediction
from tooling.trainers.project import Example

P = Prediction


def test_precision_recall_and_f1_per_intent():
    predictions = [P("en", "a", "greet", "greet", .9), P("en", "b", "greet", "greet", .9),
                   P("en", "c", "greet", "thank", .6), P("en", "d", "thank", "thank", .8),
                   P("en", "e", "thank", "greet", .5)]
    scores = {s.intent: s for s in metrics.intent_scores(predictions)}
    assert scores["greet"].precision == pytest.approx(2 / 3) and scores["greet"].recall == pytest.approx(2 / 3)
    assert scores["thank"].precision == pytest.approx(1 / 2) and scores["thank"].recall == pytest.approx(1 / 2)
    assert scores["thank"].f1 == pytest.approx(0.5) and scores["greet"].support == 3
    assert metrics.accuracy(predictions) == pytest.approx(3 / 5)
    averages = metrics.averages(predictions)
    assert averages["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert averages["weighted_f1"] == pytest.approx((2 / 3 * 3 + 1 / 2 * 2) / 5)


def test_an_intent_only_predicted_scores_zero_precision_and_does_not_count_in_the_average():
    predictions = [P("zh", "x", "greet", "nlu_fallback", .2), P("zh", "y", "greet", "greet", .9)]
    scores = {s.intent: s for s in metrics.intent_scores(predictions)}
    assert scores["nlu_fallback"].support == 0 and scores["nlu_fallback"].precision == 0
    assert metrics.averages(predictions)["macro_recall"] == pytest.approx(0.5)
    assert metrics.averages([]) == dict.fromkeys(metrics.averages(predictions), 0.0)


def test_confusion_counts_expected_rows_against_predicted_columns():
    labels, counts = metrics.confusion([P("en", "a", "greet", "thank", .5), P("en", "b", "greet", "greet", .9),
                                        P("en", "c", "greet", "thank", .4)])
    assert labels == ["greet", "thank"] and counts == [[1, 2], [0, 0]]


def test_folds_are_stratified_by_language_and_intent_and_repeatable():
    examples = [Example(intent, lang, f"{lang}{intent}{n}", (), Path("x.yml"), n)
                for lang in ("zh", "en") for intent in ("a", "b") for n in range(9)]
    folds = crossval.stratified_folds(examples, 3)
    assert folds == crossval.stratified_folds(examples, 3)
    assert sorted(i for f in folds for i in f) == list(range(len(examples)))
    for fold in folds:
        groups = {(examples[i].lang, examples[i].intent) for i in fold}
        assert len(groups) == 4 and len(fold) == 12


def test_training_yaml_keeps_entity_markup_and_is_read_back_by_rasa(tmp_path):
    from rasa.shared.nlu.training_data.loading import load_data

    examples = [Example("ask_pension", "en", "pension in Shenzhen", ("city",), Path("x.yml"), 1,
                        "pension in [Shenzhen](city)"),
                Example("greet", "zh", "你好", (), Path("y.yml"), 1, "你好")]
    (tmp_path / "t.yml").write_text(crossval.training_yaml(examples), encoding="utf-8")
    data = load_data(str(tmp_path / "t.yml"))
    pension = next(m for m in data.intent_examples if m.get("intent") == "ask_pension")
    assert pension.get("text") == "pension in Shenzhen" and pension.get("entities")[0]["value"] == "Shenzhen"


def report(f1: float, dev_hit: bool, predicted: str = "ask_pension") -> dict:
    return {"model": "m", "languages": {"en": {
        "cv_macro_f1": f1, "cv_accuracy": f1, "dev_accuracy": 1.0 if dev_hit else 0.0,
        "intents": {"ask_pension": {"precision": f1, "recall": f1, "f1": f1, "support": 10},
                    "greet": {"precision": 1, "recall": 1, "f1": 1.0, "support": 10}},
        "dev": [{"id": "r1", "text": "when is my pension paid", "accept": ["ask_pension"],
                 "predicted": predicted, "confidence": .7, "hit": dev_hit}]}}}


def test_comparison_names_the_intents_and_dev_rows_that_got_better_or_worse():
    assert compare.compare(None, report(.8, True)) is None
    worse = compare.compare(report(.9, True), report(.8, False, "ask_medical"))
    assert [(c.intent, round(c.delta, 2)) for c in worse.intents_worse] == [("ask_pension", -0.1)]
    assert not worse.intents_better and not worse.rows_fixed
    assert [(r.text, r.before, r.after) for r in worse.rows_broken] == [
        ("when is my pension paid", "ask_pension", "ask_medical")]
    better = compare.compare(report(.8, False, "ask_medical"), report(.9, True))
    assert [c.intent for c in better.intents_better] == ["ask_pension"] and len(better.rows_fixed) == 1
    assert better.figures["en"]["cv_macro_f1"] == pytest.approx(0.1)
    same = compare.compare(report(.8, True), report(.805, True))
    assert same.empty  # half a point of F1 is noise


def test_the_html_report_escapes_every_message_and_links_each_miss():
    hostile = "<script>alert('x')</script> & 养老金 \"quoted\""
    data = {"created": "2026-11-22T10:00:00", "model": "m<1>", "fingerprint": "f", "folds": 3,
            "signals": {"crisis recall": 0.9, "note": "<b>bold</b>"},
            "languages": {"en": {
                "cv_accuracy": .5, "cv_macro_f1": .5, "cv_examples": 2, "averages": {},
                "intents": {"ask_pension": {"precision": .5, "recall": .5, "f1": .5, "support": 2}},
                "cv_misses": [{"text": hostile, "expected": "ask_pension", "predicted": "greet",
                               "confidence": .42, "where": "data/nlu/en/ask_pension.yml:7"}],
                "dev": [{"id": "1", "text": hostile, "accept": ["ask_pension"], "predicted": "greet",
                         "confidence": .3, "hit": False}], "dev_accuracy": 0.0,
                "confusion_png": "confusion-en.png"}}}
    comparison = compare.compare(report(.9, True), report(.8, False, "<img src=x onerror=alert(1)>"))
    html = report_html.render(data, comparison)
    assert "<script>" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; 养老金 &quot;quoted&quot;" in html
    assert "href='#en-ask_pension'" in html and "id='en-ask_pension'" in html  # intent -> its misses
    assert "href='../../data/nlu/en/ask_pension.yml'" in html and "0.42" in html
    assert "<img src='confusion-en.png'" in html
    assert "Intents that got worse" in html and "Real questions now answered wrong" in html
    assert "href='#score-en-ask_pension'" in html and "id='score-en-ask_pension'" in html  # change -> its row


def test_report_files_and_the_previous_report(tmp_path):
    cv = [P("en", "a", "greet", "greet", .9), P("en", "b", "thank", "greet", .4),
          P("zh", "c", "greet", "greet", .9)]
    first = evaluation.build_report(model="m1", fingerprint="f1", folds=2, cv=cv, dev=[], signals="n/a",
                                    created="2026-11-22T10:00:00")
    assert evaluation.write_report(first, tmp_path, cv) is None
    assert (tmp_path / "confusion-en.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cv2 = [P("en", "a", "greet", "greet", .9), P("en", "b", "thank", "thank", .8),
           P("zh", "c", "greet", "greet", .9)]
    second = evaluation.build_report(model="m2", fingerprint="f2", folds=2, cv=cv2, dev=[], signals="n/a",
                                     created="2026-11-22T11:00:00")
    comparison = evaluation.write_report(second, tmp_path, cv2)
    assert {c.intent for c in comparison.intents_better} == {"greet", "thank"}
    assert (tmp_path / "previous.json").exists() and "m2" in (tmp_path / "latest.json").read_text()
    lines = evaluation.summary_lines(second, comparison)
    assert any(line.startswith("en: cross-validation (2 folds, 2 examples): accuracy 100.0%") for line in lines)
    assert any(line.startswith("better: en thank F1 0% -> 100%") for line in lines)


def test_a_comparison_across_different_fold_counts_says_so():
    before, after = report(.9, True), report(.8, True)
    before["folds"], after["folds"] = 5, 3
    comparison = compare.compare(before, after)
    assert "previous report used 5 folds and this one 3" in comparison.note
    assert "previous report used 5 folds" in report_html.render({"languages": {}}, comparison)


def test_every_link_inside_the_report_has_its_target():
    import re

    cv = [P("en", "a <b>", "greet", "thank", .4, "data/nlu/en/greet.yml:3"), P("en", "b", "thank", "thank", .9),
          P("zh", "c", "greet", "greet", .9)]
    first = evaluation.build_report(model="m", fingerprint="f", folds=2, cv=cv, dev=[], signals={}, created="t")
    second = evaluation.build_report(model="m", fingerprint="f", folds=2, cv=cv[1:], dev=[], signals={}, created="t")
    html = report_html.render(second, compare.compare(first, second)) + report_html.render(first, None)
    targets = set(re.findall(r"id='([^']+)'", html))
    links = set(re.findall(r"href='#([^']+)'", html))
    assert links and links <= targets, links - targets


def test_a_run_without_cross_validation_says_so_instead_of_showing_zeros():
    from tooling.trainers.report_html import render
    report = {"model": "m", "fingerprint": "f", "created": "now", "folds": 0, "signals": None,
              "languages": {"en": {"dev_accuracy": 0.9, "dev": [], "intents": {}, "cv_misses": []}}}
    page = render(report, None)
    assert "not run (--no-cv)" in page and "<td class='n'>0.0%</td>" not in page


def test_the_summary_counts_long_dev_messages_apart_per_language():
    long_en, long_zh = "word " * 60, "字" * 120
    dev = [evaluation.Outcome(evaluation.Row("en", "topic", ("ask_pension",), long_en), "ask_pension", 0.9),
           evaluation.Outcome(evaluation.Row("en", "topic", ("ask_pension",), long_en + "x"), "ask_medical", 0.6),
           evaluation.Outcome(evaluation.Row("en", "topic", ("ask_pension",), "short one"), "ask_pension", 0.9),
           evaluation.Outcome(evaluation.Row("zh", "topic", ("ask_medical",), long_zh), "ask_medical", 0.8),
           evaluation.Outcome(evaluation.Row("zh", "topic", ("ask_medical",), "短的"), "greet", 0.8)]
    report = evaluation.build_report(model="m", fingerprint="f", folds=0, cv=[], dev=dev, signals={}, created="t")
    lines = evaluation.summary_lines(report, None)
    assert "en: dev slice, long messages alone: 50.0% (1/2)" in lines
    assert "zh: dev slice, long messages alone: 100.0% (1/1)" in lines
    assert "en: dev slice intent accuracy 66.7% (2/3 topic rows)" in lines
