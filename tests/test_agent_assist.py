"""Agent assist without sockets: the brief's summary (handoff/assist.py), what the claimant said
about their situation (handoff/situation.py) and the suggested answer (handoff/suggestion.py),
over trackers shaped like Rasa's GET /conversations/<id>/tracker. The entities are the ones the
NLU puts in every parse result (contribution_years, age, birth_year, gender, job_end, city,
province, benefit), written into the events here so these tests need no model."""
from __future__ import annotations

import re

import pytest

from handoff import kb
from handoff.assist import LINE_CHARS, answered, asked, summarise
from handoff.brief import build_brief
from handoff.phrases import TOPICS_FILE, load as load_phrases
from handoff.situation import situation
from handoff.suggestion import latest_topic, suggest, topic_of

KB = kb.load()
TITLES = KB.titles()
WORDS = load_phrases(TOPICS_FILE)
UNEMPLOYMENT = TITLES["ask_unemployment"]  # the knowledge base's names, whatever the trainers call it


def user(text, intent, at, *, entities=(), signals=None, language="zh"):
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "language": {"code": language},
             "entities": [dict(entity=name, value=value, start=0, end=1, extractor="RenbenEntities")
                          for name, value in entities]}
    if signals:
        parse["signals"] = signals
    return {"event": "user", "timestamp": at, "text": text, "parse_data": parse, "input_channel": "web"}


def bot(text, at, **metadata):
    return {"event": "bot", "timestamp": at, "text": text, "metadata": metadata}


def action(name, at):
    return {"event": "action", "name": name, "timestamp": at}


def slot(name, value, at):
    return {"event": "slot", "name": name, "value": value, "timestamp": at}


def tracker(events, *, slots=None, channel="web", sender="c-7"):
    return {"sender_id": sender, "latest_input_channel": channel, "slots": {"language": "zh", **(slots or {})},
            "latest_message": {"intent": {"name": "request_human"}}, "active_loop": {}, "events": events}


DISTRESS = {"distress": {"level": "urgent", "evidence": [{"text": "撑不下去", "rule": "zh.despair.2"}]},
            "complexity": {"level": "some", "needs": ["debt"], "evidence": [{"text": "欠了钱", "rule": "zh.debt.1"}]}}

CONVERSATION = tracker([
    action("action_session_start", 100),
    user("失业金怎么领?我交了8年社保,在杭州", "ask_unemployment", 101,
         entities=[("contribution_years", 8), ("city", "杭州"), ("benefit", "失业金")]),
    action("action_answer_topic", 101.1), bot("失业保险金……", 101.2),
    user('/show_answer_part{"answer_topic":"ask_unemployment","answer_part":"steps"}', "show_answer_part", 102,
         entities=[("answer_topic", "ask_unemployment"), ("answer_part", "steps")]),
    action("action_answer_part", 102.1), bot("办理步骤……", 102.2),
    user("是", "affirm", 103), action("unemployment_form", 103.1), bot("第1个问题……", 103.2),
    user("十二年", "inform", 104), slot("uf_contribution_years", "十二年", 104.05),
    action("validate_unemployment_form", 104.1), slot("uf_contribution_years", 12.0, 104.15), bot("第2个问题……", 104.2),
    user("被辞退了,我今年52岁,欠了钱,真的撑不下去", "inform", 105, entities=[("job_end", "dismissed"), ("age", 52)],
         signals=DISTRESS),
    slot("uf_involuntary", "dismissed", 105.1), bot("第3个问题……", 105.2),
    user("我要找人工", "request_human", 106), action("action_handoff", 106.1), bot("正在为您转接……", 106.2),
])


def summary_of(conversation, language, **brief):
    built = build_brief(conversation, waiting_since=200.0, **brief)
    return summarise(built, conversation, language=language, titles=TITLES)


