"""The topic-cue lexicon: names of benefits, schemes and procedures, by the intent they belong
to, and how they are found in a text.

Trainers keep them in `data/lexicons/topics/<language>.yml`:

    language: en
    topics:
      ask_work_injury:
        - industrial injuries disablement benefit
        - workers' comp

A claimant's long letter often names its benefit once, in its own country's words ("Carer's
Allowance", "SSDI", "长护险"), among many words about their life. `TopicCues.vector()` turns each
topic named in a text into one feature, which the intent classifier weighs beside the words
(bot/components/topic_cues.py). Matching is pure: case-insensitive, on whole words for Latin
letters and digits, on the characters themselves for Chinese; where two phrases overlap the
longer wins. Loading any broken file raises `TopicCueError` naming the file, line and problem.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

_INTENT = re.compile(r"^[a-z][a-z_]*$")
_LATIN = re.compile(r"[a-z0-9]")


class TopicCueError(ValueError):
    """A topic-cue file cannot be used. `str()` reads `<file>:<line>: <problem>`."""

    def __init__(self, path: Path, line: Optional[int], problem: str):
        self.path, self.line, self.problem = path, line, problem
        super().__init__(f"{path}:{line}: {problem}" if line else f"{path}: {problem}")


class TopicCues:
    """Every language's phrases, and the fixed order of topics in the feature vector."""

    def __init__(self, phrases: Iterable[Tuple[str, str]]) -> None:
        unique = {(" ".join(phrase.lower().split()), topic) for phrase, topic in phrases if phrase.strip()}
        #: (phrase, topic), lower-cased, longest first: alternation tries them in this order,
        #: so the longer of two overlapping phrases wins.
        self.phrases: Tuple[Tuple[str, str], ...] = tuple(sorted(unique, key=lambda pair: (-len(pair[0]), pair)))
        self.topics: Tuple[str, ...] = tuple(sorted({topic for _, topic in self.phrases}))
        self._topic_of = dict(self.phrases)
        self._pattern = re.compile("|".join(_regex(phrase) for phrase, _ in self.phrases) or r"(?!x)x")

    def to_dict(self) -> Dict[str, List[List[str]]]:
        return {"phrases": [list(pair) for pair in self.phrases]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[Sequence[str]]]) -> "TopicCues":
        return cls((phrase, topic) for phrase, topic in data["phrases"])

    def matches(self, text: str) -> Dict[str, List[str]]:
        """{topic: [phrases found, in order]} for `text`."""
        found: Dict[str, List[str]] = {}
        for match in self._pattern.finditer(text.lower()):
            phrase = " ".join(match.group(0).split())
            found.setdefault(self._topic_of[phrase], []).append(phrase)
        return found

    def vector(self, text: str) -> List[float]:
        """1.0 for every topic named in `text`, in the order of `topics`."""
        named = self.matches(text)
        return [1.0 if topic in named else 0.0 for topic in self.topics]


def _regex(phrase: str) -> str:
    """The phrase as a regex, held to whole words where it begins or ends in Latin letters."""
    body = r"\s+".join(re.escape(word) for word in phrase.split())
    before = r"(?<![a-z0-9'’])" if _LATIN.match(phrase[0]) else ""
    after = r"(?![a-z0-9'’])" if _LATIN.match(phrase[-1]) else ""
    return before + body + after


def load_topic_cues(directory: Path) -> TopicCues:
    """Every `<language>.yml` under `directory`. A phrase may name one topic only."""
    if not directory.is_dir():
        raise TopicCueError(directory, None, "no such folder")
    pairs: List[Tuple[str, str]] = []
    owner: Dict[str, Tuple[str, Path]] = {}
    for path in sorted(directory.glob("*.yml")):
        for phrase, topic, line in _read(path):
            key = " ".join(phrase.lower().split())
            if key in owner and owner[key][0] != topic:
                raise TopicCueError(path, line, f"'{phrase}' is already a cue for {owner[key][0]} "
                                                f"in {owner[key][1].name}; a phrase names one topic")
            owner[key] = (topic, path)
            pairs.append((key, topic))
    return TopicCues(pairs)


def _read(path: Path) -> Iterable[Tuple[str, str, int]]:
    try:
        document = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        raise TopicCueError(path, line, f"not valid YAML ({error.problem})") from None
    if not isinstance(document, dict) or not isinstance(document.get("topics"), dict):
        raise TopicCueError(path, 1, "the file needs a `topics:` mapping of intent names to phrase lists")
    language = document.get("language")
    if language is not None and language != path.stem:
        raise TopicCueError(path, 1, f"`language: {language}` does not match the file name {path.name}")
    topics = document["topics"]
    for topic, phrases in topics.items():
        line = topics.lc.key(topic)[0] + 1
        if not isinstance(topic, str) or not _INTENT.match(topic):
            raise TopicCueError(path, line, f"'{topic}' is not an intent name (lower case and _)")
        if not isinstance(phrases, list) or not phrases:
            raise TopicCueError(path, line, f"{topic} needs a list of phrases")
        for index, phrase in enumerate(phrases):
            at = phrases.lc.item(index)[0] + 1
            if not isinstance(phrase, str) or not phrase.strip():
                raise TopicCueError(path, at, f"an empty or non-text phrase under {topic}")
            yield phrase, topic, at
