"""The crisis lines of data/crisis_contacts.yml (under RENBEN_DATA_DIR when set), read here only:
the crisis response lists them (actions/crisis.py) and the handoff names them in one line when
nobody is on duty (actions/handoff.py).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from actions import knowledge

FILE_NAME = "crisis_contacts.yml"


def load(directory: Optional[str] = None) -> List[Dict[str, Any]]:
    """The configured contacts (read once, cached), each with `number` and `name` and `when` by
    language. A missing or broken file raises OSError, ValueError or yaml.YAMLError: the caller
    must not swallow it silently."""
    contacts = knowledge.load_yaml(FILE_NAME, directory).get("contacts")
    if not isinstance(contacts, list) or not contacts:
        raise ValueError(f"{FILE_NAME}: `contacts:` must be a non-empty list")
    return contacts


def in_one_line(language: str, directory: Optional[str] = None) -> str:
    """The contacts in one line, e.g. "12356 (全国统一心理援助热线)；120 (急救电话)；110 (报警电话)"."""
    separator = "；" if language == "zh" else "; "
    return separator.join(f"{c['number']} ({c['name'].get(language) or c['name']['zh']})"
                          for c in load(directory))