def test_the_summary_in_english_says_what_the_bot_knows_in_a_few_lines():
    summary = summary_of(CONVERSATION, "en", reason="urgent: 撑不下去 (zh.despair.2)", priority="urgent")
    lines = {line.kind: line.text for line in summary.lines}
    assert list(lines) == ["claimant", "why", "topics", "signals", "situation", "answered"]
    assert lines["claimant"] == "Writes in Chinese, on the web widget."
    assert lines["why"] == "Handed over: urgent. Reason: urgent: 撑不下去 (zh.despair.2)."
    assert lines["topics"] == f"Asked about, in order: {UNEMPLOYMENT['en']}."
    assert lines["signals"] == "Signals: distress urgent (“撑不下去”); complexity some, needs debt (“欠了钱”)."
    assert lines["situation"] == ("Said about their situation: 12 years of unemployment insurance contributions, "
                                  "age 52, dismissed or not renewed, city 杭州, mentioned 失业金.")
    assert lines["answered"] == f"The bot already answered: {UNEMPLOYMENT['en']} (answer, steps)."
    signals = next(line for line in summary.lines if line.kind == "signals")
    assert signals.marks == ["撑不下去", "欠了钱"]


def test_the_same_summary_in_chinese():
    summary = summary_of(CONVERSATION, "zh")
    lines = {line.kind: line.text for line in summary.lines}
    assert lines["claimant"] == "用户使用中文，渠道：网页。"
    assert lines["why"] == "转人工：用户要求转人工。"
    assert lines["topics"] == f"依次咨询：{UNEMPLOYMENT['zh']}。"
    assert lines["signals"] == "信号：困境：紧急（“撑不下去”）；复杂度：一般，涉及debt（“欠了钱”）。"
    assert lines["situation"] == "用户自述：失业保险缴费12年、52岁、被辞退或不续签、城市杭州、提到失业金。"
    assert lines["answered"] == f"机器人已答复：{UNEMPLOYMENT['zh']}（答复、办理步骤）。"
    assert summary.language == "zh" and summary.topics == ["ask_unemployment"]


def test_each_fact_keeps_the_message_it_came_from_and_the_latest_value_wins():
    facts = summary_of(CONVERSATION, "en").facts
    years = facts["contribution_years"]
    # said first as an entity (8), then answered in the pre-check (十二年 -> 12): the later wins
    assert (years.value, years.source, years.detail, years.quote, years.turn) == (
        12, "pre_check", "unemployment", "十二年", 6)
    age = facts["age"]
    assert (age.value, age.source, age.turn) == (52, "message", 8)
    assert age.quote.startswith("被辞退了,我今年52岁")
    assert facts["city"].quote == "失业金怎么领?我交了8年社保,在杭州"


def test_an_empty_conversation_gives_the_lines_that_are_news_when_empty():
    empty = tracker([], slots={"language": None})
    for language, expected in (("en", ["Writes in Chinese, on the web widget.", "Handed over: asked for a person.",
                                       "No benefit question asked yet.",
                                       "The bot has not answered a benefit question."]),
                               ("zh", ["用户使用中文，渠道：网页。", "转人工：用户要求转人工。", "尚未咨询具体业务。",
                                       "机器人尚未答复具体业务问题。"])):
        summary = summary_of(empty, language)
        assert [line.text for line in summary.lines] == expected
        assert summary.facts == {} and summary.answered == [] and summary.topics == []


def test_an_unknown_channel_and_console_language():
    summary = summary_of(tracker([user("hello", "greet", 1, language="en")], slots={"language": "en"},
                                 channel=None), "fr")
    assert summary.language == "en"
    assert summary.lines[0].text == "Writes in English, on an unknown channel."


