"""Sentences of a long message, and which of them ask: pure functions, no Rasa.

A claimant's letter tells a story first and asks last: "我在厂里干了八年……上个月被辞退了。现在
能领失业金吗？". Read whole, the story's words outvote the question. `split_sentences` cuts the
(normalised) text at Chinese 。！？…, English . ! ? followed by a space, and at the line breaks
the normaliser saw (`bot/textnorm.py` `Normalised.breaks`); `asking_weights` says how much each
sentence asks: a question mark, a question word (怎么, 能不能, 吗, how, can I, ...) or a request
("请问", "please tell me"), and the letter's end, where the question usually is.
`bot/components/question_focus.py` classifies the asking sentences and weighs them over the story.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Sequence, Tuple

#: A sentence ends after these (and any closing quotes or brackets that follow them).
_CJK_END = "。！？!?；…"
_CLOSERS = "\"'”’)）」』】"
# English "." ends a sentence when a space or the end follows, and it is not an abbreviation's dot.
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "no", "vs", "etc", "e.g", "i.e", "jan", "feb",
                            "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx",
                            "u.s", "u.k", "a.m", "p.m", "dept", "govt", "inc", "ltd", "jr", "sr"})
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_CJK = re.compile(r"[\u3400-\u9fff]")

#: Chinese question words and requests; any one makes a sentence ask.
_ZH_ASKING = re.compile(
    r"怎么|怎样|如何|能不能|能否|可不可以|可否|可以不|是不是|是否|有没有|会不会|要不要|算不算|该不该|行不行|"
    r"吗|呢|多少|多久|多长|(?<![十百千万0-9])几(?:年|个月|岁|天|号|点)|什么时候|何时|哪里|哪儿|哪个|哪些|哪家|去哪|"
    r"为什么|为啥|凭什么|咋|啥|什么|请问|请帮|想问|想咨询|咨询一下|问一下|求助|求解|怎么办|该怎么")
#: English: a sentence that opens like a question, or a question word or request anywhere in it.
_EN_OPENING = re.compile(
    r"^(?:and |but |so |also |now |then |please,? )?(?:how|what|when|where|which|who|whom|whose|why|"
    r"can|could|may|might|should|shall|will|would|do|does|did|is|are|am|was|were|have|has|had|"
    r"must|any ?one|is there|are there)\b", re.IGNORECASE)
_EN_ASKING = re.compile(
    r"\b(?:how (?:do|can|long|much|many|does|should|would|to)|what (?:do|can|should|happens|are|is)|"
    r"am i (?:eligible|entitled|able)|can i|could i|do i|should i|will i|is it possible|"
    r"i (?:want|need|would like|'d like) to know|i (?:am|'m) wondering|i wonder|wondering (?:if|whether)|"
    r"please (?:tell|advise|explain|help|let me know)|any advice|advise me|my question is|"
    r"what are my options|where (?:do|can|should) i|who (?:do|should|can) i)\b", re.IGNORECASE)

#: How much a sentence asks: a question mark, a question word, and the letter's last sentences.
QUESTION_MARK = 1.0
QUESTION_WORD = 1.0
LAST_SENTENCE = 0.5
NEXT_TO_LAST = 0.25


@dataclass(frozen=True)
class Sentence:
    """`text` is `source[start:end]`, stripped."""

    start: int
    end: int
    text: str


def split_sentences(text: str, breaks: Sequence[int] = ()) -> List[Sentence]:
    """The sentences of `text`, in order, with their offsets; `breaks` are offsets where the
    claimant started a new line. A text without any end mark is one sentence."""
    cuts = sorted({b for b in breaks if 0 < b < len(text)})
    ends: List[int] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in _CJK_END or (char == "." and _ends_english_sentence(text, i)):
            j = i + 1
            while j < len(text) and (text[j] in _CJK_END or text[j] in _CLOSERS or text[j] == "."):
                j += 1
            ends.append(j)
            i = j
        else:
            i += 1
    sentences: List[Sentence] = []
    start = 0
    for end in sorted(set(ends) | set(cuts) | {len(text)}):
        piece = text[start:end]
        stripped = piece.strip()
        if stripped and any(c.isalnum() for c in stripped):
            offset = start + (len(piece) - len(piece.lstrip()))
            sentences.append(Sentence(offset, offset + len(stripped), stripped))
        elif stripped and sentences:  # a stray mark ("?!") belongs to the sentence before it
            last = sentences[-1]
            new_end = start + len(piece.rstrip())
            sentences[-1] = Sentence(last.start, new_end, text[last.start:new_end])
        start = end
    return sentences


def _ends_english_sentence(text: str, i: int) -> bool:
    """A "." at `i` ends a sentence: the end, or a space follows, and the word before it is no
    abbreviation or number ("Mr.", "e.g.", "3.5")."""
    after = text[i + 1:i + 2]
    if after and _CJK.match(after):  # "我失业了.能领吗", "……" folded to "...": a Chinese full stop
        return True
    if after and not after.isspace() and after not in _CLOSERS:
        return False
    word = _WORD_BEFORE.search(text[max(0, i - 12):i])
    return not (word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS)


def asks(sentence: str) -> bool:
    """True when the sentence asks something: a question mark, or a question word or request."""
    return _question_mark(sentence) or _question_word(sentence)


def _question_mark(sentence: str) -> bool:
    return "?" in sentence or "？" in sentence


def _question_word(sentence: str) -> bool:
    if _CJK.search(sentence) and _ZH_ASKING.search(sentence):
        return True
    return bool(_EN_OPENING.search(sentence.lstrip("\"'“‘(（ ")) or _EN_ASKING.search(sentence))


def asking_weights(sentences: Sequence[str]) -> List[float]:
    """How much each sentence asks (0 for story): a question mark and a question word count
    `QUESTION_MARK` and `QUESTION_WORD`; the last and next-to-last sentences of the letter get
    `LAST_SENTENCE` and `NEXT_TO_LAST` more, since that is where a letter's question usually is."""
    weights = []
    count = len(sentences)
    for index, sentence in enumerate(sentences):
        weight = QUESTION_MARK * _question_mark(sentence) + QUESTION_WORD * _question_word(sentence)
        if index == count - 1:
            weight += LAST_SENTENCE
        elif index == count - 2:
            weight += NEXT_TO_LAST
        weights.append(weight)
    return weights


def asking_part(sentences: Sequence[Sentence], weights: Sequence[float], *,
                minimum: float = QUESTION_WORD) -> Tuple[List[int], List[int]]:
    """(indexes of the asking sentences, indexes of the story), by `weights`. A sentence asks
    when its weight reaches `minimum`; a letter where none does asks in its last sentence."""
    asking = [i for i, w in enumerate(weights) if w >= minimum]
    if not asking and sentences:
        asking = [len(sentences) - 1]
    story = [i for i in range(len(sentences)) if i not in asking]
    return asking, story
