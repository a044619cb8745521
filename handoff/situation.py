"""What a claimant has said about their own situation, read from a tracker's events (pure).

Two sources, read in the order the events happened, the latest value of each fact winning:
- the entities of the claimant's messages (`parse_data.entities`): `contribution_years`, `age`,
  `birth_year`, `gender` (male/female), `job_end` (dismissed/resigned), `city`, `province`,
  `benefit`;
- the answers to the eligibility pre-checks (bot/domain/forms.yml), as the forms' validation
  stored them (actions/eligibility_forms.py): `uf_`/`pf_contribution_years` (years),
  `uf_involuntary` (dismissed, employer_fault, resigned), `uf_registered` (yes/no),
  `uf_`/`pf_birth` ("1966-03"), `uf_`/`pf_group` (male, female_cadre, female_worker); and the
  `city` slot. A slot still holding the claimant's raw words (not yet validated) is not a fact.

Each fact keeps the message it came from: its transcript turn (counted as handoff/brief.py counts
them: every claimant and bot message) and its words, masked. A value that is not what its name
promises (an age of 300, a gender of "maybe") is left out, never guessed at.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

#: The facts, in the order a summary lists them.
FACTS = ("contribution_years", "age", "birth_year", "gender", "job_end", "registered", "city",
         "province", "benefit")
QUOTE_CHARS = 80
NAME_CHARS = 40
JOB_ENDS = ("dismissed", "employer_fault", "resigned")
_GROUP = {"male": ("male", None), "female_cadre": ("female", "cadre"), "female_worker": ("female", "worker")}
_BIRTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class Fact:
    """`name` (one of FACTS), `value`, `detail` (which pre-check a number of years is for, a
    birth month, a woman's group), where it came from (`source`: message or pre_check), and the
    claimant's message it was read from (`turn`, `quote`; None when no message precedes it)."""
    name: str
    value: Any
    source: str
    turn: Optional[int]
    quote: Optional[str]
    detail: Optional[str] = None

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def situation(events: Iterable[Any], slots: Optional[Mapping[str, Any]] = None, *,
              mask: Callable[[str], str] = lambda text: text) -> Dict[str, Fact]:
    """The facts by name (only those the claimant gave), the latest of each winning. `slots`: the
    tracker's current slots, for a pre-check answer whose slot event is not among `events`."""
    facts: Dict[str, Fact] = {}
    turn, said = -1, None  # the claimant's latest message: its turn and words
    for event in events:
        if not isinstance(event, Mapping):
            continue
        kind = event.get("event")
        if kind == "bot":
            turn += 1
        elif kind == "user":
            turn += 1
            said = (turn, _quote(event.get("text"), mask))
            parse = event.get("parse_data")
            entities = parse.get("entities") if isinstance(parse, Mapping) else None
            for entity in entities if isinstance(entities, list) else []:
                if isinstance(entity, Mapping):
                    for fact in _from_entity(entity, said, mask):
                        facts[fact.name] = fact
        elif kind == "slot":
            for fact in _from_slot(event.get("name"), event.get("value"), said or (None, None), mask):
                facts[fact.name] = fact
    for name, value in (slots or {}).items():  # answers recorded without a slot event we saw
        for fact in _from_slot(name, value, (None, None), mask):
            facts.setdefault(fact.name, fact)
    return {name: facts[name] for name in FACTS if name in facts}


def _from_entity(entity: Mapping[str, Any], said: tuple, mask: Callable[[str], str]) -> List[Fact]:
    """A fact from one entity (docs/entities.md): its value, the `month` beside a birth year, and
    the `role` employer_fault of a resignation over unpaid wages or insurance."""
    name, value = entity.get("entity"), entity.get("value")

    def fact(fact_name: str, fact_value: Any, detail: Optional[str] = None) -> List[Fact]:
        return [Fact(fact_name, fact_value, "message", said[0], said[1], detail)]

    if name == "contribution_years":
        years = _number(value, 0, 60)
        return fact(name, years) if years is not None else []
    if name == "age":
        age = _number(value, 0, 120, whole=True)
        return fact(name, age) if age is not None else []
    if name == "birth_year":
        year = _number(value, 1900, 2030, whole=True)
        month = entity.get("month")
        known = isinstance(month, int) and not isinstance(month, bool) and 1 <= month <= 12
        return fact(name, year, f"{month:02d}" if known else None) if year is not None else []
    if name == "gender" and value in ("male", "female"):
        return fact(name, value)
    if name == "job_end" and value in ("dismissed", "resigned"):
        return fact(name, "employer_fault" if value == "resigned" and entity.get("role") == "employer_fault" else value)
    if name in ("city", "province", "benefit"):
        text = _name(value, mask)
        return fact(name, text) if text else []
    return []


def _from_slot(name: Any, value: Any, said: tuple, mask: Callable[[str], str]) -> List[Fact]:
    if not isinstance(name, str) or value is None:
        return []

    def fact(fact_name: str, fact_value: Any, detail: Optional[str] = None) -> List[Fact]:
        return [Fact(fact_name, fact_value, "pre_check", said[0], said[1], detail)]

    check = {"uf": "unemployment", "pf": "pension"}.get(name[:2]) if name[2:3] == "_" else None
    field = name[3:] if check else name
    if check and field == "contribution_years":
        years = _number(value, 0, 60)
        return fact("contribution_years", years, check) if years is not None else []
    if check and field == "birth" and isinstance(value, str) and _BIRTH.fullmatch(value):
        year, month = (int(part) for part in _BIRTH.fullmatch(value).groups())
        return fact("birth_year", year, f"{month:02d}") if 1900 <= year <= 2030 and 1 <= month <= 12 else []
    if check and field == "group" and value in _GROUP:
        gender, group = _GROUP[value]
        return fact("gender", gender, group)
    if name == "uf_involuntary":
        leaving = {True: "dismissed", False: "resigned"}.get(value) if isinstance(value, bool) else value
        return fact("job_end", leaving) if leaving in JOB_ENDS else []
    if name == "uf_registered" and isinstance(value, bool):
        return fact("registered", value)
    if name == "city":
        text = _name(value, mask)
        return [Fact("city", text, "message", said[0], said[1])] if text else []
    return []


def _number(value: Any, low: float, high: float, *, whole: bool = False) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        value = float(value)
    if not isinstance(value, (int, float)) or not low <= value <= high:
        return None
    if whole and float(value) != int(value):
        return None
    return int(value) if float(value).is_integer() else round(float(value), 1)


def _name(value: Any, mask: Callable[[str], str]) -> Optional[str]:
    if not isinstance(value, str) or not value.strip():
        return None
    return mask(" ".join(value.split()))[:NAME_CHARS]


def _quote(text: Any, mask: Callable[[str], str]) -> str:
    words = mask(" ".join(str(text or "").split()))
    return words if len(words) <= QUOTE_CHARS else words[:QUOTE_CHARS - 1] + "…"
