"""The pre-check rules against the figures in data/kb/eligibility.yml and the official tables."""
import pytest

from actions import eligibility, knowledge

FIGURES = knowledge.load_yaml("kb/eligibility.yml")
PENSION, UNEMPLOYMENT = FIGURES["pension"], FIGURES["unemployment"]


# From the official tables annexed to the 2024 retirement-age measures.
@pytest.mark.parametrize("group,birth,age,reached", [
    ("male", (1964, 12), (60, 0), (2024, 12)),      # before the reform: unchanged
    ("male", (1965, 1), (60, 1), (2025, 2)),
    ("male", (1965, 4), (60, 1), (2025, 5)),
    ("male", (1965, 5), (60, 2), (2025, 7)),
    ("male", (1966, 12), (60, 6), (2027, 6)),
    ("male", (1976, 9), (63, 0), (2039, 9)),        # the target age is reached
    ("male", (1990, 1), (63, 0), (2053, 1)),
    ("female_cadre", (1970, 1), (55, 1), (2025, 2)),
    ("female_cadre", (1981, 9), (58, 0), (2039, 9)),
    ("female_worker", (1975, 1), (50, 1), (2025, 2)),
    ("female_worker", (1975, 3), (50, 2), (2025, 5)),
    ("female_worker", (1976, 12), (51, 0), (2027, 12)),
    ("female_worker", (1984, 11), (55, 0), (2039, 11)),
])
def test_retirement_age(group, birth, age, reached):
    result = eligibility.retirement_age(group, birth, PENSION)
    assert (result.years, result.months) == age
    assert result.reached == reached


@pytest.mark.parametrize("year,minimum", [(2024, 15), (2029, 15), (2030, 15.5), (2031, 16), (2035, 18),
                                          (2039, 20), (2045, 20)])
def test_minimum_contribution_years(year, minimum):
    assert eligibility.minimum_contribution_years(year, PENSION) == minimum


def test_pension_short_of_the_minimum_says_by_how_much():
    result = eligibility.check_pension(group="male", birth=(1972, 1), contribution_years=12, figures=PENSION)
    # Official table: men born January-April 1972 retire at 61 years 10 months, from November 2033.
    assert (result.age.years, result.age.months, result.age.reached) == (61, 10, (2033, 11))
    assert result.min_years == 17
    assert not result.met and result.gap == 5


def test_pension_met():
    result = eligibility.check_pension(group="female_worker", birth=(1976, 6), contribution_years=20,
                                       figures=PENSION)
    assert result.met and result.gap == 0


@pytest.mark.parametrize("years,months", [(0.5, None), (1, 12), (4.9, 12), (5, 18), (9.99, 18), (10, 24), (30, 24)])
def test_unemployment_duration(years, months):
    assert eligibility.unemployment_duration(years, UNEMPLOYMENT) == months


def test_unemployment_every_rule_met():
    result = eligibility.check_unemployment(contribution_years=6, leaving="dismissed", registered=True,
                                            figures=UNEMPLOYMENT)
    assert result.likely and result.months == 18
    assert [c.met for c in result.checks] == [True, True, True]


def test_unemployment_resigned_is_not_met_and_gives_no_duration():
    result = eligibility.check_unemployment(contribution_years=6, leaving="resigned", registered=True,
                                            figures=UNEMPLOYMENT)
    assert not result.likely and result.months is None
    assert [c.met for c in result.checks] == [True, False, True]


def test_unemployment_too_few_years():
    result = eligibility.check_unemployment(contribution_years=0.5, leaving="dismissed", registered=True,
                                            figures=UNEMPLOYMENT)
    assert [c.met for c in result.checks] == [False, True, True]


def test_resigning_because_the_employer_did_not_pay_counts_as_not_by_choice():
    # Labour Contract Law art. 38 with the Provisions on implementing the SIL, art. 13.
    result = eligibility.check_unemployment(contribution_years=3, leaving="employer_fault", registered=True,
                                            figures=UNEMPLOYMENT)
    assert result.likely and result.months == 12
    assert [c.met for c in result.checks] == [True, True, True]


# State Council Measures on raising the retirement age, art. 7, and MOHRSS notice [2020] 24: still out
# of work when the usual months end and less than a year from statutory retirement age -> paid until then.
@pytest.mark.parametrize("claim, reached, usual, months, rule", [
    ((2026, 12), (2028, 6), 12, 18, eligibility.EXTENDED),        # 6 months left when the 12 end
    ((2026, 12), (2028, 11), 12, 23, eligibility.EXTENDED),       # 11 months left: less than a year
    ((2026, 12), (2028, 12), 12, 12, eligibility.UNCHANGED),      # exactly a year left
    ((2026, 12), (2035, 1), 24, 24, eligibility.UNCHANGED),
    ((2026, 12), (2027, 8), 12, 12, eligibility.STOPS_AT_PENSION),  # retirement age within the 12 months
    ((2024, 11), (2025, 10), 18, 18, eligibility.STOPS_AT_PENSION),  # Tianjin's example: born 1965-08
])
def test_retirement_age_extends_or_bounds_the_months(claim, reached, usual, months, rule):
    limit = eligibility.retirement_limit(usual, reached=reached, claim=claim, figures=UNEMPLOYMENT)
    assert (limit.months, limit.rule) == (months, rule)


def test_the_unemployment_check_applies_the_retirement_month_when_it_is_known():
    base = dict(contribution_years=3, leaving="dismissed", registered=True, figures=UNEMPLOYMENT)
    assert eligibility.check_unemployment(**base).months == 12
    near = eligibility.check_unemployment(**base, reached=(2028, 3), claim=(2026, 12))
    assert near.usual_months == 12 and near.months == 15 and near.retirement.rule == eligibility.EXTENDED
    refused = eligibility.check_unemployment(**{**base, "registered": False}, reached=(2028, 3), claim=(2026, 12))
    assert refused.months is None and refused.retirement is None


def test_tianjins_example_reaches_retirement_age_in_october_2025():
    assert eligibility.retirement_age("male", (1965, 8), PENSION).reached == (2025, 10)


@pytest.mark.parametrize("birth, matters", [
    ((1995, 1), False),   # even a woman worker retires in 2050
    ((1980, 1), False),
    ((1976, 12), True),   # a woman worker born then retires in December 2027
    ((1960, 5), True),    # past every group's retirement age
])
def test_the_group_is_asked_only_when_retirement_age_may_matter(birth, matters):
    assert eligibility.retirement_may_matter(12, birth=birth, claim=(2026, 12), pension=PENSION,
                                             figures=UNEMPLOYMENT) is matters
