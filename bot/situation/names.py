"""Places and benefits a claimant names, from trainers' lists: the name lexicon, and finding names.

Trainers keep two files under `data/lexicons/situation/`:

    places.yml     provinces and their cities, in Chinese and English; `strict` names
    benefits.yml   benefit names, by language

A Chinese place name may carry its suffix ("广州市", "广东省", "广西壮族自治区"); the value is the
short name. A `strict` name is also an everyday word or another name ("中山" is a road and a
university, "德州" is Texas, "开封" is "to unseal"): it counts only as "中山市" or after a place
word ("在中山", "回中山"). A name that is both a province and a city ("吉林") is the province unless
written "吉林市". English names match on whole words, case-insensitively; a name written in
capitals in the list ("JSA") only in capitals. A benefit's value is its spelling in the list. A
broken file raises `NameLexiconError` naming the file, line and problem.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from bot.situation.fact import BENEFIT, CITY, PROVINCE, Fact

PLACES_FILE, BENEFITS_FILE = "places.yml", "benefits.yml"
_ZH_PROVINCE_SUFFIX = r"(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)?"
_ZH_CITY_SUFFIX = "市"
# Before a strict name: where the claimant is, comes from, goes to. After it: what is there.
_PLACE_WORD_BEFORE = re.compile(r"(?:在|去|回|来|到|从|住|于|是|户口|户籍|老家)$")
_PLACE_WORD_AFTER = re.compile(r"^(?:市|户口|户籍|参保|社保|医保|当地|本地|这边|那边|人社|社保局|工作|上班|打工|的社保)")


class NameLexiconError(ValueError):
    """A name file cannot be used. `str()` reads `<file>:<line>: <problem>`."""

    def __init__(self, path: Path, line: Optional[int], problem: str):
        self.path, self.line, self.problem = path, line, problem
        super().__init__(f"{path}:{line}: {problem}" if line else f"{path}: {problem}")


@dataclass(frozen=True)
class Name:
    """One way of writing a place or a benefit, and what it means."""
    written: str  # as the list has it
    entity: str   # CITY, PROVINCE or BENEFIT
    value: str
    strict: bool = False


class NameLexicon:
    """Every name, and one matcher for each script."""

    def __init__(self, names: Iterable[Name]) -> None:
        self.names: Tuple[Name, ...] = tuple(names)
        self._chinese: Dict[str, List[Name]] = {}
        self._latin: Dict[str, Name] = {}
        self._capitals: Dict[str, Name] = {}
        for name in self.names:
            if re.search(r"[\u4e00-\u9fff]", name.written):
                self._chinese.setdefault(name.written, []).append(name)
            elif name.written.isupper():
                self._capitals.setdefault(name.written, name)
            else:
                self._latin.setdefault(" ".join(name.written.lower().split()), name)
        provinces = [w for w, found in self._chinese.items() if any(n.entity == PROVINCE for n in found)]
        cities = [w for w, found in self._chinese.items() if w not in provinces and found[0].entity == CITY]
        benefits = [w for w, found in self._chinese.items() if found[0].entity == BENEFIT]
        self._zh = re.compile(f"(?P<province>{trie_pattern(provinces)}){_ZH_PROVINCE_SUFFIX}"
                              f"|(?P<city>{trie_pattern(cities)})(?:{_ZH_CITY_SUFFIX})?|(?P<benefit>{trie_pattern(benefits)})")
        self._en = re.compile(rf"(?<![\w'’-])(?:{trie_pattern(list(self._latin), spaces=True)})(?:s|'s|’s)?(?![\w-])"
                              if self._latin else r"(?!x)x")
        self._caps = re.compile(rf"(?<![\w-])(?:{trie_pattern(list(self._capitals))})s?(?![\w-])"
                                if self._capitals else r"(?!x)x")

    def to_dict(self) -> Dict[str, List[List[Any]]]:
        return {"names": [[n.written, n.entity, n.value, n.strict] for n in self.names]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[Sequence[Any]]]) -> "NameLexicon":
        return cls(Name(str(w), str(e), str(v), bool(s)) for w, e, v, s in data["names"])

    def find(self, text: str, lowered: str) -> Iterator[Fact]:
        """Every place and benefit named in `text` (`lowered`: the same, in lower case)."""
        for match in self._zh.finditer(text):
            written = match.group("province") or match.group("city") or match.group("benefit")
            candidates = self._chinese[written]
            suffix = text[match.start() + len(written):match.end()]
            name = _choose(candidates, suffix)
            if name.strict and not suffix and not (_PLACE_WORD_BEFORE.search(text[max(0, match.start() - 2):match.start()])
                                                   or _PLACE_WORD_AFTER.match(text[match.end():match.end() + 4])):
                continue
            yield Fact(name.entity, name.value, match.start(), match.end(), text[match.start():match.end()])
        for match in self._en.finditer(lowered):
            found = re.sub(r"(?:'s|’s|s)$", "", " ".join(match.group().split()))
            name = self._latin.get(found) or self._latin.get(" ".join(match.group().split()))
            if name is None:
                continue
            yield Fact(name.entity, name.value, match.start(), match.end(), text[match.start():match.end()])
        for match in self._caps.finditer(text):
            name = self._capitals.get(match.group()) or self._capitals.get(match.group()[:-1])
            if name is not None:
                yield Fact(name.entity, name.value, match.start(), match.end(), match.group())


def _choose(candidates: List[Name], suffix: str) -> Name:
    """Of the names written alike, the city when "市" follows, else the province, else the first."""
    if suffix == _ZH_CITY_SUFFIX:
        for name in candidates:
            if name.entity == CITY:
                return name
    return next((n for n in candidates if n.entity == PROVINCE), candidates[0])


def trie_pattern(words: Sequence[str], *, spaces: bool = False) -> str:
    """A regex matching any of `words`, longest first, factored by common prefixes so that a long
    letter is read once, not once per name. `spaces`: a space in a word matches any white space."""
    trie: Dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: Dict[str, Any]) -> str:
        ends = "" in node
        branches = [(r"\s+" if spaces and ch == " " else re.escape(ch)) + build(child)
                    for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return build(trie) if words else r"(?!x)x"


# -------------------------------------------------------------------------------------- loading

def load_names(directory: Path) -> NameLexicon:
    """`places.yml` and `benefits.yml` under `directory`."""
    if not directory.is_dir():
        raise NameLexiconError(directory, None, "no such folder")
    return NameLexicon([*_read_places(directory / PLACES_FILE), *_read_benefits(directory / BENEFITS_FILE)])


def _load(path: Path) -> Any:
    if not path.is_file():
        raise NameLexiconError(path, None, "no such file")
    try:
        return YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        raise NameLexiconError(path, line, f"not valid YAML ({error.problem})") from None


def _english(value: Any, path: Path, line: int, what: str) -> List[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise NameLexiconError(path, line, f"{what} needs an English name (or a list of them)")
    return [" ".join(n.split()) for n in names]


def _read_places(path: Path) -> Iterator[Name]:
    document = _load(path)
    if not isinstance(document, dict) or not isinstance(document.get("provinces"), dict):
        raise NameLexiconError(path, 1, "the file needs a `provinces:` mapping of Chinese names to {en, cities}")
    strict = document.get("strict") or []
    if not isinstance(strict, list) or not all(isinstance(s, str) for s in strict):
        raise NameLexiconError(path, 1, "`strict:` must be a list of Chinese names")
    strict_names = set(strict)
    seen: Dict[str, int] = {}
    provinces = document["provinces"]
    for province, body in provinces.items():
        line = provinces.lc.key(province)[0] + 1
        if not isinstance(body, dict):
            raise NameLexiconError(path, line, f"{province} needs `en:` and, unless it is a city itself, `cities:`")
        kind = CITY if body.get("municipality") else PROVINCE
        english = _english(body.get("en"), path, line, str(province))
        for written in [province, *(body.get("aliases") or [])]:  # `strict` is for cities: a province is named as such
            yield Name(str(written), kind, str(province), kind == CITY and str(written) in strict_names)
        for written in english:
            yield Name(written, kind, english[0])
        cities = body.get("cities") or {}
        if not isinstance(cities, dict):
            raise NameLexiconError(path, line, f"`cities:` of {province} must map Chinese names to English ones")
        for city, city_english in cities.items():
            at = cities.lc.key(city)[0] + 1
            if city in seen and city != province:
                raise NameLexiconError(path, at, f"{city} is listed twice (first on line {seen[city]})")
            seen[city] = at
            names = _english(city_english, path, at, str(city))
            yield Name(str(city), CITY, str(city), str(city) in strict_names)
            for written in names:
                yield Name(written, CITY, names[0])
    unknown = strict_names - set(seen) - set(provinces)
    if unknown:
        raise NameLexiconError(path, 1, f"`strict:` names {', '.join(sorted(unknown))}, which no province lists")


def _read_benefits(path: Path) -> Iterator[Name]:
    document = _load(path)
    if not isinstance(document, dict) or not isinstance(document.get("benefits"), dict):
        raise NameLexiconError(path, 1, "the file needs a `benefits:` mapping of languages to name lists")
    benefits = document["benefits"]
    for language, names in benefits.items():
        line = benefits.lc.key(language)[0] + 1
        if not isinstance(names, list) or not names:
            raise NameLexiconError(path, line, f"{language} needs a list of benefit names")
        for index, written in enumerate(names):
            if not isinstance(written, str) or not written.strip():
                raise NameLexiconError(path, names.lc.item(index)[0] + 1, "an empty or non-text benefit name")
            clean = " ".join(written.split())
            yield Name(clean, BENEFIT, clean)
