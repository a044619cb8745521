"""Normalisation, language detection and mixed-text segmentation (pure functions)."""
import pytest

from bot.langdetect import EN, ZH, Detection, choose_language, detect_language
from bot.segment import segment
from bot.textnorm import normalise


class TestNormalise:
    def test_traditional_becomes_simplified(self):
        assert normalise("失業金怎麼申請").text == "失业金怎么申请"

    def test_full_width_letters_and_digits_fold(self):
        assert normalise("ＡＢＣ１２３").text == "ABC123"

    def test_control_and_zero_width_characters_are_dropped(self):
        assert normalise("医保\x00卡\u200b丢了\x1b").text == "医保 卡丢了"

    def test_terminal_colour_codes_are_dropped_whole(self):
        assert normalise("\x1b[31m失业金\x1b[0m").text == "失业金"
        assert normalise("\x00\x07\x1b[31m\x7f").has_words is False

    def test_white_space_collapses(self):
        assert normalise("  养老金 \n\t 多少  ").text == "养老金 多少"

    @pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "?!。。", "\x00\x01", None])
    def test_no_words(self, text):
        assert normalise(text).has_words is False

    @pytest.mark.parametrize("text", ["15", "a", "低保", "ok 👍"])
    def test_words(self, text):
        assert normalise(text).has_words is True

    def test_long_message_is_cut_and_says_so(self):
        result = normalise("很" * 10_000, max_chars=2000)
        assert len(result.text) == 2000
        assert result.truncated and result.original_length == 10_000

    def test_short_message_is_not_marked_cut(self):
        assert normalise("你好").truncated is False


class TestDetectLanguage:
    @pytest.mark.parametrize("text", ["失业金怎么领", "我的pension什么时候到账", "外国人在上海交social insurance吗",
                                      "養老金"])
    def test_chinese(self, text):
        assert detect_language(text) == Detection(ZH)

    @pytest.mark.parametrize("text", ["how do I claim unemployment", "Can I get 低保?", "my 社保卡 is lost"])
    def test_english(self, text):
        assert detect_language(text).code == EN

    @pytest.mark.parametrize("text", ["15", "😀", "...", ""])
    def test_no_evidence(self, text):
        assert detect_language(text).code is None

    @pytest.mark.parametrize("text,code", [("English please", EN), ("can you speak Chinese", ZH),
                                           ("请说英文", EN), ("用中文回答", ZH)])
    def test_explicit_request(self, text, code):
        found = detect_language(text)
        assert found.code == code and found.explicit

    def test_a_lone_ok_does_not_switch_a_chinese_conversation(self):
        assert choose_language(detect_language("ok"), ZH) == ZH

    @pytest.mark.parametrize("text", ["m", "31m", "ID 5"])
    def test_a_fragment_of_latin_letters_does_not_switch_a_chinese_conversation(self, text):
        assert choose_language(detect_language(text), ZH) == ZH

    def test_a_lone_hello_starts_an_english_conversation(self):
        assert choose_language(detect_language("hello"), None) == EN

    def test_digits_keep_the_current_language(self):
        assert choose_language(detect_language("15"), EN) == EN

    def test_a_full_sentence_switches(self):
        assert choose_language(detect_language("what about my pension"), ZH) == EN


class TestSegment:
    def test_mixed_text_keeps_english_words_whole_and_drops_spaces(self):
        words = [w for w, _ in segment("我的 pension 怎么领")]
        assert "pension" in words
        assert all(w.strip() for w in words)

    def test_offsets_point_into_the_text(self):
        text = "北京 social insurance 怎么交2024年"
        for word, start in segment(text):
            assert text[start:start + len(word)] == word

    def test_domain_words_stay_whole_with_the_user_dictionary(self):
        from bot.segment import load_user_dictionary
        from core.settings import ROOT
        load_user_dictionary(ROOT / "data/lexicons/jieba_words.txt")
        assert "灵活就业" in [w for w, _ in segment("灵活就业怎么交社保")]

    def test_punctuation_only_gives_no_words(self):
        assert segment("?!,。") == []


def test_the_tokenizer_gives_one_token_when_there_are_no_words():
    from rasa.shared.nlu.training_data.message import Message

    from bot.components.tokenizer import MixedTokenizer

    tokenizer = MixedTokenizer(MixedTokenizer.get_default_config())
    for text in ("？？？", "😭🙏", ""):
        tokens = tokenizer.tokenize(Message(data={"text": text}), "text")
        assert len(tokens) == 1
    words = tokenizer.tokenize(Message(data={"text": "我的pension什么时候到 please"}), "text")
    assert "pension" in [t.text for t in words] and " " not in [t.text for t in words]
