"""`make eval`'s figures and report pinned on one small fixed example.

The numbers below and the pages in tests/golden/ were produced by the hand-written metrics, folds
and string-built report that scikit-learn and the Jinja2 template replaced: the same example must
give the same figures, the same fold sizes per (language, intent) and the same page, byte for
byte. A deliberate change to the report regenerates the pages:
`PYTHONPATH=. python -m tests.test_evaluation_pinned` (then read the diff).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tooling import evaluation
from tooling.trainers import compare, crossval, metrics, report_html
from tooling.trainers.metrics import Prediction as P
from tooling.trainers.project import Example

GOLDEN = Path(__file__).parent / "golden"

#: Two languages; `thank` is never predicted right in English, `nlu_fallback` is only predicted.
PREDICTIONS = [
    P("en", "hi", "greet", "greet", .91, "data/nlu/en/greet.yml:3"),
    P("en", "hello", "greet", "greet", .88, "data/nlu/en/greet.yml:4"),
    P("en", "hey <you>", "greet", "thank", .41, "data/nlu/en/greet.yml:5"),
    P("en", "thanks", "thank", "greet", .52, "data/nlu/en/thank.yml:3"),
    P("en", "cheers", "thank", "nlu_fallback", .21, "data/nlu/en/thank.yml:4"),
    P("en", "pension?", "ask_pension", "ask_pension", .77, "data/nlu/en/ask_pension.yml:3"),
    P("en", "my pension", "ask_pension", "ask_pension", .83, "data/nlu/en/ask_pension.yml:4"),
    P("en", "old age money", "ask_pension", "thank", .35, "data/nlu/en/ask_pension.yml:5"),
    P("zh", "你好", "greet", "greet", .95, "data/nlu/zh/greet.yml:3"),
    P("zh", "谢谢", "thank", "thank", .9, "data/nlu/zh/thank.yml:3"),
    P("zh", "养老金 & \"引号\"", "ask_pension", "greet", .44, "data/nlu/zh/ask_pension.yml:3"),
]


def test_per_intent_figures_are_pinned():
    en = metrics.by_language(PREDICTIONS)["en"]
    scores = {s.intent: (s.precision, s.recall, s.f1, s.support) for s in metrics.intent_scores(en)}
    assert list(scores) == ["ask_pension", "greet", "nlu_fallback", "thank"]
    assert scores["ask_pension"] == pytest.approx((1.0, 2 / 3, 0.8, 3), abs=1e-12)
    assert scores["greet"] == pytest.approx((2 / 3, 2 / 3, 2 / 3, 3), abs=1e-12)
    assert scores["nlu_fallback"] == (0.0, 0.0, 0.0, 0)
    assert scores["thank"] == (0.0, 0.0, 0.0, 2)
    assert metrics.accuracy(en) == pytest.approx(4 / 8, abs=1e-12)
    assert metrics.averages(en) == pytest.approx({
        "macro_precision": (1 + 2 / 3 + 0) / 3, "macro_recall": (2 / 3 + 2 / 3 + 0) / 3,
        "macro_f1": (0.8 + 2 / 3 + 0) / 3,
        "weighted_precision": (1 * 3 + 2 / 3 * 3 + 0 * 2) / 8, "weighted_recall": (2 + 2 + 0) / 8,
        "weighted_f1": (0.8 * 3 + 2 / 3 * 3 + 0 * 2) / 8}, abs=1e-12)
    zh = metrics.by_language(PREDICTIONS)["zh"]
    assert [(s.intent, s.precision, s.recall, s.support) for s in metrics.intent_scores(zh)] == [
        ("ask_pension", 0.0, 0.0, 1), ("greet", 0.5, 1.0, 1), ("thank", 1.0, 1.0, 1)]
    assert metrics.accuracy(zh) == pytest.approx(2 / 3, abs=1e-12)


def test_figures_are_plain_python_numbers_for_the_json_report():
    for score in metrics.intent_scores(PREDICTIONS):
        assert all(type(v) is float for v in (score.precision, score.recall, score.f1))
        assert type(score.support) is int
    assert type(metrics.accuracy(PREDICTIONS)) is float
    labels, counts = metrics.confusion(PREDICTIONS)
    assert all(type(n) is int for row in counts for n in row)


def test_the_confusion_matrix_is_pinned():
    labels, counts = metrics.confusion(metrics.by_language(PREDICTIONS)["en"])
    assert labels == ["ask_pension", "greet", "nlu_fallback", "thank"]
    assert counts == [[2, 0, 0, 1],
                      [0, 2, 0, 1],
                      [0, 0, 0, 0],
                      [0, 1, 1, 0]]
    assert metrics.confusion([]) == ([], [])


def uneven_examples():
    """Groups of 7, 5, 3, 2, 1 and 1 examples, interleaved as files would give them."""
    sizes = {("en", "a"): 7, ("en", "b"): 5, ("zh", "a"): 3, ("zh", "b"): 2, ("zh", "c"): 1, ("en", "c"): 1}
    examples = []
    for n in range(max(sizes.values())):
        for (lang, intent), size in sorted(sizes.items(), reverse=True):
            if n < size:
                examples.append(Example(intent, lang, f"{lang}{intent}{n}", (), Path("x.yml"), n))
    return examples


@pytest.mark.filterwarnings("ignore:The least populated class")  # the groups of 1 and 2, on purpose
def test_fold_sizes_per_language_and_intent_are_pinned():
    examples = uneven_examples()
    folds = crossval.stratified_folds(examples, 3)
    assert folds == crossval.stratified_folds(examples, 3)  # seeded
    assert sorted(i for fold in folds for i in fold) == list(range(len(examples)))
    assert all(fold == sorted(fold) for fold in folds)
    per_fold = [Counter((examples[i].lang, examples[i].intent) for i in fold) for fold in folds]
    table = {key: [c[key] for c in per_fold] for key in sorted(set().union(*per_fold))}
    # Each group split as evenly as it can be; small groups do not all start in the first fold.
    assert table == {("en", "a"): [3, 2, 2], ("en", "b"): [1, 2, 2], ("en", "c"): [1, 0, 0],
                     ("zh", "a"): [1, 1, 1], ("zh", "b"): [0, 1, 1], ("zh", "c"): [1, 0, 0]}
    assert [len(fold) for fold in folds] == [7, 6, 6]
    with pytest.raises(ValueError):
        crossval.stratified_folds(examples, 1)


# ----------------------------------------------------------------------------- the report page

def _reports():
    cv = PREDICTIONS
    first = evaluation.build_report(model="m<1>", fingerprint="f1", folds=3, cv=cv, dev=[],
                                    signals={"en": {"crisis recall": {"value": 0.955, "hits": 21, "rows": 22},
                                                    "false escalations": {"value": None, "hits": 0, "rows": 0},
                                                    "misses": ["a <b>", "c"], "note": "<i>x</i>"},
                                             "zh": {"crisis recall": {"value": 1.0, "hits": 9, "rows": 9},
                                                    "rate": 0.12345, "by level": {"urgent": 0.5, "n": 3},
                                                    "misses": []}},
                                    created="2026-11-22T10:00:00")
    dev_rows = [{"id": "r1", "text": "when is my pension <paid>", "accept": ["ask_pension"],
                 "predicted": "ask_pension", "confidence": .7, "hit": True},
                {"id": "r2", "text": "I'm owed money & \"more\"", "accept": ["ask_pension", "ask_unemployment"],
                 "predicted": "greet", "confidence": .31, "hit": False}]
    first["languages"]["en"].update(dev=dev_rows, dev_accuracy=0.5, confusion_png="confusion-en.png")
    first["languages"]["zh"]["confusion_png"] = "confusion-zh.png"
    second = evaluation.build_report(model="m2", fingerprint="f2", folds=2, cv=cv[:3] + cv[5:], dev=[],
                                     signals={"recall": 0.9, "bands": [1, 2], "empty": [],
                                              "tricky": {"value": 0.5, "hits": 1, "rows": 2}},
                                     created="2026-11-22T11:00:00")
    second["languages"]["en"].update(dev=[dict(dev_rows[0], hit=False, predicted="thank"),
                                          dict(dev_rows[1], hit=True, predicted="ask_pension")],
                                     dev_accuracy=0.5)
    second["languages"]["fr"] = {"dev_accuracy": 1.0, "dev": [], "intents": {}, "cv_misses": []}
    no_cv = {"model": "m", "fingerprint": "f", "created": "now", "folds": 0, "signals": None,
             "languages": {"en": {"dev_accuracy": 0.9, "dev": [], "intents": {}, "cv_misses": []},
                           "zh": {"intents": {}}}}
    return {
        "first_alone": (first, None),
        "second_against_first": (second, compare.compare(first, second)),
        "first_against_second": (first, compare.compare(second, first)),
        "first_against_itself": (first, compare.compare(first, first)),
        "no_cv_with_signals_text": (dict(no_cv, signals="not measured: <why>"), None),
        "no_cv": (no_cv, compare.compare(second, no_cv)),
    }


@pytest.mark.parametrize("name", sorted(_reports()))
def test_the_report_page_is_pinned(name):
    report, comparison = _reports()[name]
    expected = (GOLDEN / f"eval_report_{name}.html").read_text(encoding="utf-8")
    assert report_html.render(report, comparison) == expected


if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    for name, (report, comparison) in _reports().items():
        (GOLDEN / f"eval_report_{name}.html").write_text(report_html.render(report, comparison), encoding="utf-8")
