"""What the desk tells claimants, in their language: the responses of bot/domain/handoff.yml,
the same words the handoff action uses. Load once with `load()` and pass the result down.

The variation rule is the domain's, in core/phrasebook.py (shared with actions/phrasebook.py): the
variation whose `condition` is `slot language = <language>`, else the one without a condition.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import yaml

from core import phrasebook

DOMAIN_FILE = Path(__file__).resolve().parents[1] / "bot" / "domain" / "handoff.yml"
#: The knowledge-base answers' words (source lines), for the agent's suggested reply (handoff/suggestion.py).
TOPICS_FILE = DOMAIN_FILE.with_name("topics.yml")


class Phrases:
    def __init__(self, responses: Mapping[str, List[Dict[str, Any]]]):
        self.responses = dict(responses)

    def say(self, name: str, language: Optional[str], **values: object) -> str:
        """The response `name` in `language` (the default variation when there is none)."""
        return phrasebook.fill(self._variation(name, language).get("text", ""), values)

    def buttons(self, name: str, language: Optional[str]) -> List[Dict[str, str]]:
        """The buttons of the response `name` in `language`, as {title, payload}."""
        return [{"title": str(b["title"]), "payload": str(b["payload"])}
                for b in self._variation(name, language).get("buttons") or []]

    def _variation(self, name: str, language: Optional[str]) -> Dict[str, Any]:
        return phrasebook.variation(self.responses, name, language or "")


def load(path: Path = DOMAIN_FILE) -> Phrases:
    return Phrases(yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {})
