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
    result = eligibility.check_unemployment(contribution_years=6, involuntary=True, registered=True,
                                            figures=UNEMPLOYMENT)
    assert result.likely and result.months == 18
    assert [c.met for c in result.checks] == [True, True, True]


def test_unemployment_resigned_is_not_met_and_gives_no_duration():
    result = eligibility.check_unemployment(contribution_years=6, involuntary=False, registered=True,
                                            figures=UNEMPLOYMENT)
    assert not result.likely and result.months is None
    assert [c.met for c in result.checks] == [True, False, True]


def test_unemployment_too_few_years():
    result = eligibility.check_unemployment(contribution_years=0.5, involuntary=True, registered=True,
                                            figures=UNEMPLOYMENT)
    assert [c.met for c in result.checks] == [False, True, True]