def test_every_fact_the_claimant_can_give_and_values_that_are_not_facts():
    events = [
        user("我1968年出生,男,56岁,在广东省深圳市,交了15年,辞职了", "ask_pension", 1, entities=[
            ("birth_year", 1968), ("gender", "male"), ("age", "56"), ("province", "广东省"), ("city", "深圳"),
            ("contribution_years", 15), ("job_end", "resigned"), ("benefit", "养老金")]),
        user("nonsense", "inform", 2, entities=[
            ("age", 300), ("gender", "maybe"), ("job_end", "fired?"), ("contribution_years", -1),
            ("birth_year", 1066), ("city", "   "), ("age", True), ("benefit", 7), ("unknown", "x")]),
        slot("pf_group", "female_cadre", 3), slot("pf_birth", "1970-04", 3), slot("uf_registered", False, 3),
        slot("uf_birth", "later", 3), slot("pf_contribution_years", "about twenty", 3),
    ]
    facts = situation(events)
    assert list(facts) == ["contribution_years", "age", "birth_year", "gender", "job_end", "registered",
                           "city", "province", "benefit"]
    assert {name: (f.value, f.detail) for name, f in facts.items()} == {
        "contribution_years": (15, None), "age": (56, None), "birth_year": (1970, "04"),
        "gender": ("female", "cadre"), "job_end": ("resigned", None), "registered": (False, None),
        "city": ("深圳", None), "province": ("广东省", None), "benefit": ("养老金", None)}
    built = build_brief(tracker(events), waiting_since=0)
    en = {x.kind: x.text for x in summarise(built, tracker(events), language="en", titles=TITLES).lines}
    zh = {x.kind: x.text for x in summarise(built, tracker(events), language="zh", titles=TITLES).lines}
    assert en["situation"] == ("Said about their situation: 15 years of contributions, age 56, born 1970-04, "
                               "a woman (cadre), resigned, not registered as unemployed, city 深圳, province 广东省, "
                               "mentioned 养老金.")
    assert zh["situation"] == ("用户自述：缴费15年、56岁、1970年4月出生、女（干部）、自己辞职、未办失业登记、城市深圳、"
                               "省份广东省、提到养老金。")


def test_a_birth_month_and_a_resignation_over_unpaid_wages_from_the_entities():
    events = [user("1966年3月出生,公司拖欠工资我只好辞职了", "ask_unemployment", 1, entities=[
        ("birth_year", 1966), ("job_end", "resigned")])]
    entities = events[0]["parse_data"]["entities"]
    entities[0]["month"], entities[1]["role"] = 3, "employer_fault"  # as bot/situation gives them
    facts = situation(events)
    assert (facts["birth_year"].value, facts["birth_year"].detail) == (1966, "03")
    assert facts["job_end"].value == "employer_fault"


def test_identifiers_in_the_claimants_words_are_masked_in_facts():
    events = [user("我在杭州,电话13812345678", "inform", 1, entities=[("city", "杭州 13812345678")])]
    city = situation(events, mask=lambda text: text.replace("13812345678", "138****5678"))["city"]
    assert city.value == "杭州 138****5678" and "13812345678" not in city.quote
    summary = summary_of(tracker(events), "en")
    assert "13812345678" not in str(summary.as_dict())


def test_a_pre_check_answer_known_only_from_the_slots():
    facts = situation([], {"uf_contribution_years": 3, "uf_involuntary": True, "city": "杭州",
                           "pf_birth": "1966-03", "language": "zh"})
    assert {name: f.value for name, f in facts.items()} == {
        "contribution_years": 3, "birth_year": 1966, "job_end": "dismissed", "city": "杭州"}
    assert all(f.turn is None and f.quote is None for f in facts.values())


