"""The signal detector and its lexicons, with this project's own example sentences."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.settings import ROOT
from bot.signals.conversation import assess
from bot.signals.detector import SignalDetector, detector_for
from bot.signals.lexicon import LexiconError, load_lexicon

LEXICONS = ROOT / "data" / "lexicons" / "signals"


@pytest.fixture(scope="module")
def detector() -> SignalDetector:
    return detector_for(LEXICONS)


def level(detector, text):
    return detector.detect(text)["distress"]["level"]


# ------------------------------------------------------------------ levels, both languages

@pytest.mark.parametrize("text", [
    "我实在撑不住了,真的不想活了",
    "上个月我吞了一瓶安眠药,被送去洗胃",        # past tense
    "等这笔钱也没了,我就去跳河",                 # threatened, future
    "我已经写好了遗书",                          # planned
    "I've been thinking about ending my life since the letter came",
    "Last winter I took an overdose and ended up in A&E",   # recent, past
    "If they stop my pension I will kill myself",           # threatened
    "I keep feeling like everyone would be better off without me",
    "honestly life isn't worth living on this little money",
    "I planned taking my own life in the spring",
    "我想死。pension 停了 three months",                   # mixed language
    "我昨天吞了一瓶药,现在头很晕",                          # past, without naming the pills
    "我准备了安眠药,等退休金的事办完",                      # planned
    "再这样下去我就从楼上跳下去",                            # threatened
    "I swallowed a bottle of pills on Sunday",
])
def test_self_harm_is_crisis_in_any_tense(detector, text):
    signals = detector.detect(text)
    assert signals["distress"]["level"] == "crisis", signals
    assert rule_level(detector, signals["distress"]["evidence"][0]["rule"]) == "crisis"


def rule_level(detector, rule: str) -> str:
    """The level an evidence rule stands for: a lexicon entry's category, a grammar rule's
    level, or the model's level (`model:zh.crisis`)."""
    if rule.startswith("model:"):
        return rule.rsplit(".", 1)[1]
    rule = rule.split("@")[0]
    if rule in detector.lexicon.entries:
        return detector.lexicon.entries[rule].category
    return next(r.level for r in detector.grammar.rules if r.id == rule)


@pytest.mark.parametrize("text", [
    "家里已经三天没饭吃了,孩子一直在哭",
    "房东昨天把我们赶出家门,今晚无处可住",
    "他又喝了酒打我,我不敢回家",
    "孩子发高烧,我们没钱看病",
    "We have had nothing to eat since Friday",
    "The landlord says we will be evicted on Monday",
    "My partner hits me when the money runs out",
    "I can't afford my medication this month and the pharmacy won't wait",
    "我们已经两天没吃饭了",
    "房东说下周就要把我们赶出去",
    "孩子住院了,医院要交押金,我们没钱交押金",
    "My landlord is evicting us at the end of the week",
    "We can't afford the insulin my son needs",
])
def test_immediate_danger_or_destitution_is_urgent(detector, text):
    assert level(detector, text) == "urgent"


@pytest.mark.parametrize("text", [
    "我每天晚上都睡不着,心里特别害怕",
    "跑了五趟都没办成,我真的很绝望",
    "I feel hopeless about this appeal",
    "I'm exhausted from phoning them every day",
    "Since my wife died I've been grieving and I don't know what to do about her pension",
])
def test_despair_fear_and_exhaustion_are_concern(detector, text):
    assert level(detector, text) == "concern"


@pytest.mark.parametrize("text", [
    "退休金什么时候到账", "失业金怎么申请", "How do I change the address on my claim?",
    "Can I get my pension paid into a different bank?", "", "   ", "👍👍",
    "how do i pay contributions as a self employed person", "How can I pay my contributions online?",
    "我准备了材料,想问一下退休手续", "我没有吃安眠药,只是睡不好想问医保",
])
def test_ordinary_questions_raise_nothing(detector, text):
    signals = detector.detect(text)
    assert signals["distress"] == {"level": "none", "evidence": []}
    assert signals["complexity"]["level"] in ("none", "some")


# ------------------------------------------------------------------ negation and denial

