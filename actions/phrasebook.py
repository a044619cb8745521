"""Bilingual phrases for actions, taken from the domain's responses.

Every phrase a claimant reads lives in `bot/domain/*.yml` with a Chinese default and an English
variation (`condition: slot language = en`). Actions that compose a message from several
phrases pick the variation here rather than keeping their own copies of the words.
"""
from __future__ import annotations

import string
from typing import Any, Dict, List, Mapping, Optional

from core.language_codes import LANGUAGES, ZH


class _KeepMissing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Phrasebook:
    def __init__(self, responses: Mapping[str, List[Dict[str, Any]]], language: Optional[str]):
        self._responses = responses
        self.language = language if language in LANGUAGES else ZH

    @classmethod
    def from_domain(cls, domain: Mapping[str, Any], language: Optional[str]) -> "Phrasebook":
        return cls(domain.get("responses", {}), language)

    def variation(self, name: str) -> Dict[str, Any]:
        """The response variation for this language: the matching condition, else the default."""
        variations = self._responses.get(name)
        if not variations:
            raise KeyError(f"no response {name!r} in the domain")
        default = None
        for variation in variations:
            conditions = variation.get("condition") or []
            if not conditions:
                default = default or variation
            elif all(_holds(c, self.language) for c in conditions):
                return variation
        if default is None:
            raise KeyError(f"response {name!r} has no variation for {self.language!r}")
        return default

    def say(self, name: str, **values: Any) -> str:
        text = self.variation(name).get("text", "")
        return string.Formatter().vformat(text, (), _KeepMissing(values))

    def buttons(self, name: str) -> List[Dict[str, str]]:
        return list(self.variation(name).get("buttons") or [])


def _holds(condition: Mapping[str, Any], language: str) -> bool:
    return (
        condition.get("type") == "slot"
        and condition.get("name") == "language"
        and condition.get("value") == language
    )