def test_a_long_conversation_still_gives_a_short_summary():
    topics = ["ask_pension", "ask_unemployment", "ask_medical", "ask_work_injury", "ask_maternity",
              "ask_disability_care", "ask_assistance", "ask_social_card", "ask_transfer", "ask_contribution"]
    events, at = [], 0.0
    for n in range(300):
        topic = topics[n % len(topics)]
        at += 1
        events += [user(f"第{n}个问题:{'很长的故事' * 40}", topic, at,
                        signals={"distress": {"level": "concern", "evidence": [{"text": f"词{n}", "rule": "r"}]}}),
                   action("action_answer_topic", at + 0.1), bot("答复" * 100, at + 0.2)]
    conversation = tracker(events)
    for language in ("en", "zh"):
        summary = summary_of(conversation, language, reason="asked for a person " * 30)
        assert len(summary.lines) <= 6
        assert all(len(line.text) <= LINE_CHARS for line in summary.lines)
        assert summary.topics == topics  # in the order first asked
        text = {line.kind: line.text for line in summary.lines}
        # the latest topics are named, the earlier ones counted
        assert TITLES["ask_contribution"][language] in text["topics"]
        assert TITLES["ask_pension"][language] not in text["topics"]
        assert re.search(r"\((\d) earlier\)" if language == "en" else r"（之前还有(\d)项）", text["topics"])
        assert len(next(x for x in summary.lines if x.kind == "signals").marks) == 4


def test_the_topics_asked_leave_out_conversation_moves_and_buttons():
    built = build_brief(CONVERSATION, waiting_since=0)
    assert asked(built) == ["ask_unemployment"]


def test_what_the_bot_answered_in_order_with_parts_and_pre_check_results():
    events = [user("养老金", "ask_pension", 1), action("action_answer_topic", 1.1),
              user("失业金", "ask_unemployment", 2), action("action_answer_topic", 2.1),
              user("/show_answer_part", "show_answer_part", 3,
                   entities=[("answer_topic", "ask_pension"), ("answer_part", "documents")]),
              action("action_answer_part", 3.1), action("action_pension_result", 4), action("utter_greet", 5)]
    assert answered(events) == [{"topic": "ask_pension", "parts": ["answer", "documents"]},
                                {"topic": "ask_unemployment", "parts": ["answer"]},
                                {"check": "pension", "parts": []}]
    line = summary_of(tracker(events), "en").lines[-1].text
    assert line == (f"The bot already answered: {TITLES['ask_pension']['en']} (answer, papers needed), "
                    f"{TITLES['ask_unemployment']['en']} (answer), the pension pre-check result.")


# ----- the suggested answer ----------------------------------------------------------------------

def test_the_latest_question_is_the_latest_topic_a_request_for_a_person_leaves_it():
    assert latest_topic(CONVERSATION["events"], KB) == "ask_unemployment"
    events = [user("养老金", "ask_pension", 1), user("生育津贴", "ask_maternity", 2), user("人工", "request_human", 3),
              user("好的", "affirm", 4)]
    assert latest_topic(events, KB) == "ask_maternity"
    assert latest_topic([user("你好", "greet", 1)], KB) is None
    assert latest_topic([], KB) is None
    assert topic_of("show_answer_part", [{"entity": "answer_topic", "value": "ask_medical"}], KB) == "ask_medical"
    assert topic_of("show_answer_part", [{"entity": "answer_topic", "value": "no_such"}], KB) is None
    assert topic_of("ask_nothing", [], KB) is None and topic_of(None, None, KB) is None


@pytest.mark.parametrize("language, source_word", [("zh", "依据:"), ("en", "Source:")])
def test_the_suggestion_is_the_entry_in_the_claimants_language_with_its_source(language, source_word):
    entry = KB.get("ask_unemployment")
    suggestion = suggest(entry, language, WORDS)
    text = entry.text(language)
    assert suggestion.topic == "ask_unemployment" and suggestion.language == language
    assert suggestion.text.startswith(text["title"] + "\n" + str(text["answer"]).strip())
    last = suggestion.text.splitlines()[-1]
    assert last.startswith(source_word) and entry.sources[0].title(language) in last
    assert entry.last_reviewed in last
    assert [s["url"] for s in suggestion.sources] == [s.url for s in entry.sources]
    assert suggestion.sources[0]["title"] == entry.sources[0].title(language)