@pytest.mark.parametrize("text", [
    "我没有想死,只是想问问低保", "不是想自杀,是想问丧葬费", "我从来没有想过自杀",
    "I'm not suicidal, I just need the form", "I would never kill myself, don't worry",
    "I have no thoughts of suicide", "I don't want to die, I want my money",
])
def test_negated_or_denied_self_harm_is_not_crisis(detector, text):
    assert level(detector, text) != "crisis"


def test_negation_does_not_cross_a_clause(detector):
    assert level(detector, "我没有工作,也不想活了") == "crisis"
    assert level(detector, "I have no job and I want to die") == "crisis"


@pytest.mark.parametrize("mark", ["\uff0c", "\uff1b", "\uff01", "\uff1f", "\uff1a"])  # ，；！？：
def test_a_full_width_mark_ends_the_clause_of_a_negation(detector, mark):
    assert level(detector, f"家里也没钱了{mark}农药我都买好了") == "crisis"
    assert level(detector, f"我不想死{mark}只想把工伤的钱拿到") != "crisis"


@pytest.mark.parametrize("text, wanted", [
    ("If the tribunal doesn't approve my claim I'm going to take my own life", "crisis"),
    ("要是不给我办我就去死", "crisis"),
    ("如果不行的话我也不想死", "none"),
    ("I'm not going to kill myself if they refuse", "none"),
])
def test_a_not_inside_the_condition_does_not_deny_the_threat(detector, text, wanted):
    found = detector.detect(text)["distress"]["level"]
    assert (found == "crisis") == (wanted == "crisis"), text


def test_no_longer_is_not_a_denial(detector):
    assert level(detector, "I no longer want to live like this") == "crisis"
    assert level(detector, "我从没这么绝望过") == "concern"


# ------------------------------------------------------------------ reported speech

@pytest.mark.parametrize("text", [
    "my neighbour said she wants to die", "My brother tried to kill himself last year",
    "邻居老太太说她不想活了", "我妈说她活着没意思",
])
def test_someone_elses_self_harm_is_concern_not_the_claimants_crisis(detector, text):
    signals = detector.detect(text)
    assert signals["distress"]["level"] == "concern", signals
    assert signals["distress"]["evidence"][0]["rule"].endswith("@other")


def test_the_claimant_telling_someone_is_still_their_own_crisis(detector):
    assert level(detector, "I told my doctor I want to die") == "crisis"
    assert level(detector, "我跟我妈说我想死") == "crisis"


# ------------------------------------------------------------------ Traditional characters

def test_traditional_characters_are_read_like_simplified(detector):
    assert level(detector, "我真的不想活了,錢都沒了") == "crisis"
    assert level(detector, "我從來沒有想過自殺") == "none"
    traditional = detector.detect("房東要把我們趕出家門")
    assert traditional["distress"]["level"] == "urgent"
    assert traditional["distress"]["evidence"][0]["text"] == "赶出家门"


# ------------------------------------------------------------------ intensifiers

def test_an_intensifier_alone_does_not_raise_a_level(detector):
    assert level(detector, "I'm really worried about the forms") == "concern"
    assert level(detector, "我非常担心") == "concern"


def test_intensified_concern_with_more_evidence_becomes_urgent_and_shows_why(detector):
    assert level(detector, "I'm completely desperate and I can't cope any longer") == "concern"
    signals = detector.detect("I'm completely desperate, I can't cope any longer and I cry every night")
    assert signals["distress"]["level"] == "urgent"
    rules = [e["rule"] for e in signals["distress"]["evidence"]]
    assert "en.intensifier.degree" in rules and "en.concern.cannot_cope" in rules
    zh = detector.detect("我实在撑不下去了,每天以泪洗面,很绝望")
    assert zh["distress"]["level"] == "urgent"
    assert any(e["rule"] == "zh.intensifier.degree" for e in zh["distress"]["evidence"])


# ------------------------------------------------------------------ complexity

def test_several_needs_in_one_message_are_counted_with_evidence(detector):
    signals = detector.detect(
        "老伴去年走得早,我腿瘫痪了不能工作,还欠了亲戚不少钱,现在房租也交不起")
    complexity = signals["complexity"]
    assert complexity["level"] == "high"
    assert {"bereavement", "disability", "debt", "housing"} <= set(complexity["needs"])
    assert {e["rule"].split(".")[1] for e in complexity["evidence"]} >= {"disability", "debt"}


