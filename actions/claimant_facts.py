"""What the claimant has said about their situation in this conversation: pure functions.

Every claimant message carries the situation entities (bot/situation/, docs/entities.md). Here
they are gathered from the tracker's events since the session began, the latest of each kind
winning (a claimant who corrects "6 years, no, 7" means 7), and turned into the answers a
pre-check would otherwise ask for.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from bot.situation.fact import (AGE, BENEFIT, BIRTH_YEAR, CITY, CONTRIBUTION_YEARS, EMPLOYER_FAULT, GENDER, JOB_END,
                                MALE, PROVINCE)


@dataclass(frozen=True)
class ClaimantFacts:
    contribution_years: Optional[int] = None
    age: Optional[int] = None
    birth_year: Optional[int] = None
    birth_month: Optional[int] = None  # only with the birth year it was given with
    gender: Optional[str] = None
    job_end: Optional[str] = None  # "dismissed", "resigned" or "employer_fault" (resigned over unpaid wages)
    city: Optional[str] = None
    province: Optional[str] = None
    benefits: Tuple[str, ...] = ()

    @property
    def birth(self) -> Optional[Tuple[int, int]]:
        """(year, month) of birth, when both were said."""
        return (self.birth_year, self.birth_month) if self.birth_year and self.birth_month else None


def facts_from_events(events: Iterable[Mapping[str, Any]]) -> ClaimantFacts:
    """The claimant's facts from the conversation's events (rasa_sdk's `tracker.events`)."""
    latest: Dict[str, Mapping[str, Any]] = {}
    benefits: Dict[str, None] = {}
    for event in events:
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            latest, benefits = {}, {}
        if kind != "user":
            continue
        for entity in (event.get("parse_data") or {}).get("entities") or []:
            name = entity.get("entity")
            if name == BENEFIT:
                benefits[str(entity.get("value"))] = None
            elif name:
                latest[name] = entity
    value = lambda name: latest[name].get("value") if name in latest else None  # noqa: E731
    job_end = value(JOB_END)
    if job_end and latest[JOB_END].get("role") == EMPLOYER_FAULT:
        job_end = EMPLOYER_FAULT
    return ClaimantFacts(
        contribution_years=_int(value(CONTRIBUTION_YEARS)), age=_int(value(AGE)),
        birth_year=_int(value(BIRTH_YEAR)), birth_month=_int(latest[BIRTH_YEAR].get("month")) if BIRTH_YEAR in latest else None,
        gender=value(GENDER), job_end=job_end, city=value(CITY), province=value(PROVINCE), benefits=tuple(benefits))


def _int(value: Any) -> Optional[int]:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def birth_text(birth: Tuple[int, int]) -> str:
    """A birth month as the pre-checks record it: "1966-03"."""
    return f"{birth[0]:04d}-{birth[1]:02d}"


def known_answers(form: str, facts: ClaimantFacts) -> Dict[str, Any]:
    """The pre-check answers the claimant has already given, by slot: the number of years, how the
    job ended, the birth month (year and month both), and the group when it can only be "man"."""
    birth = birth_text(facts.birth) if facts.birth else None
    group = MALE if facts.gender == MALE else None
    if form == "unemployment_form":
        answers = {"uf_contribution_years": facts.contribution_years, "uf_involuntary": facts.job_end,
                   "uf_birth": birth, "uf_group": group}
    elif form == "pension_form":
        answers = {"pf_group": group, "pf_birth": birth, "pf_contribution_years": facts.contribution_years}
    else:
        answers = {}
    return {slot: answer for slot, answer in answers.items() if answer is not None}
