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


EXTENDED = "extended"  # paid beyond the usual maximum, up to retirement age
STOPS_AT_PENSION = "stops_at_pension"  # retirement age comes within the usual months
UNCHANGED = "unchanged"  # more than the window away when the usual months end


@dataclass(frozen=True)
class RetirementLimit:
    """How statutory retirement age bounds the months of unemployment benefit."""
    reached: Tuple[int, int]  # (year, month) the claimant reaches statutory retirement age
    months_left: int  # from the month of the claim to that month
    months: int  # the longest payment once the rule is applied
    rule: str  # EXTENDED, STOPS_AT_PENSION or UNCHANGED


@dataclass(frozen=True)
class UnemploymentResult:
    checks: List[RuleCheck]
    usual_months: Optional[int]  # longest payment for the years paid, when every rule is met
    retirement: Optional[RetirementLimit] = None  # when the claimant's retirement month is known

    @property
    def likely(self) -> bool:
        return all(c.met for c in self.checks)

    @property
    def months(self) -> Optional[int]:
        if self.usual_months is None or self.retirement is None:
            return self.usual_months
        return self.retirement.months


def unemployment_duration(years: float, figures: Mapping[str, Any]) -> Optional[int]:
    for band in figures["duration_months"]:
        upper = band.get("to_years")
        if years >= band["from_years"] and (upper is None or years < upper):
            return int(band["months"])
    return None


def counts_as_involuntary(leaving: str, figures: Mapping[str, Any]) -> bool:
    """Whether the way the job ended counts as "not by the claimant's own choice"."""
    return bool(figures["leaving_reasons"].get(leaving, False))


def retirement_limit(months: int, *, reached: Tuple[int, int], claim: Tuple[int, int],
                     figures: Mapping[str, Any]) -> RetirementLimit:
    """The usual `months` against the retirement month: a claimant still less than the window
    (a year) from statutory retirement age when the usual months end is paid up to that age."""
    left = _month_index(*reached) - _month_index(*claim)
    if left <= months:
        return RetirementLimit(reached, left, months, STOPS_AT_PENSION)
    if left - months < int(figures["extend_to_retirement_within_months"]):
        return RetirementLimit(reached, left, left, EXTENDED)
    return RetirementLimit(reached, left, months, UNCHANGED)


def retirement_may_matter(months: int, *, birth: Tuple[int, int], claim: Tuple[int, int],
                          pension: Mapping[str, Any], figures: Mapping[str, Any]) -> bool:
    """Whether, for any group, retirement age could bound or extend the usual `months`: only
    then does the pre-check need to ask which group the claimant belongs to."""
    earliest = min(_month_index(*retirement_age(group, birth, pension).reached) for group in pension["groups"])
    return earliest - _month_index(*claim) - months < int(figures["extend_to_retirement_within_months"])


def check_unemployment(
    *, contribution_years: float, leaving: str, registered: bool, figures: Mapping[str, Any],
    reached: Optional[Tuple[int, int]] = None, claim: Optional[Tuple[int, int]] = None,
) -> UnemploymentResult:
    """`leaving`: how the job ended, a key of the figures' `leaving_reasons`. `reached` and
    `claim`: the months statutory retirement age is reached and the claim made, when known."""
    minimum = figures["min_contribution_years"]
    checks = [
        RuleCheck("utter_rule_uf_contribution", contribution_years, contribution_years >= minimum,
                  {"min_years": minimum}),
        RuleCheck("utter_rule_uf_involuntary", leaving, counts_as_involuntary(leaving, figures), {}),
        RuleCheck("utter_rule_uf_registered", registered, registered, {}),
    ]
    if not all(c.met for c in checks):
        return UnemploymentResult(checks, None)
    months = unemployment_duration(contribution_years, figures)
    limit = None
    if months is not None and reached is not None and claim is not None:
        limit = retirement_limit(months, reached=reached, claim=claim, figures=figures)
    return UnemploymentResult(checks, months, limit)


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