def test_a_move_between_places_and_a_separation_count_as_needs(detector):
    letter = detector.detect("我户口在老家,在苏州打工八年,今年被裁员了,我妈在老家要做手术,怎么办")
    assert {"relocation", "employment", "health"} <= set(letter["complexity"]["needs"])
    assert letter["complexity"]["level"] == "high"
    assert "family_change" in detector.detect("separated last month, what happens to my claim")["complexity"]["needs"]
    # a transfer question alone names the move, and that is all it is
    assert detector.detect("我从上海调到成都工作,社保怎么转过去")["complexity"]["level"] != "high"
    # a maternity question names the baby and the job by itself: a pregnancy is not a need
    maternity = detector.detect("I'm pregnant with my second child and work part time, how long is maternity pay")
    assert maternity["complexity"]["level"] != "high"


def test_one_need_is_some(detector):
    english = detector.detect("I'm a full-time carer for my dad, what can I claim?")
    assert english["complexity"] == {"level": "some", "needs": ["caring"],
                                     "evidence": english["complexity"]["evidence"]}
    assert english["complexity"]["evidence"]


def test_every_level_above_none_carries_evidence_from_the_message(detector):
    texts = ["我想死", "没饭吃", "我很害怕", "I'm scared and exhausted", "I'm homeless",
             "My son is disabled, I care for him and we are in rent arrears",
             "我從來沒有想過自殺", "normal question about pension"]
    for text in texts:
        signals = detector.detect(text)
        for part in ("distress", "complexity"):
            if signals[part]["level"] != "none":
                assert signals[part]["evidence"], (text, signals)
                for item in signals[part]["evidence"]:
                    assert set(item) == {"text", "rule"}
                    assert item["text"].lower() in detector.hits(text)[0].lower()


def test_the_shape_is_exactly_the_documented_one(detector):
    signals = detector.detect("我想问养老金")
    assert set(signals) == {"distress", "complexity"}
    assert set(signals["distress"]) == {"level", "evidence"}
    assert set(signals["complexity"]) == {"level", "needs", "evidence"}


# ------------------------------------------------------------------ lexicon errors

def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_yaml_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "en/crisis.yml", """\
        entries:
          - id: en.crisis.a
            phrases: [one, two
          - id: en.crisis.b
        """)
    with pytest.raises(LexiconError) as caught:
        load_lexicon(tmp_path)
    assert caught.value.path == path and caught.value.line in (3, 4, 5)
    assert str(caught.value).startswith(f"{path}:")


def test_a_bad_token_pattern_names_file_line_and_entry(tmp_path):
    path = write(tmp_path, "zh/urgent.yml", """\
        entries:
          - id: zh.urgent.ok
            phrases: [没饭吃]
          - id: zh.urgent.broken
            patterns:
              - [{TEXT: 饿}]
              - [{NOT_AN_ATTRIBUTE: 饿}]
        """)
    with pytest.raises(LexiconError) as caught:
        load_lexicon(tmp_path)
    assert caught.value.path == path and caught.value.line == 7
    assert "zh.urgent.broken" in str(caught.value) and "pattern 2" in str(caught.value)


@pytest.mark.parametrize("body, line, words", [
    ("entries:\n  - phrases: [x]\n", 2, "id"),
    ("entries:\n  - id: a.b\n    phrase: [x]\n", 3, "unknown key 'phrase'"),
    ("entries:\n  - id: a.b\n", 2, "neither"),
    ("entries:\n  - id: a.b\n    phrases: ['', ok]\n", 3, "phrase 1"),
    ("category: urgent\nentries:\n  - id: a.b\n    phrases: [x]\n", 1, "differs"),
])
def test_entry_problems_name_the_line(tmp_path, body, line, words):
    write(tmp_path, "en/concern.yml", body)
    with pytest.raises(LexiconError) as caught:
        load_lexicon(tmp_path)
    assert caught.value.line == line, str(caught.value)
    assert words in str(caught.value)


