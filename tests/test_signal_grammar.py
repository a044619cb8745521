"""The signal grammar (word classes and rules), spelling variants, and the statistical backstop.

Every rule of data/lexicons/signals/*/rules.yml is exercised here with sentences written for this
file (never taken from the blind challenge rounds), with hard negatives beside them.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import ROOT
from bot.signals.backstop import Backstop, windows
from bot.signals.detector import SignalDetector, detector_for
from bot.signals.grammar import load_grammar
from bot.signals.lexicon import LexiconError, load_lexicon
from bot.signals.spelling import Speller

LEXICONS = ROOT / "data" / "lexicons" / "signals"


@pytest.fixture(scope="module")
def rules_only() -> SignalDetector:
    """Phrases and grammar, no model: what the rules alone recognise."""
    return SignalDetector(load_lexicon(LEXICONS), load_grammar(LEXICONS))


@pytest.fixture(scope="module")
def detector() -> SignalDetector:
    return detector_for(LEXICONS)


def rules_of(signals) -> list:
    return [e["rule"] for e in signals["distress"]["evidence"]]


# ------------------------------------------------------------------ every rule, both languages

RULE_CASES = [
    # (text, level, rule that must be in the evidence)
    ("我真打算把这一切了结", "crisis", "zh.rule.intent_death"),
    ("俺寻思干脆一闭眼算了", "crisis", "zh.rule.intent_death"),
    ("我想从六楼往下跳", "crisis", "zh.rule.intent_act"),
    ("上礼拜喝过农药,被邻居送到医院", "crisis", "zh.rule.act"),
    ("绳子我已经买好了", "crisis", "zh.rule.means_prepared"),
    ("降压药我偷偷攒了一大把", "crisis", "zh.rule.pills_stockpiled"),
    ("你们再不批,我只能去死", "crisis", "zh.rule.condition_then_death"),
    ("要是还不给办,我就去跳河", "crisis", "zh.rule.condition_then_act"),
    ("这是最后一条消息了,我想解脱", "crisis", "zh.rule.farewell_death"),
    ("遗书放在抽屉里了", "crisis", "zh.rule.farewell_strong"),
    ("我就是家里的累赘,死了最好", "crisis", "zh.rule.burden_death"),
    ("我死了他们就轻松了", "crisis", "zh.rule.death_relief"),
    ("晚上用刀片割手腕", "crisis", "zh.rule.self_harm"),
    ("实在找不到活下去的理由", "crisis", "zh.rule.no_reason_to_live"),
    ("这辈子活够了", "crisis", "zh.rule.death_strong"),
    ("我现在站在江边的大桥上", "crisis", "zh.rule.at_the_edge"),
    ("今晚之后我就不在了", "crisis", "zh.rule.soon_gone"),
    ("衣服都送人了,以后也用不上了", "crisis", "zh.rule.giving_away"),
    ("没有我,孩子们会过得更好", "crisis", "zh.rule.better_without_me"),
    ("替我照顾好猫,我先走了", "crisis", "zh.rule.farewell_leave"),
    ("手臂上又划了几道", "crisis", "zh.rule.harm_done"),
    ("刚吞下去了一瓶药,现在有点晕", "crisis", "zh.rule.took_and_dizzy"),
    ("照片都删了,最后问一句养老金谁领", "crisis", "zh.rule.giveaway_last"),
    ("材料交完我就去江边", "crisis", "zh.rule.going_to_the_edge"),
    ("去楼顶看看风景,看完就不下来了", "crisis", "zh.rule.edge_no_return"),
    ("我这个累赘,我走了家里就好过了", "crisis", "zh.rule.burden_leave"),
    ("娃们饿得直哭", "urgent", "zh.rule.hunger"),
    ("家里一粒米都没有", "urgent", "zh.rule.no_food"),
    ("今晚睡桥洞", "urgent", "zh.rule.homeless"),
    ("欠费被停了电,屋里冻得不行", "urgent", "zh.rule.utility_cut"),
    ("没钱了,胰岛素断了三天", "urgent", "zh.rule.no_treatment"),
    ("他喝醉了又动手打我", "urgent", "zh.rule.violence"),
    ("压得喘不过气,天天以泪洗面", "concern", "zh.rule.despair"),
    ("I am planning to end it all this weekend", "crisis", "en.rule.intent_death"),
    ("I've got a rope in the garage", "crisis", "en.rule.lethal_prepared"),
    ("thinking about the railway line again", "crisis", "en.rule.lethal_intent"),
    ("been saving my sleeping tablets for a month", "crisis", "en.rule.pills_stockpiled"),
    ("some nights I pray I won't wake up", "crisis", "en.rule.no_wake"),
    ("if only I'd fall asleep and not wake up", "crisis", "en.rule.sleep_no_wake"),
    ("if the appeal fails that's it for me", "crisis", "en.rule.condition_finality"),
    ("this is goodbye, I am going to end my life", "crisis", "en.rule.farewell_death"),
    ("sorry for everything, I'm done", "crisis", "en.rule.farewell_finality"),
    ("tell my daughter I love her, the tablets are by the bed", "crisis", "en.rule.farewell_means"),
    ("I'm such a burden, I'd rather die", "crisis", "en.rule.burden"),
    ("they would all be better off without me", "crisis", "en.rule.better_off_without_me"),
    ("I cut my wrists last night", "crisis", "en.rule.self_harm_act"),
    ("I relapsed and I'm self-harming again", "crisis", "en.rule.self_harm"),
    ("I took an overdose in the spring", "crisis", "en.rule.attempt"),
    ("I really don't want to be here anymore", "crisis", "en.rule.not_wanting_to_live"),
    ("my head keeps telling me to end my life", "crisis", "en.rule.voices"),
    ("by the time you read this it will be sorted", "crisis", "en.rule.farewell_strong"),
    ("honestly I'm done with living", "crisis", "en.rule.death_strong"),
    ("I took 20 of my tablets an hour ago", "crisis", "en.rule.took_pills"),
    ("we have no food left at all", "urgent", "en.rule.no_food"),
    ("the kids are going hungry", "urgent", "en.rule.hunger"),
    ("I'm sleeping rough behind the library", "urgent", "en.rule.homeless"),
    ("the electricity has been cut off", "urgent", "en.rule.utility_cut"),
    ("I can't heat the flat and it's snowing", "urgent", "en.rule.cold"),
    ("I'm rationing my insulin", "urgent", "en.rule.no_treatment"),
    ("he threatened to kill me last night", "urgent", "en.rule.violence"),
    ("I feel like such a burden on my son", "concern", "en.rule.feeling_a_burden"),
    ("she's going to drink the weedkiller", "crisis", "en.rule.intent_method"),
    ("my father say he will drink the pesticide", "crisis", "en.rule.threat_method"),
    ("I'm sitting on the railway track now", "crisis", "en.rule.at_the_edge"),
    ("help i drank the bleach", "crisis", "en.rule.took_poison"),
    ("I'm at the end of my tether with all this", "concern", "en.rule.despair"),
    # round 8's kinds of misses, said in other words
    ("my brother keeps saying he'll top himself and now his phone is off", "crisis", "en.rule.threat_unreachable"),
    ("she said she won't be around much longer and the door's locked", "crisis", "en.rule.finality_unreachable"),
    ("I've made up my mind, I'd rather be dead by spring", "crisis", "en.rule.decided_death"),
    ("been googling how to go painlessly", "crisis", "en.rule.lethal_dose"),
    ("would a whole box of sertraline be enough to kill me", "crisis", "en.rule.means_lethal_dose"),
    ("dad says he will swallow the roundup if the farm payment is cut", "crisis", "en.rule.threat_ingest_poison"),
    ("got the tablets counted out beside me", "crisis", "en.rule.means_at_hand"),
    ("how many zopiclone would it take", "crisis", "en.rule.means_dose_needed"),
    ("thinking of wading into the loch tonight", "crisis", "en.rule.into_water"),
    ("where is the tallest building round here", "crisis", "en.rule.heading_to_height"),
    ("他说想死,之后就关机了", "crisis", "zh.rule.death_unreachable"),
    ("她留了一句永别了,电话打不通", "crisis", "zh.rule.farewell_unreachable"),
    ("他说自己是累赘,把门反锁了", "crisis", "zh.rule.burden_unreachable"),
    ("安眠药吃多少粒才能死得了", "crisis", "zh.rule.lethal_dose"),
    ("跑了好几家药店买的安定,都在抽屉里", "crisis", "zh.rule.pills_at_hand"),
    ("家里还有一瓶百草枯", "crisis", "zh.rule.means_at_hand"),
    ("我走了对孩子们是不是更好", "crisis", "zh.rule.better_without_me"),
]


@pytest.mark.parametrize("text, level, rule", RULE_CASES, ids=[c[2] + ":" + c[0][:20] for c in RULE_CASES])
def test_each_rule_fires_at_its_level(rules_only, text, level, rule):
    signals = rules_only.detect(text)
    assert rule in [r.split("@")[0] for r in rules_of(signals)], signals
    assert signals["distress"]["level"] == level, signals


def test_every_rule_in_the_files_has_a_case_here():
    grammar = load_grammar(LEXICONS)
    tested = {rule for _, _, rule in RULE_CASES}
    assert {r.id for r in grammar.rules} - tested == set()


HARD_NEGATIVES = [
    "how many weeks does it take to get the first carer's payment",   # a waiting time, not a dose
    "we're planning to retire by the lake in Spain, is my pension paid there",
    "can I walk into the jobcentre without booking",
    "my nephew will take the tablets the GP prescribed, are they free",  # a treatment (the model too)
    "if they don't pay I'm not going to kill myself, I just want my money",  # the consequence denied
    "12333打了一上午都打不通,排到死也没人接",       # an idiom and a busy line
    "降压药一天吃几片,医保能报吗",
    "我想问一下父亲去世后丧葬费怎么领",           # 想 + 去世: a death benefit
    "失业金等得我急死了,什么时候到账",            # an idiom
    "死亡待遇和抚恤金要交什么材料",
    "如果我死了,养老金个人账户能继承吗",          # a plain question about inheritance
    "我买了降压药,门诊能报销吗",                  # medicine bought, not stockpiled
    "最后一次缴费是去年十月",
    "车停在水库边的停车场",
    "请打我电话,谢谢",
    "打算明年退休,要准备什么材料",
    "I'm dying to know when my pension is paid",
    "this form is killing me, which box do I tick",
    "what happens to my pension when I die",
    "does life insurance pay out on suicide",
    "I want to jump the queue for my assessment",
    "I cut my hand at work, is it an industrial injury",
    "I've got my tablets from the pharmacy, are they free",
    "once I'm done with the form I'll post it",
    "starving for info on the cost of living payment",
    "how do bailiffs work for an eviction",
    "I drank the milk past its date, silly me",
    "he will jump the queue if he calls early",
    "the roof is leaking, who pays for the repair",
    "我爸说他想跳槽去别的厂,社保怎么转",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_raise_no_crisis_or_urgent(detector, text):
    assert detector.detect(text)["distress"]["level"] in ("none", "concern"), detector.detect(text)


def test_a_rule_needs_its_classes_in_order_in_one_sentence(rules_only):
    assert rules_only.detect("我真打算了结")["distress"]["level"] == "crisis"
    assert "zh.rule.intent_death" not in rules_of(rules_only.detect("了结了这件事。我打算明年退休"))
    assert "en.rule.intent_death" not in rules_of(rules_only.detect("End it there. I plan to retire."))


def test_a_negated_or_reported_rule_is_not_the_claimants_crisis(detector):
    assert detector.detect("我从没打算了结自己,只是想问低保")["distress"]["level"] != "crisis"
    for wish in ("我妈说她活着没意思", "my mum keeps saying she'd be better off dead"):
        reported = detector.detect(wish)  # someone else's wish: a person is offered, no crisis
        assert reported["distress"]["level"] == "concern", reported
        assert any(r.endswith("@other") for r in rules_of(reported))
        assert "about" not in reported["distress"]


@pytest.mark.parametrize("text", [
    "我儿子说他想从楼上往下跳",
    "我爸说要是这个月养老金再不发他就喝农药,药已经买好了",
    "my husband is in the garage with the engine running and the door is shut",
    "My brother is sitting on the railway track and won't listen to anyone",
    "my mam says she has the tablets counted out",
    "my dad say he will drink the pesticide if the pension office refuse him",
])
def test_someone_elses_plan_means_or_act_is_a_crisis_about_them(detector, text):
    """A wish reported is a concern; a plan, a means at hand or an act under way is a life in
    danger now, whoever's: crisis, marked as someone else's so the reply says who to call."""
    signals = detector.detect(text)
    assert signals["distress"]["level"] == "crisis", signals
    assert signals["distress"].get("about") == "someone_else", signals
    assert all(r.endswith("@other") for r in rules_of(signals) if "rule." in r or ".crisis." in r), signals


def test_the_claimants_own_crisis_beside_someone_elses_is_theirs(detector):
    signals = detector.detect("My son says he'll jump off the bridge and I want to die too")
    assert signals["distress"]["level"] == "crisis"
    assert "about" not in signals["distress"]


# ------------------------------------------------------------------ spelling

@pytest.mark.parametrize("written, read", [
    ("想紫砂了", "想自杀了"), ("唔想做人", "不想活"), ("bxhl", "不想活了"),
    ("i wanna kms", "i want to kill myself"), ("k-i-l-l myself", "kill myself"), ("su1c1de", "suicide"),
    ("s*icide", "suicide"), ("UC50 and P45 forms", "UC50 and P45 forms"), ("a b c", "a b c"),
    ("1 n33d t0 g3t 0ut", "i need to get out"), ("my P60, P45 and SA100 for 2023", "my P60, P45 and SA100 for 2023"),
    ("W2 and 1099 for my k1 form", "W2 and 1099 for my k1 form"),
])
def test_spelling_variants_are_read_as_what_they_stand_for(written, read):
    grammar = load_grammar(LEXICONS)
    assert Speller(grammar.spelling).normalise(written) == read


def test_obfuscated_and_dialect_crisis_is_found(detector):
    for text in ("今晚想紫砂", "我唔想再做人", "gonna unalive myself tonight", "i want to k!ll myself"):
        assert detector.detect(text)["distress"]["level"] == "crisis", text


# ------------------------------------------------------------------ file problems stop start-up

def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("rules, problem", [
    ("rules:\n  - id: zh.rule.x\n    level: crisis\n    match: [intent, nothing]\n", "unknown word class 'nothing'"),
    ("rules:\n  - id: zh.rule.x\n    level: alarming\n    match: [intent]\n", "`level` must be one of"),
    ("rules:\n  - id: zh.rule.x\n    level: crisis\n    match: [intent]\n    within: 500\n", "`within` must be"),
    ("rules:\n  - id: zh.rule.x\n    level: crisis\n    match: [intent]\n  - id: zh.rule.x\n    level: crisis\n"
     "    match: [intent]\n", "duplicate id"),
    ("rules:\n  - id: zh.rule.x\n    level: crisis\n    match: [intent]\n    colour: red\n", "unknown key 'colour'"),
    ("rules:\n  - id: zh.rule.x\n    level: concern\n    match: [intent]\n    other: crisis\n", "`other` must be a level"),
    ("rules: [\n", "not valid YAML"),
])
def test_a_rule_file_with_a_problem_names_file_line_and_problem(tmp_path, rules, problem):
    write(tmp_path, "zh/classes.yml", "classes:\n  intent: [想]\n")
    write(tmp_path, "zh/rules.yml", rules)
    with pytest.raises(LexiconError) as raised:
        load_grammar(tmp_path)
    assert problem in str(raised.value) and "rules.yml" in str(raised.value)
    assert raised.value.line is not None or "YAML" in problem


def test_a_class_file_with_a_problem_is_refused(tmp_path):
    write(tmp_path, "en/classes.yml", "classes:\n  intent: []\n")
    with pytest.raises(LexiconError, match="classes.yml:2"):
        load_grammar(tmp_path)


def test_grammar_files_are_not_read_as_need_lexicons(tmp_path):
    write(tmp_path, "zh/crisis.yml", "entries:\n  - id: zh.crisis.t\n    phrases: [想死]\n")
    write(tmp_path, "zh/classes.yml", "classes:\n  intent: [想]\n")
    assert "classes" not in load_lexicon(tmp_path).categories()


# ------------------------------------------------------------------ the backstop

CORPUS = {
    "crisis": ["I will end my life tonight", "I have decided to end my life", "end my life soon",
               "tonight I end my life for good", "I plan to end my life", "nothing left, end my life"],
    "urgent": ["no food for the children today", "the children have no food", "no food since monday",
               "we have had no food for days", "no food and no money", "no food in the house at all"],
    "concern": ["I feel so low and tired", "so low and tired of everything", "tired and low every day",
                "I am low and so tired", "feeling low and tired", "low, tired and alone"],
    "none": ["how do I claim my pension", "when is my pension paid", "pension paid into my bank",
             "how much is the pension", "can I claim the pension abroad", "pension forms to fill in",
             "how do I claim unemployment", "what documents for my claim", "my claim reference number"],
}


def tiny_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["level\ttext\tstyle"] + [f"{level}\t{text}\ttest" for level, texts in CORPUS.items() for text in texts]
    (folder / "en-test.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_the_backstop_raises_with_its_ngrams_as_evidence(tmp_path):
    backstop = Backstop.train_from(tiny_corpus(tmp_path / "corpus"))
    judged = backstop.assess("I think I will end my life")
    assert judged.level == "crisis" and judged.rule == "model:en.crisis"
    assert judged.evidence and all(piece in "i think i will end my life" for piece in judged.evidence)
    assert backstop.assess("when will my pension be paid") is None


def test_a_model_only_crisis_is_a_crisis_with_the_models_evidence(tmp_path):
    write(tmp_path / "lex", "en/health.yml", "entries:\n  - id: en.health.x\n    phrases: [hospital]\n")
    lexicon = load_lexicon(tmp_path / "lex")
    detector = SignalDetector(lexicon, None, Backstop.train_from(tiny_corpus(tmp_path / "corpus")))
    signals = detector.detect("I am going to end my life tonight")
    assert signals["distress"]["level"] == "crisis"
    assert signals["distress"]["evidence"][0]["rule"] == "model:en.crisis"
    assert signals["distress"]["evidence"][0]["text"]


def test_a_crisis_sentence_inside_a_long_letter_counts(detector):
    story = ("我今年五十八岁,在纺织厂干了二十六年,厂子去年改制以后我就下岗了。社保是单位一直交的,"
             "后来我自己按灵活就业交了三年。老伴身体不好,常年吃药,儿子在外地打工,一年回来一次。") * 6
    letter = story + "说实话我已经把安眠药攒够了,这几天就想吃下去。" + story + "我想问一下提前退休能不能办?"
    assert len(letter) > 900
    assert detector.detect(letter)["distress"]["level"] == "crisis"
    assert detector.detect(story + "我想问一下提前退休能不能办?")["distress"]["level"] in ("none", "concern")


def test_windows_read_a_long_text_sentence_by_sentence():
    sentences, spans = windows("First sentence here. " * 30)
    assert len(sentences) == 30 and all(last - first <= 3 for first, last in spans)
    assert windows("short one") == (["short one"], [(0, 1)])


def test_the_trained_backstop_is_cached_and_reused(tmp_path):
    corpus = tiny_corpus(tmp_path / "corpus")
    first = Backstop.train_from(corpus, cache=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("signals-backstop-*.pkl"))) == 1
    again = Backstop.train_from(corpus, cache=tmp_path / "cache")
    assert again.assess("I will end my life tonight").level == first.assess("I will end my life tonight").level == "crisis"
    (corpus / "en-test.tsv").write_text((corpus / "en-test.tsv").read_text() + "none\tanother plain question\tx\n")
    Backstop.train_from(corpus, cache=tmp_path / "cache")  # a changed corpus is trained again
    assert len(list((tmp_path / "cache").glob("signals-backstop-*.pkl"))) == 2


def test_a_people_role_with_a_problem_is_refused_with_its_line(tmp_path):
    folder = tmp_path / "zh"
    folder.mkdir()
    (folder / "classes.yml").write_text("classes:\n  intent: [想]\npeople:\n  spouse: [老公]\n  Child: [儿子]\n",
                                        encoding="utf-8")
    with pytest.raises(LexiconError) as raised:
        load_grammar(tmp_path)
    assert raised.value.line == 5 and "Child" in raised.value.problem
