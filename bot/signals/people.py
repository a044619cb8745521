"""The people a message is about, by role (spouse, child, parent, ...): the `people:` section of
each language's classes.yml (bot/signals/grammar.py).

Several needs spread over several people is what makes a situation compounded: a carer whose
mother has dementia, whose husband lost his job and whose child is ill needs a person, where one
claimant asking about two benefits does not. The detector counts the roles named
(bot/signals/detector.py); this module only finds them. Pure: text in, roles out.
"""
from __future__ import annotations

import re
from typing import Dict, Mapping, Pattern, Tuple

Roles = Mapping[str, Tuple[str, ...]]


class People:
    """Finds the roles of one grammar's `people` sections, per language."""

    def __init__(self, people: Mapping[str, Roles]):
        self._patterns: Dict[str, Dict[str, Pattern[str]]] = {}
        for language, roles in people.items():
            self._patterns[language] = {role: _pattern(words, language) for role, words in roles.items()}

    def named(self, text: str, language: str) -> Dict[str, str]:
        """{role: the first word that names it} in `text` (already normalised and lower-cased)."""
        found: Dict[str, str] = {}
        for role, pattern in self._patterns.get(language, {}).items():
            match = pattern.search(text)
            if match:
                found[role] = match.group(0)
        return found


def _pattern(words: Tuple[str, ...], language: str) -> Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    if language == "zh":
        return re.compile(alternatives)
    return re.compile(rf"(?<![a-z0-9'-])(?:{alternatives})(?![a-z0-9-])")