def test_duplicate_ids_across_files_are_refused(tmp_path):
    write(tmp_path, "en/concern.yml", "entries:\n  - id: same\n    phrases: [a]\n")
    path = write(tmp_path, "en/urgent.yml", "entries:\n  - id: same\n    phrases: [b]\n")
    with pytest.raises(LexiconError) as caught:
        load_lexicon(tmp_path)
    assert caught.value.path == path and "duplicate id 'same'" in str(caught.value)


def test_the_shipped_lexicons_load_and_cover_every_category_in_both_languages():
    lexicon = load_lexicon(LEXICONS)
    for language in ("zh", "en"):
        categories = {e.category for e in lexicon.for_language(language)}
        assert {"crisis", "urgent", "concern", "intensifier", "disability", "caring", "housing",
                "health", "debt", "employment", "bereavement", "violence"} <= categories


def test_a_trainer_added_phrase_is_matched(tmp_path):
    write(tmp_path, "en/crisis.yml", "entries:\n  - id: en.crisis.test\n    phrases: [walk into the sea]\n")
    write(tmp_path, "zh/housing.yml", "entries:\n  - id: zh.housing.test\n    phrases: [群租房]\n")
    mine = SignalDetector(load_lexicon(tmp_path))
    assert mine.detect("I want to walk into the sea")["distress"]["evidence"] == [
        {"text": "walk into the sea", "rule": "en.crisis.test"}]
    assert mine.detect("住在群租房里")["complexity"]["needs"] == ["housing"]


# ------------------------------------------------------------------ conversation complexity

def user(text, intent, needs=(), level="none", distress="none"):
    return {"event": "user", "text": text, "parse_data": {
        "intent": {"name": intent}, "signals": {
            "distress": {"level": distress, "evidence": []},
            "complexity": {"level": level, "needs": list(needs), "evidence": [
                {"text": n, "rule": f"en.{n}.x"} for n in needs]}}}}


def test_concern_in_two_messages_in_a_row_offers_a_person():
    first = user("I'm so tired of all this", "ask_pension", distress="concern")
    second = user("I just can't cope with the forms", "ask_documents", distress="concern")
    plain = user("when is it paid", "ask_payment_status")
    assert assess([first, second]).reasons == ["repeated_concern"]
    assert assess([first, second]).level == "high"
    assert assess([first, plain, second]).reasons == []  # not in a row
    assert assess([first]).reasons == []


def test_concern_on_top_of_complexity_offers_a_person():
    events = [user("rent and the kids", "ask_assistance", needs=["housing"]),
              user("my debts and my illness, I'm scared", "ask_medical", needs=["debt", "health"],
                   distress="concern")]
    assert assess(events).reasons == ["several_needs", "concern_and_complex"]
    calm = [events[0], user("my debts and my illness", "ask_medical", needs=["debt", "health"])]
    assert assess(calm).reasons == ["several_needs"]


def test_messages_written_to_a_person_while_paused_are_not_the_bots_failures():
    events = [user("I want a person", "request_human"), {"event": "pause"},
              user("asdf", "nlu_fallback"), user("qwer zxcv", "nlu_fallback"), {"event": "resume"},
              {"event": "action", "name": "action_listen"}, user("how do I claim maternity pay", "ask_maternity")]
    assert assess(events).reasons == []
    assert assess(events[:4]).reasons == []


def test_two_failed_turns_in_a_row_raise_complexity():
    events = [user("asdf", "nlu_fallback"), {"event": "action", "name": "action_clarify"},
              user("qwer zxcv", "nlu_fallback")]
    assert assess(events).reasons == ["failed_turns"]
    assert assess(events[:1]).reasons == []


def test_the_same_question_again_raises_complexity():
    events = [user("pension?", "ask_pension"), {"event": "action", "name": "action_answer_topic"},
              user("but when is my pension paid", "ask_pension")]
    assert "repeated_question" in assess(events).reasons


def test_reading_a_brief_answer_part_by_part_is_not_asking_again():
    steps = '/show_answer_part{"answer_topic":"ask_unemployment","answer_part":"steps"}'
    documents = '/show_answer_part{"answer_topic":"ask_unemployment","answer_part":"documents"}'
    events = [user("how do I claim unemployment benefit", "ask_unemployment"),
              {"event": "action", "name": "action_answer_topic"},
              user(steps, "show_answer_part"), {"event": "action", "name": "action_answer_part"},
              user(documents, "show_answer_part"), {"event": "action", "name": "action_answer_part"},
              user(steps, "show_answer_part")]  # the steps once more, to read them again
    assert assess(events).reasons == []


