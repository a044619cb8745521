"""Lines that fit a topic answer to what the claimant said: pure functions.

A claimant who wrote "交了6年社保，被辞退了，失业金能领多久" is told first "缴费满6年，最长可领18个
月" and then the general answer. The figures come from data/kb/eligibility.yml through the rules in
actions/eligibility.py, as in the pre-checks; the lines end by saying that this is not a decision
and that local rules vary. Each line is a phrase name in bot/domain/situation.yml and its values.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional, Tuple

from actions import eligibility
from actions.claimant_facts import ClaimantFacts, birth_text
from actions.phrasebook import Phrasebook
from bot.situation.fact import DISMISSED, EMPLOYER_FAULT, FEMALE, MALE, RESIGNED

FIT_UNEMPLOYMENT = ("ask_unemployment",)
FIT_PENSION_AGE = ("ask_pension",)
FIT_PENSION_YEARS = ("ask_pension", "ask_contribution")
_LEAVING_PHRASE = {DISMISSED: "utter_fit_uf_dismissed", EMPLOYER_FAULT: "utter_fit_uf_employer_fault",
                   RESIGNED: "utter_fit_uf_resigned"}
_WOMEN = ("female_cadre", "female_worker")


@dataclass(frozen=True)
class Line:
    """A phrase of bot/domain/situation.yml; a value that is itself a Line is said first."""
    phrase: str
    values: Mapping[str, Any] = field(default_factory=dict)


def fitted_lines(topic: str, facts: ClaimantFacts, figures: Mapping[str, Any], *,
                 today: Tuple[int, int]) -> List[Line]:
    """The lines for `topic` from `facts` (none when nothing the claimant said changes the answer),
    closed by "not a decision, local rules vary". `figures`: data/kb/eligibility.yml."""
    lines: List[Line] = []
    if topic in FIT_UNEMPLOYMENT:
        lines += _unemployment(facts, figures["unemployment"])
    if topic in FIT_PENSION_AGE:
        lines += _retirement_age(facts, figures["pension"], today=today)
    if topic in FIT_PENSION_YEARS:
        lines += _minimum_years(facts, figures["pension"], today=today)
    return lines + [Line("utter_fit_not_decision")] if lines else []


def _unemployment(facts: ClaimantFacts, figures: Mapping[str, Any]) -> List[Line]:
    lines = []
    if facts.contribution_years is not None:
        months = eligibility.unemployment_duration(facts.contribution_years, figures)
        if months is not None:
            lines += [Line("utter_fit_uf_months", {"years": facts.contribution_years, "months": months}),
                      Line("utter_fit_uf_local")]
    if facts.job_end in _LEAVING_PHRASE:
        lines.append(Line(_LEAVING_PHRASE[facts.job_end]))
    return lines


def _births(facts: ClaimantFacts, today: Tuple[int, int]) -> Optional[Tuple[Tuple[int, int], Tuple[int, int], Line]]:
    """The earliest and latest birth months the claimant's words allow, and how to say them."""
    if facts.birth:
        return facts.birth, facts.birth, Line("utter_fit_born_month", {"birth": birth_text(facts.birth)})
    if facts.birth_year:
        return (facts.birth_year, 1), (facts.birth_year, 12), Line("utter_fit_born_year", {"year": facts.birth_year})
    if facts.age:
        # Aged N today: born after this month N+1 years ago, and no later than this month N years ago.
        latest = (today[0] - facts.age, today[1])
        earliest = _plus_months((today[0] - facts.age - 1, today[1]), 1)
        return earliest, latest, Line("utter_fit_aged", {"age": facts.age})
    return None


def _retirement_age(facts: ClaimantFacts, pension: Mapping[str, Any], *, today: Tuple[int, int]) -> List[Line]:
    births = _births(facts, today)
    if births is None or facts.gender not in (MALE, FEMALE):
        return []
    earliest, latest, born = births
    groups = ["male"] if facts.gender == MALE else list(_WOMEN)
    lines = []
    for group in groups:
        first = eligibility.retirement_age(group, earliest, pension)
        last = eligibility.retirement_age(group, latest, pension)
        who = Line(f"utter_group_{group}")
        if (first.years, first.months) == (last.years, last.months) and first.reached == last.reached:
            lines.append(Line("utter_fit_pf_age", {"who": who, "born": born, "age": _age(first),
                                                    "month": f"{first.reached[0]}-{first.reached[1]:02d}"}))
        else:
            lines.append(Line("utter_fit_pf_age_range", {"who": who, "born": born, "age_from": _age(first),
                                                          "age_to": _age(last)}))
    if facts.gender == FEMALE:
        lines.append(Line("utter_fit_pf_which_group"))
    return lines


def _age(age: eligibility.RetirementAge) -> Line:
    return Line("utter_age_years_months", {"years": age.years, "months": age.months})


def _minimum_years(facts: ClaimantFacts, pension: Mapping[str, Any], *, today: Tuple[int, int]) -> List[Line]:
    if facts.contribution_years is None:
        return []
    years = facts.contribution_years
    reached = _retirement_year(facts, pension, today)
    if reached is not None:
        minimum = eligibility.minimum_contribution_years(reached, pension)
        when = Line("utter_fit_pf_when_year", {"year": reached})
    else:
        minimum = eligibility.minimum_contribution_years(today[0], pension)
        table = {int(y): float(v) for y, v in pension["min_contribution_years"].items()}
        rises = min((y for y, v in table.items() if y > today[0] and v > minimum), default=None)
        when = Line("utter_fit_pf_when_rises", {"until": rises - 1, "year": rises}) if rises else Line("")
    plain = int(minimum) if float(minimum).is_integer() else minimum
    if years >= minimum:
        return [Line("utter_fit_pf_min_met", {"years": years, "min_years": plain, "when": when})]
    gap = math.ceil((minimum - years) * 2) / 2
    return [Line("utter_fit_pf_min_short", {"years": years, "min_years": plain, "when": when,
                                            "gap": int(gap) if float(gap).is_integer() else gap})]


def _retirement_year(facts: ClaimantFacts, pension: Mapping[str, Any], today: Tuple[int, int]) -> Optional[int]:
    """The calendar year of reaching retirement age, when the claimant's words fix it."""
    births = _births(facts, today)
    if births is None or facts.gender not in (MALE, FEMALE):
        return None
    groups = ["male"] if facts.gender == MALE else list(_WOMEN)
    years = {eligibility.retirement_age(g, b, pension).reached[0] for g in groups for b in births[:2]}
    return years.pop() if len(years) == 1 else None


def _plus_months(month: Tuple[int, int], count: int) -> Tuple[int, int]:
    index = month[0] * 12 + month[1] - 1 + count
    return index // 12, index % 12 + 1


def render(line: Line, phrases: Phrasebook) -> str:
    """The line in the claimant's language, its nested lines said first."""
    if not line.phrase:
        return ""
    values = {key: render(value, phrases) if isinstance(value, Line) else value for key, value in line.values.items()}
    return phrases.say(line.phrase, **values)
