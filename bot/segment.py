"""Splitting mixed Chinese-English text into words: a pure function, no Rasa.

Rasa's JiebaTokenizer hands the whole string to jieba, which keeps spaces as tokens and splits
English words inside Chinese text badly (RasaHQ/rasa#7910). Here the text is cut into runs first:
runs of Chinese characters go to jieba, runs of Latin letters and digits are words as they are,
and spaces and punctuation are dropped. Offsets always point into the text given.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

import jieba

_RUN = re.compile(
    r"(?P<cjk>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)"
    r"|(?P<word>[A-Za-z0-9]+(?:['’.\-][A-Za-z0-9]+)*)"
)

_loaded_dictionaries: set[str] = set()


def load_user_dictionary(path: Optional[str | Path]) -> None:
    """Adds a trainer-kept jieba dictionary (one word a line) once per process."""
    if not path:
        return
    key = str(Path(path).resolve())
    if key in _loaded_dictionaries or not Path(key).exists():
        return
    jieba.load_userdict(key)
    _loaded_dictionaries.add(key)


def segment(text: str) -> List[Tuple[str, int]]:
    """(word, start offset) for every word in `text`, in order."""
    words: List[Tuple[str, int]] = []
    for run in _RUN.finditer(text):
        if run.lastgroup == "cjk":
            words.extend(_jieba_words(run.group(), run.start()))
        else:
            words.append((run.group(), run.start()))
    return words


def _jieba_words(run: str, offset: int) -> Iterable[Tuple[str, int]]:
    for word, start, _end in jieba.tokenize(run):
        if word.strip():
            yield word, offset + start
