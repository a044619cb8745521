"""The one rule for picking the claimant's words from the domain's responses, shared by the
actions (actions/phrasebook.py) and the desk (handoff/phrases.py), which do not import each other.

Every phrase a claimant reads lives in `bot/domain/*.yml` with a Chinese default and an English
variation (`condition: slot language = en`): the variation whose conditions all hold for the
language is chosen, else the one without a condition.
"""

from __future__ import annotations

import string
from typing import Any, Dict, List, Mapping


class _KeepMissing(Dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def variation(responses: Mapping[str, List[Dict[str, Any]]], name: str, language: str) -> Dict[str, Any]:
    """The response `name`'s variation for `language`; raises KeyError when there is none."""
    variations = responses.get(name)
    if not variations:
        raise KeyError(f"no response {name!r} in the domain")
    default = None
    for candidate in variations:
        conditions = candidate.get("condition") or []
        if not conditions:
            default = default or candidate
        elif all(_holds(condition, language) for condition in conditions):
            return candidate
    if default is None:
        raise KeyError(f"response {name!r} has no variation for {language!r}")
    return default


def fill(text: str, values: Mapping[str, Any]) -> str:
    """`text` with its {placeholders} filled from `values`; a missing one is left as written."""
    return string.Formatter().vformat(text, (), _KeepMissing(values))


def _holds(condition: Mapping[str, Any], language: str) -> bool:
    return (
        condition.get("type") == "slot" and condition.get("name") == "language" and condition.get("value") == language
    )
