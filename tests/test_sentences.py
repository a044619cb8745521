"""Sentences of a long message and which of them ask (bot/sentences.py), in both languages."""
from __future__ import annotations

from bot.sentences import asking_part, asking_weights, asks, split_sentences
from bot.textnorm import normalise


def _texts(text: str, breaks=()) -> list:
    return [s.text for s in split_sentences(text, breaks)]


def test_chinese_sentences_end_at_full_stops_exclamations_and_question_marks():
    text = "我在厂里干了八年，上个月被辞退了。工资也没结清！现在能领失业金吗？谢谢"
    assert _texts(text) == ["我在厂里干了八年，上个月被辞退了。", "工资也没结清！", "现在能领失业金吗？", "谢谢"]


def test_offsets_point_into_the_text():
    text = "I lost my job in May.  What can I claim now?"
    sentences = split_sentences(text)
    assert [text[s.start:s.end] for s in sentences] == [s.text for s in sentences]
    assert sentences[1].start == text.index("What")


def test_chinese_as_the_normaliser_leaves_it_half_width_marks_and_ellipses():
    # NFKC folds ？ to ? and …… to ......; a "." before a Chinese character is a Chinese full stop.
    text = normalise("工资也没结清……现在能领失业金吗？我没有社保卡.怎么办").text
    assert _texts(text) == ["工资也没结清......", "现在能领失业金吗?", "我没有社保卡.", "怎么办"]


def test_english_sentences_keep_abbreviations_and_decimals_whole():
    text = "I worked for Mr. Smith for 3.5 years, e.g. on nights. He let me go! What can I claim now? Thanks."
    assert _texts(text) == ["I worked for Mr. Smith for 3.5 years, e.g. on nights.", "He let me go!",
                            "What can I claim now?", "Thanks."]


def test_a_line_break_ends_a_sentence_without_a_mark_in_both_languages():
    zh = normalise("老家在农村\n交了十年新农合\n请问住院怎么报销")
    assert _texts(zh.text, zh.breaks) == ["老家在农村", "交了十年新农合", "请问住院怎么报销"]
    en = normalise("Dear sir\r\nI was injured at work last year\n\nhow do I claim compensation")
    assert _texts(en.text, en.breaks) == ["Dear sir", "I was injured at work last year", "how do I claim compensation"]
    # Without the breaks, an unpunctuated letter is one sentence.
    assert len(split_sentences(en.text)) == 1


def test_stray_marks_join_the_sentence_before_them():
    assert _texts("Is this right?!  ?? ok") == ["Is this right?!  ??", "ok"]
    assert _texts("") == [] and _texts("。。。") == []


def test_question_words_make_a_sentence_ask_in_both_languages():
    for sentence in ("能不能补缴", "退休金一个月多少", "还要交几年", "去哪里办", "什么时候到账", "请问需要什么材料",
                     "how long can I get it", "Can I still apply", "I would like to know where to apply",
                     "what happens to my pension"):
        assert asks(sentence), sentence
    for sentence in ("我在厂里干了八年", "上个月公司倒闭了", "我干了十几年", "I worked at the plant for eight years",
                     "My husband passed away in March", "He was canning fruit"):
        assert not asks(sentence), sentence


def test_asking_sentences_weigh_over_the_story_and_the_end_of_the_letter_counts():
    sentences = ["我在厂里干了八年。", "上个月被辞退了。", "现在能领失业金吗？", "谢谢。"]
    weights = asking_weights(sentences)
    assert weights[2] > weights[3] > weights[0] == weights[1] == 0
    # A question mark and a question word count each; the last sentence gets more than the one before.
    assert asking_weights(["a story.", "can I apply?"]) == [0.25, 2.5]
    assert asking_weights(["one.", "two.", "three."]) == [0.0, 0.25, 0.5]


def test_the_asking_part_is_the_asking_sentences_or_else_the_last_one():
    story_then_question = split_sentences("I was laid off in May. My wife is ill. How long can I get benefit? Thanks.")
    weights = asking_weights([s.text for s in story_then_question])
    assert asking_part(story_then_question, weights) == ([2], [0, 1, 3])
    no_question = split_sentences("我被辞退了。公司不给赔偿。我想申请失业金")
    assert asking_part(no_question, asking_weights([s.text for s in no_question])) == ([2], [0, 1])
