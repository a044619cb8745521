"""Every fact about the claimant's situation in one message: the situation entities. Pure.

`extract(text, names)` reads the normalised text of a message (bot/textnorm.py: Simplified
characters, half-width digits) and returns its facts in order of position, each with the span
that said it. Where two facts of the same kind overlap, the longer is kept.
"""
from __future__ import annotations

from typing import List

from bot.situation import person, work
from bot.situation.clauses import Clauses
from bot.situation.fact import Fact
from bot.situation.names import NameLexicon


def extract(text: str, names: NameLexicon) -> List[Fact]:
    """The facts in `text`, by position."""
    if not text:
        return []
    lowered = _lower(text)
    clauses = Clauses(lowered)
    found = [*work.contribution_years(text, lowered, clauses), *work.job_end(text, lowered, clauses),
             *person.age(text, lowered, clauses), *person.birth_year(text, lowered, clauses),
             *person.gender(text, lowered, clauses), *names.find(text, lowered)]
    kept: List[Fact] = []
    for fact in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if any(k.entity == fact.entity and k.start < fact.end and fact.start < k.end for k in kept):
            continue
        kept.append(fact)
    return kept


def _lower(text: str) -> str:
    """Lower case with every character kept in its place (offsets stay valid), curly
    apostrophes straight."""
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text).replace("’", "'")
