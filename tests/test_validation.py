"""`make validate`'s project checks: each catches its mistake in a broken copy of a small project
(written to tmp_path) with file and line, and the real data passes."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List

import pytest

from tooling import validation
from core.settings import ROOT
from tooling.trainers import checks, staleness
from tooling.trainers.checks import Problem

TODAY = dt.date(2026, 11, 22)

ZH_GREET = [f"你好{n}号窗口的同志" for n in "一二三四五六七八九十"] + ["您好", "早上好", "下午好", "晚上好", "在吗"]
EN_GREET = ["hello", "hi there", "good morning", "good afternoon", "good evening", "hey", "hiya",
            "morning", "hello bot", "hi assistant", "greetings", "hello again", "yo", "howdy", "hey you"]
ZH_PENSION = [f"我{n}岁了养老金什么时候能领" for n in range(50, 65)]
EN_PENSION = [f"I am {n} when can I get my pension" for n in range(50, 64)] + [
    "my pension in [Shenzhen](city), how do I claim it"]


def _examples(intent: str, lines: List[str]) -> str:
    body = "\n".join(f"    - {line}" for line in lines)
    return f'version: "3.1"\nnlu:\n- intent: {intent}\n  examples: |\n{body}\n'


DOMAIN = """\
version: "3.1"
intents:
  - greet
  - ask_pension
entities:
  - city
slots:
  language:
    type: categorical
    values: [zh, en]
    mappings:
      - type: custom
  city:
    type: text
    mappings:
      - type: from_entity
        entity: city
responses:
  utter_greet:
    - condition: [{type: slot, name: language, value: en}]
      text: "Hello! How can I help?"
    - text: "您好!有什么可以帮您?"
  utter_appeal:
    - condition: [{type: slot, name: language, value: en}]
      text: "You can ask for a reconsideration within 60 days."
    - text: "可以在60日内申请行政复议。"
"""

KB = """\
id: ask_pension
last_reviewed: 2026-10-01
varies_by_place: false
related: [greet]
sources:
  - ref: law-1
    zh: 某法第一条
    en: Some Law, Article 1
    url: https://example.gov/law
zh:
  title: 养老金
  short: 满足条件的可以申请。期限是60日。
  answer: 满足条件的,可以在60日内申请。
en:
  title: Pension
  short: If you qualify, you can apply. You have 60 days.
  answer: If you qualify, you can apply within 60 days.
