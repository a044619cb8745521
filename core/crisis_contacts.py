"""The crisis lines (data/crisis_contacts.yml, under RENBEN_DATA_DIR when set), read here only, for
every process that gives them: the crisis response and the handoff action (actions/), and the desk
when a claimant in the queue writes in crisis (handoff/workers.py).

`load()` reads and checks the file (cached per file; a missing or broken file raises OSError,
ValueError or yaml.YAMLError, and no caller may swallow it silently: a crisis response must not go
out without numbers unnoticed); `in_one_line()` renders them for a sentence.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import yaml

from core.settings import current

FILE_NAME = "crisis_contacts.yml"
DEFAULT_DATA = Path(__file__).resolve().parents[1] / "data"


def load(directory: Optional[Union[str, Path]] = None) -> List[Dict[str, Any]]:
    """The configured crisis contacts, each with `number`, `name` and `when` per language."""
    folder = Path(directory) if directory else current().data_dir
    return _read(folder / FILE_NAME)


@lru_cache(maxsize=8)
def _read(path: Path) -> List[Dict[str, Any]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    contacts = document.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        raise ValueError(f"{path}: `contacts:` must be a non-empty list")
    for index, contact in enumerate(contacts):
        if not isinstance(contact, dict) or not contact.get("number") or not isinstance(contact.get("name"), dict):
            raise ValueError(f"{path}: contact {index + 1} needs a `number` and a `name` per language")
    return contacts


def in_one_line(language: str, directory: Optional[Union[str, Path]] = None) -> str:
    """The lines in one line, e.g. "12356 (全国统一心理援助热线)；120 (急救电话)；110 (报警电话)"."""
    separator = "；" if language == "zh" else "; "
    return separator.join(f"{c['number']} ({c['name'].get(language) or c['name']['zh']})" for c in load(directory))
