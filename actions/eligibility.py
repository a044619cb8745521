"""The pre-check rules, applied to a claimant's answers: pure functions over the figures in
data/kb/eligibility.yml. They inform; the social insurance agency decides."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Tuple


@dataclass(frozen=True)
class RuleCheck:
    rule: str  # a phrase name in the domain, e.g. utter_rule_uf_contribution
    answer: Any
    met: bool
    values: Mapping[str, Any]  # what the phrase needs: {"min_years": 1}


@dataclass(frozen=True)
class UnemploymentResult:
    checks: List[RuleCheck]
    months: Optional[int]  # longest payment period for the years paid, when every rule is met

    @property
    def likely(self) -> bool:
        return all(c.met for c in self.checks)


def unemployment_duration(years: float, figures: Mapping[str, Any]) -> Optional[int]:
    for band in figures["duration_months"]:
        upper = band.get("to_years")
        if years >= band["from_years"] and (upper is None or years < upper):
            return int(band["months"])
    return None


def check_unemployment(
    *, contribution_years: float, involuntary: bool, registered: bool, figures: Mapping[str, Any]
) -> UnemploymentResult:
    minimum = figures["min_contribution_years"]
    checks = [
        RuleCheck("utter_rule_uf_contribution", contribution_years, contribution_years >= minimum,
                  {"min_years": minimum}),
        RuleCheck("utter_rule_uf_involuntary", involuntary, involuntary, {}),
        RuleCheck("utter_rule_uf_registered", registered, registered, {}),
    ]
    months = unemployment_duration(contribution_years, figures) if all(c.met for c in checks) else None
    return UnemploymentResult(checks, months)


@dataclass(frozen=True)
class RetirementAge:
    years: int
    months: int
    reached: Tuple[int, int]  # (year, month) the claimant reaches it

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months


def _month_index(year: int, month: int) -> int:
    return year * 12 + (month - 1)


def _from_index(index: int) -> Tuple[int, int]:
    return index // 12, index % 12 + 1


def retirement_age(group: str, birth: Tuple[int, int], figures: Mapping[str, Any]) -> RetirementAge:
    """Statutory retirement age under the gradual reform in force from January 2025.

    Those born from `first_birth_month` on retire one month later for every
    `birth_months_per_step` months of birth, up to the target age.
    """
    rules = figures["groups"][group]
    original = int(rules["original_age"]) * 12
    first_year, first_month = (int(p) for p in str(rules["first_birth_month"]).split("-"))
    offset = _month_index(*birth) - _month_index(first_year, first_month)
    delay = 0
    if offset >= 0:
        maximum = (int(rules["target_age"]) - int(rules["original_age"])) * 12
        delay = min(offset // int(rules["birth_months_per_step"]) + 1, maximum)
    total = original + delay
    return RetirementAge(total // 12, total % 12, _from_index(_month_index(*birth) + total))


def minimum_contribution_years(retirement_year: int, figures: Mapping[str, Any]) -> float:
    """The minimum for those reaching retirement age in `retirement_year`."""
    table = {int(year): float(value) for year, value in figures["min_contribution_years"].items()}
    earlier = [year for year in table if year <= retirement_year]
    return table[max(earlier)] if earlier else table[min(table)]


@dataclass(frozen=True)
class PensionResult:
    age: RetirementAge
    min_years: float
    contribution_years: float
    checks: List[RuleCheck]

    @property
    def met(self) -> bool:
        return all(c.met for c in self.checks)

    @property
    def gap(self) -> float:
        return max(0.0, math.ceil((self.min_years - self.contribution_years) * 2) / 2)


def check_pension(
    *, group: str, birth: Tuple[int, int], contribution_years: float, figures: Mapping[str, Any]
) -> PensionResult:
    age = retirement_age(group, birth, figures)
    minimum = minimum_contribution_years(age.reached[0], figures)
    checks = [
        RuleCheck("utter_rule_pf_min_years", contribution_years, contribution_years >= minimum,
                  {"min_years": _plain(minimum), "year": age.reached[0]}),
    ]
    return PensionResult(age, minimum, contribution_years, checks)


def _plain(number: float) -> Any:
    return int(number) if float(number).is_integer() else number