def test_the_same_question_in_the_other_language_after_a_switch_is_not_a_repeat():
    asked = user("失业金怎么领", "ask_unemployment")
    asked["parse_data"]["language"] = {"code": "zh"}
    again = user("how do I claim unemployment benefit", "ask_unemployment")
    again["parse_data"]["language"] = {"code": "en"}
    assert "repeated_question" not in assess([asked, again]).reasons
    again["parse_data"]["language"] = {"code": "zh"}
    assert "repeated_question" in assess([asked, again]).reasons


def test_needs_from_two_messages_raise_complexity_with_their_evidence():
    events = [user("I care for my mum", "ask_disability_care", needs=["caring"], level="some"),
              user("and we are behind on rent", "ask_assistance", needs=["housing"], level="some")]
    result = assess(events)
    assert result.reasons == ["several_needs"] and result.needs == ["caring", "housing"]
    assert result.as_reason() == "several_needs; needs: caring, housing"
    assert {e["text"] for e in result.evidence} == {"caring", "housing"}


def test_an_appeal_after_a_pre_check_result_raises_complexity():
    events = [user("yes", "affirm"), {"event": "action", "name": "action_unemployment_result"},
              user("that's wrong, I want to appeal", "complaint_appeal")]
    assert "appeal_after_decision" in assess(events).reasons
    assert assess([user("I want to complain about the queue", "complaint_appeal")]).reasons == []


def test_a_new_session_starts_afresh():
    events = [user("asdf", "nlu_fallback"), {"event": "session_started"}, user("qwer", "nlu_fallback")]
    assert assess(events).reasons == []


@pytest.mark.parametrize("several, one", [
    ("我妈中风住院了,我老公又被裁员了,能申请什么", "我中风住院了,又被裁员了,能申请什么"),
    ("My mum had a stroke and my husband was made redundant. What can we apply for?",
     "I had a stroke and was made redundant. What can I apply for?"),
])
def test_needs_spread_over_several_people_are_compounded(detector, several, one):
    compounded = detector.detect(several)["complexity"]
    assert compounded["level"] == "high"
    assert {e["rule"].split(".people.")[-1] for e in compounded["evidence"] if ".people." in e["rule"]} \
        == {"parent", "spouse"}
    assert detector.detect(one)["complexity"]["level"] == "some"


def test_a_relatives_death_is_a_need_though_it_is_no_distress(detector):
    signals = detector.detect("我哥去世了,想问他的个人账户余额怎么继承")
    assert signals["complexity"]["needs"] == ["bereavement"]
    assert signals["distress"]["level"] == "none"


def test_too_many_pills_and_a_racing_heart_is_a_crisis_but_overeating_is_not(detector):
    assert level(detector, "刚才药吃多了,现在心跳很快") == "crisis"
    assert level(detector, "我昨天吃多了,肚子不舒服,医保能报吗") != "crisis"


def test_a_long_letter_whose_story_touches_another_topic_is_complex():
    # The question outweighed the story in the ranking (bot/components/question_focus.py), so the
    # story's topic is only in `secondary_topics`: it still counts as a second topic.
    letter = "我爸去年退休了，养老金一直没发下来。" * 10 + "我自己现在被辞退了，怎么领失业金？"
    asked = user(letter, "ask_unemployment")
    asked["parse_data"]["intent_ranking"] = [{"name": "ask_unemployment", "confidence": 0.8},
                                             {"name": "ask_pension", "confidence": 0.1}]
    assert assess([asked]).reasons == []
    asked["parse_data"]["secondary_topics"] = [{"intent": "ask_pension", "confidence": 0.9, "start": 0, "end": 18}]
    assert assess([asked]).reasons == ["long_message"]
    # A short message with a secondary topic is not a long letter.
    short = user("养老金没发，怎么领失业金？", "ask_unemployment")
    short["parse_data"]["secondary_topics"] = asked["parse_data"]["secondary_topics"]
    assert assess([short]).reasons == []
