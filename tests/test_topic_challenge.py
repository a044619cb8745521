"""The topic challenge figures (tooling/topic_challenge.py): hits by language, long messages apart."""
from tooling.evaluation import Outcome, Row
from tooling.topic_challenge import figures, is_long, rounds


def outcome(lang: str, text: str, accept: str, predicted: str) -> Outcome:
    return Outcome(Row(lang, "topic", tuple(accept.split()), text), predicted, 0.9)


def test_a_row_counts_when_the_prediction_is_one_it_accepts_and_long_rows_are_also_counted_apart():
    story = "我在工厂干了二十年," * 12  # 120 characters: long for Chinese
    table = figures([
        outcome("zh", "失业金怎么领", "ask_unemployment", "ask_unemployment"),
        outcome("zh", story + "失业金怎么领", "ask_unemployment ask_documents", "ask_documents"),
        outcome("zh", story + "退休金什么时候发", "ask_payment_status", "ask_pension"),
        outcome("en", "how do I claim", "ask_unemployment", "ask_pension"),
    ])
    assert table["zh"]["all"] == {"rows": 3, "hits": 2, "accuracy": 0.667}
    assert table["zh"]["long"] == {"rows": 2, "hits": 1, "accuracy": 0.5}
    assert table["zh"]["short"] == {"rows": 1, "hits": 1, "accuracy": 1.0}
    assert table["en"]["long"] == {"rows": 0, "hits": 0, "accuracy": None}


def test_long_is_measured_per_language():
    assert is_long(Row("zh", "topic", (), "字" * 100)) and not is_long(Row("en", "topic", (), "w" * 100))


def test_the_committed_rounds_are_found_oldest_first():
    names = [folder.name for folder in rounds()]
    assert names and names == sorted(names, key=lambda name: int(name[6:]))
