"""The crisis lines (data/crisis_contacts.yml), loaded one way for every process that gives them:
the crisis response and the handoff action (actions/), and the desk when a claimant in the queue
writes in crisis (handoff/server.py).

`load()` reads and checks the file (a missing or broken file raises: no caller may swallow it, a
crisis response must not go out without numbers unnoticed); `one_line()` renders them for a sentence.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Sequence

import yaml

CONTACTS_FILE = Path(__file__).resolve().parents[1] / "data" / "crisis_contacts.yml"


@lru_cache(maxsize=4)
def load(path: Path = CONTACTS_FILE) -> List[Dict[str, Any]]:
    """The configured crisis contacts, each with `number`, `name` and `when` per language."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    contacts = document.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        raise ValueError(f"{path}: `contacts:` must be a non-empty list")
    for index, contact in enumerate(contacts):
        if not isinstance(contact, dict) or not contact.get("number") or not isinstance(contact.get("name"), dict):
            raise ValueError(f"{path}: contact {index + 1} needs a `number` and a `name` per language")
    return contacts


def one_line(contacts: Sequence[Dict[str, Any]], language: str) -> str:
    """The lines in one line, e.g. "12356 (全国统一心理援助热线)；120 (急救电话)"."""
    separator = "；" if language == "zh" else "; "
    return separator.join(f"{c['number']} ({c['name'].get(language) or c['name']['zh']})" for c in contacts)