"""

RULES = """\
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: answer ask_pension
  steps:
  - intent: ask_pension
  - action: action_answer_topic
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    files = {
        "bot/domain/shared.yml": DOMAIN,
        "data/kb/ask_pension.yml": KB,
        "data/rules/rules.yml": RULES,
        "data/nlu/zh/greet.yml": _examples("greet", ZH_GREET),
        "data/nlu/en/greet.yml": _examples("greet", EN_GREET),
        "data/nlu/zh/ask_pension.yml": _examples("ask_pension", ZH_PENSION),
        "data/nlu/en/ask_pension.yml": _examples("ask_pension", EN_PENSION),
        "data/nlu/en/lookup_city.yml": 'version: "3.1"\nnlu:\n- lookup: city\n  examples: |\n    - Shenzhen\n',
        "data/nlu/zh/lookup_city.yml": 'version: "3.1"\nnlu:\n- lookup: city\n  examples: |\n    - 深圳\n',
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def problems(root: Path) -> List[Problem]:
    return validation.project_problems(root, today=TODAY)


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def only(found: List[Problem]) -> Problem:
    assert len(found) == 1, "\n".join(p.render() for p in found)
    return found[0]


def test_the_fixture_project_is_clean(root):
    assert problems(root) == []


def test_an_intent_with_too_few_examples_names_its_file_and_line(root):
    (root / "data/nlu/en/greet.yml").write_text(_examples("greet", EN_GREET[:5]), encoding="utf-8")
    problem = only(problems(root))
    assert problem.path == root / "data/nlu/en/greet.yml" and problem.line == 3
    assert "5 English example(s)" in problem.what and "add 10 or more" in problem.fix


def test_an_intent_missing_in_one_language_says_which_file_to_create(root):
    (root / "data/nlu/zh/ask_pension.yml").unlink()
    problem = only(problems(root))
    assert problem.path.name == "ask_pension.yml" and problem.path.parent.name == "zh"
    assert "no Chinese examples" in problem.what and "create ask_pension.yml" in problem.fix


def test_the_same_example_under_two_intents_is_caught_across_width_case_and_punctuation(root):
    edit(root, "data/nlu/en/ask_pension.yml", "I am 51 when can I get my pension",
         "ＧＯＯＤ  Morning!!")  # full-width letters, other case, punctuation: still "good morning"
    problem = only(problems(root))
    # Reported at one of the two (files are read in name order), naming the other's file and line.
    assert (problem.path, problem.line) == (root / "data/nlu/en/greet.yml", 7)
    assert "the same example as en/ask_pension.yml:6 (intent 'ask_pension')" in problem.what


def test_a_nearly_identical_example_under_another_intent_is_caught(root):
    edit(root, "data/nlu/zh/greet.yml", "在吗", "我五十岁了养老金什么时候能领呢")
    edit(root, "data/nlu/zh/ask_pension.yml", "我50岁了", "我五十岁了")
    problem = only(problems(root))
    assert "nearly the same example" in problem.what and "ask_pension" in problem.what


def test_similar_pairs_finds_exactly_the_pairs_over_the_threshold():
    sets = [frozenset("abcde"), frozenset("abcdf"), frozenset("vwxyz"), frozenset("abcde")]
    assert sorted((a, b) for a, b, _ in checks.similar_pairs(sets, 0.6)) == [(0, 1), (0, 3), (1, 3)]
    assert sorted((a, b) for a, b, _ in checks.similar_pairs(sets, 0.9)) == [(0, 3)]


def test_a_response_without_english_text_is_caught(root):
    edit(root, "bot/domain/shared.yml", '    - condition: [{type: slot, name: language, value: en}]\n'
         '      text: "Hello! How can I help?"\n', "")
    problem = only(problems(root))
    assert problem.line == 19 and "'utter_greet' has no English text" in problem.what


def test_one_unconditioned_text_in_both_languages_counts_for_both(root):
    edit(root, "bot/domain/shared.yml", '    - condition: [{type: slot, name: language, value: en}]\n'
         '      text: "Hello! How can I help?"\n', "")
    edit(root, "bot/domain/shared.yml", '"您好!有什么可以帮您?"', '"您好!有什么可以帮您? Hello! How can I help you today?"')
    assert problems(root) == []


def test_a_chinese_variation_written_in_english_is_caught(root):
    edit(root, "bot/domain/shared.yml", '"您好!有什么可以帮您?"', '"Hello there"')
    problem = only(problems(root))
    assert "Chinese text of 'utter_greet' has no Chinese characters" in problem.what


def test_a_response_stating_a_figure_the_knowledge_base_does_not_state_needs_a_source(root):
    edit(root, "bot/domain/shared.yml", "within 60 days", "within 90 days")
    problem = only(problems(root))
    assert problem.line == 25 and "states 90 (day)" in problem.what and "metadata" in problem.fix
    edit(root, "bot/domain/shared.yml", 'text: "You can ask for a reconsideration within 90 days."',
         'text: "You can ask for a reconsideration within 90 days."\n      metadata: {source: ask_pension#law-1}')
    assert problems(root) == []
    edit(root, "bot/domain/shared.yml", "ask_pension#law-1", "ask_pension#law-9")
    assert "names the source 'ask_pension#law-9'" in only(problems(root)).what
    edit(root, "bot/domain/shared.yml", "{source: ask_pension#law-9}", "{source: https://example.gov/a}")
    assert "without a current review date" in only(problems(root)).what
    edit(root, "bot/domain/shared.yml", "example.gov/a}", "example.gov/a, last_reviewed: 2026-11-01}")
    assert problems(root) == []


def test_example_hints_in_a_response_are_not_facts():
    assert checks.facts("请告诉我年数,例如\"6年\"。", "zh") == set()
    assert checks.facts("for example: 1966-03, or March 1966", "en") == set()
    assert checks.facts("about three months before, call 12333", "en") == {("3", "month"), ("12333", "phone")}


@pytest.mark.parametrize("old, new, expected", [
    ("last_reviewed: 2026-10-01\n", "", "no review date"),
    ("last_reviewed: 2026-10-01", "last_reviewed: 2025-10-01", "due for review"),
    ("last_reviewed: 2026-10-01", "last_reviewed: 2027-01-01", "in the future"),
    ("    url: https://example.gov/law\n", "", "source 1 lacks url"),
    ("""  - ref: law-1
    zh: 某法第一条
    en: Some Law, Article 1
    url: https://example.gov/law
""", "  []\n", "no sources"),
    ("en:\n  title: Pension\n  short: If you qualify, you can apply. You have 60 days.\n"
     "  answer: If you qualify, you can apply within 60 days.\n", "", "no English answer"),
    ("  short: 满足条件的可以申请。期限是60日。\n", "", "the Chinese `short` is empty"),
    ("  short: If you qualify, you can apply. You have 60 days.", "  short: ''", "the English `short` is empty"),
    ("You have 60 days.", "You have 90 days.",
     "the English `short` answer states 90 (day), which the rest of the entry does not"),
    ("期限是60日。", "期限是60日。请带身份证。请尽早。", "the Chinese `short` answer has 4 sentences"),
    ("  answer: 满足条件的,可以在60日内申请。", "  answer: ''", "the Chinese `answer` is empty"),
    ("related: [greet]", "related: [greeting]", "related intent 'greeting' is not an intent"),
    ("id: ask_pension", "id: ask_pensions", "is not the file's name"),
])
def test_knowledge_base_mistakes_are_caught(root, old, new, expected):
    edit(root, "data/kb/ask_pension.yml", old, new)
    found = [p for p in problems(root) if p.path.name == "ask_pension.yml" and "kb" in p.path.parts]
    assert any(expected in p.what for p in found), [p.what for p in problems(root)]


def test_a_topic_without_a_knowledge_base_entry_is_caught(root):
    (root / "data/kb/ask_pension.yml").unlink()
    found = [p for p in problems(root) if "topic intent" in p.what]
    assert only(found).what == "topic intent 'ask_pension' has no knowledge-base entry"


def test_an_undeclared_entity_in_an_example_is_caught(root):
    edit(root, "data/nlu/en/ask_pension.yml", "[Shenzhen](city)", "[Shenzhen](town)")
    found = problems(root)
    assert any(p.what == "entity 'town' is not in the domain" and p.line == 19 for p in found)


def test_rules_and_slot_mappings_must_use_declared_names(root):
    edit(root, "data/rules/rules.yml", "  - action: utter_greet", "  - action: utter_welcome")
    edit(root, "bot/domain/shared.yml", "        entity: city", "        entity: cty")
    whats = [p.what for p in problems(root)]
    assert "response 'utter_welcome' does not exist" in whats
    assert any("filled from entity 'cty'" in w for w in whats)


def test_an_intent_the_domain_does_not_know_is_caught(root):
    (root / "data/nlu/en/greeting.yml").write_text(_examples("greeting", ["hello friend"]), encoding="utf-8")
    whats = [p.what for p in problems(root)]
    assert "intent 'greeting' is not in the domain" in whats


def test_broken_yaml_is_reported_with_its_line(root):
    (root / "data/kb/ask_pension.yml").write_text(KB.replace("zh:\n  title", "zh:\n title: x\n  title"),
                                                 encoding="utf-8")
    found = [p for p in problems(root) if "not valid YAML" in p.what]
    assert found and found[0].path.name == "ask_pension.yml" and found[0].line > 1


def test_canned_replies_must_parse_and_pair_up(root):
    canned = root / "handoff/console/canned.json"
    canned.parent.mkdir(parents=True)
    canned.write_text('{"zh": ["请稍等。"], "en": ["One moment please."]}', encoding="utf-8")
    assert problems(root) == []
    canned.write_text('{"zh": ["请稍等。", "还有别的吗?"],\n "en": ["One moment please."]}', encoding="utf-8")
    assert "2 Chinese replies but 1 English" in only(problems(root)).what
    canned.write_text('{"zh": ["请稍等。"]\n "en": ["One moment please."]}', encoding="utf-8")
    problem = only(problems(root))
    assert problem.line == 2 and "not valid JSON" in problem.what


def test_a_lexicon_file_that_does_not_load_is_reported_with_file_and_line(root):
    pytest.importorskip("bot.signals.lexicon")
    folder = root / "data/lexicons/signals/en"
    folder.mkdir(parents=True)
    (folder / "crisis.yml").write_text("category: crisis\nentries:\n  - id: en.crisis.a\n"
                                       "    phrases: [end it all]\n  - phrases: [no id here]\n",
                                       encoding="utf-8")
    found, note = validation.lexicon_problems(root)
    problem = only(found)
    assert note is None and problem.path.name == "crisis.yml" and problem.line >= 5


def test_a_rule_file_or_corpus_row_with_a_problem_is_reported_with_file_and_line(root):
    folder = root / "data/lexicons/signals/zh"
    folder.mkdir(parents=True)
    (folder / "crisis.yml").write_text("entries:\n  - id: zh.crisis.a\n    phrases: [想死]\n", encoding="utf-8")
    (folder / "classes.yml").write_text("classes:\n  intent: [想]\n", encoding="utf-8")
    (folder / "rules.yml").write_text("rules:\n  - id: zh.rule.a\n    level: crisis\n    match: [intent, dying]\n",
                                      encoding="utf-8")
    problem = only(validation.lexicon_problems(root)[0])
    assert problem.path.name == "rules.yml" and problem.line == 4 and "dying" in problem.what
    (folder / "rules.yml").write_text("rules:\n  - id: zh.rule.a\n    level: crisis\n    match: [intent]\n",
                                      encoding="utf-8")
    corpus = root / "data/lexicons/signals-corpus"
    corpus.mkdir(parents=True)
    (corpus / "zh-a.tsv").write_text("level\ttext\tstyle\ncrisis\t不想活了\tx\nscary\t啊\tx\n", encoding="utf-8")
    problem = only(validation.lexicon_problems(root)[0])
    assert problem.path.name == "zh-a.tsv" and problem.line == 3


def test_the_real_lexicons_load():
    found, note = validation.lexicon_problems(ROOT)
    assert found == [] and (note is None or "not checked" in note)


def test_the_real_data_passes_the_project_checks():
    found = validation.project_problems(ROOT)
    assert found == [], "\n".join(p.render(ROOT) for p in found)


# ------------------------------------------------------------- entries due for a re-check (warnings)

def test_an_entry_older_than_the_configured_age_is_listed_with_its_sources(root):
    later = dt.date(2027, 4, 20)  # 201 days after the fixture's review date
    assert validation.stale_warnings(root, stale_after=365, today=later) == []
    entry = only(validation.stale_warnings(root, stale_after=180, today=later))
    assert (entry.path, entry.line, entry.age_days) == (root / "data/kb/ask_pension.yml", 2, 201)
    shown = entry.render(root, stale_after=180)
    assert shown.startswith("data/kb/ask_pension.yml:2: warning: last reviewed 2026-10-01, 201 days ago")
    assert "law-1: Some Law, Article 1 <https://example.gov/law>" in shown and "last_reviewed" in shown
    assert validation.project_problems(root, today=later) == []  # a warning, not a problem


def test_the_figures_file_lists_the_sources_of_every_section(root):
    (root / "data/kb/eligibility.yml").write_text(
        "last_reviewed: 2026-01-02\nunemployment:\n  sources:\n    - {ref: u-1, zh: 条例, en: Regulations, "
        "url: 'https://example.gov/u'}\npension:\n  sources:\n    - {ref: p-1, zh: 办法, en: Measures, "
        "url: 'https://example.gov/p'}\n", encoding="utf-8")
    entry = only([e for e in validation.stale_warnings(root, stale_after=180, today=TODAY)
                  if e.path.name == "eligibility.yml"])
    assert [(s.section, s.ref) for s in entry.recheck] == [("unemployment", "u-1"), ("pension", "p-1")]
    assert "[pension] p-1: Measures <https://example.gov/p>" in entry.render(root)


@pytest.mark.parametrize("value, days", [(None, 180), ("", 180), ("90", 90), (" 30 ", 30)])
def test_the_review_age_is_configurable_with_a_default_of_180_days(value, days):
    assert staleness.stale_days(value) == days


@pytest.mark.parametrize("value", ["0", "-5", "half a year", "1.5"])
def test_a_review_age_that_is_not_a_whole_number_of_days_is_refused(value):
    with pytest.raises(ValueError):
        staleness.stale_days(value)


def test_make_validate_prints_the_warnings_and_still_passes(root, capsys, monkeypatch):
    monkeypatch.delenv(staleness.STALE_DAYS_ENV, raising=False)
    assert validation.main(["--quick"], root=root, today=TODAY) == 0
    assert "warning" not in capsys.readouterr().out  # 52 days old: within the default 180
    assert validation.main(["--quick", "--stale-after", "30"], root=root, today=TODAY) == 0
    out = capsys.readouterr().out
    assert "data/kb/ask_pension.yml:2: warning: last reviewed 2026-10-01, 52 days ago (more than 30)" in out
    assert "1 knowledge-base file(s) not reviewed for more than 30 days" in out and out.rstrip().endswith("valid.")
    monkeypatch.setenv(staleness.STALE_DAYS_ENV, "45")
    assert validation.main(["--quick"], root=root, today=TODAY) == 0
    assert "(more than 45)" in capsys.readouterr().out


def test_rasa_may_say_only_a_button_intent_has_no_examples():
    def warning(intent: str) -> str:
        return f"The intent '{intent}' is listed in the domain file, but is not found in the NLU training data."

    assert validation.real_problems([warning("show_answer_part")], set()) == []
    assert validation.real_problems([warning("ask_pension")], set()) == [warning("ask_pension")]
