"""Bilingual phrases for actions, taken from the domain's responses.

Every phrase a claimant reads lives in `bot/domain/*.yml` with a Chinese default and an English
variation (`condition: slot language = en`). Actions that compose a message from several
phrases pick the variation here (the rule is core/phrasebook.py's) rather than keeping their own
copies of the words.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from core import phrasebook
from core.language_codes import LANGUAGES, ZH


class Phrasebook:
    def __init__(self, responses: Mapping[str, List[Dict[str, Any]]], language: Optional[str]):
        self._responses = responses
        self.language = language if language in LANGUAGES else ZH

    @classmethod
    def from_domain(cls, domain: Mapping[str, Any], language: Optional[str]) -> "Phrasebook":
        return cls(domain.get("responses", {}), language)

    def variation(self, name: str) -> Dict[str, Any]:
        """The response variation for this language: the matching condition, else the default."""
        return phrasebook.variation(self._responses, name, self.language)

    def say(self, name: str, **values: Any) -> str:
        return phrasebook.fill(self.variation(name).get("text", ""), values)

    def buttons(self, name: str) -> List[Dict[str, str]]:
        return list(self.variation(name).get("buttons") or [])
