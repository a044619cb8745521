"""The eligibility pre-checks as Rasa forms: validating answers, giving the result, corrections.

The rules themselves are in actions/eligibility.py and their figures in data/kb/eligibility.yml.
"""
from __future__ import annotations

import datetime as dt
import re
from abc import abstractmethod
from typing import Any, Callable, Dict, List, Mapping, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import eligibility, knowledge
from actions.answer_parsing import (DISMISSED, EMPLOYER_FAULT, RESIGNED, parse_birth, parse_group, parse_leaving,
                                    parse_years, parse_yes_no)
from actions.claimant_facts import facts_from_events, known_answers
from actions.phrasebook import Phrasebook
from core.language_codes import ZH

FORM_SLOTS = {
    # uf_birth and uf_group only when they can change the months (unemployment_extra_slots).
    "unemployment_form": ["uf_contribution_years", "uf_involuntary", "uf_registered", "uf_birth", "uf_group"],
    "pension_form": ["pf_group", "pf_birth", "pf_contribution_years"],
}
EXTRA_SLOTS = ("uf_birth", "uf_group")
CHECK_OF_FORM = {"unemployment_form": "unemployment", "pension_form": "pension"}
FORM_OF_CHECK = {check: form for form, check in CHECK_OF_FORM.items()}


def _figures(check: str) -> Dict[str, Any]:
    return knowledge.load_yaml("kb/eligibility.yml")[check]


def _validated(
    slot: str, value: Any, parse: Callable[[str], Any], invalid: str, dispatcher: CollectingDispatcher
) -> Dict[Text, Any]:
    if not isinstance(value, str):  # already a parsed value (set by a correction)
        return {slot: value}
    parsed = parse(value)
    if parsed is None:
        dispatcher.utter_message(response=invalid)
    return {slot: parsed}


def _birth_text(value: str) -> Optional[str]:
    parsed = parse_birth(value)
    return f"{parsed[0]:04d}-{parsed[1]:02d}" if parsed else None


def this_month() -> Tuple[int, int]:
    """The month a claim made now is made in (the pre-check counts months from it)."""
    today = dt.date.today()
    return today.year, today.month


def _birth(value: Any) -> Optional[Tuple[int, int]]:
    """(year, month) from a validated "1966-03" or from the claimant's own words."""
    if not isinstance(value, str):
        return None
    if re.fullmatch(r"\d{4}-\d{2}", value):
        year, month = value.split("-")
        return int(year), int(month)
    return parse_birth(value)


def leaving_reason(value: Any) -> Optional[str]:
    """The recorded answer to "how did the job end" (a yes/no from before the question had three
    answers counts as dismissed/resigned)."""
    if isinstance(value, bool):
        return DISMISSED if value else RESIGNED
    return value if isinstance(value, str) else None


def unemployment_extra_slots(slots: Mapping[str, Any], *, claim: Tuple[int, int],
                             figures: Mapping[str, Any], pension: Mapping[str, Any]) -> List[str]:
    """The questions to add after the three rules: the birth month once every rule is met (only
    then are months given), and the group once the birth month puts retirement age near enough
    to bound or extend them. Unvalidated answers (text) count as not given."""
    years, registered = slots.get("uf_contribution_years"), slots.get("uf_registered")
    leaving = leaving_reason(slots.get("uf_involuntary"))
    if not isinstance(years, (int, float)) or isinstance(years, bool) or not isinstance(registered, bool) \
            or leaving not in figures["leaving_reasons"]:
        return []
    result = eligibility.check_unemployment(contribution_years=float(years), leaving=leaving,
                                            registered=registered, figures=figures)
    if result.months is None:
        return []
    birth = _birth(slots.get("uf_birth"))
    if birth and eligibility.retirement_may_matter(result.months, birth=birth, claim=claim,
                                                   pension=pension, figures=figures):
        return ["uf_birth", "uf_group"]
    return ["uf_birth"]


class PreCheckValidation(FormValidationAction):
    """A pre-check's validation that starts from what the claimant already said.

    When the pre-check starts afresh (every answer blank: the topic answer clears them), the
    answers the claimant gave earlier in the conversation (actions/claimant_facts.py) fill their
    questions, and the first message says what was taken, so that the claimant can correct it
    ("I made a mistake"); the form then asks only what is missing. A pre-check re-opened to
    correct one answer, or already running, takes nothing.
    """

    @abstractmethod
    def name(self) -> Text:
        """validate_<form>; abstract, so that the action server does not register this class."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[Text, Any]]:
        taken = self.answers_already_given(tracker)
        events: List[Dict[Text, Any]] = [SlotSet(slot, value) for slot, value in taken.items()]
        if taken:
            phrases = Phrasebook.from_domain(domain, tracker.get_slot("language"))
            dispatcher.utter_message(text=phrases.say("utter_check_prefilled", facts=_taken_text(phrases, taken)))
            tracker.add_slots(events)  # validated below like any answer, and counted as given
        return events + await super().run(dispatcher, tracker, domain)

    def answers_already_given(self, tracker: Tracker) -> Dict[str, Any]:
        form = self.form_name()
        if not starting(tracker, form) or any(tracker.get_slot(slot) is not None for slot in FORM_SLOTS[form]):
            return {}
        return known_answers(form, facts_from_events(tracker.events))


def starting(tracker: Tracker, form: str) -> bool:
    """Whether the form is being started by this turn. Rasa calls the validation action as it
    starts the form with the form already marked active (the activation after the claimant's
    last message), and sometimes once more with the tracker from before (no active form)."""
    if (tracker.active_loop or {}).get("name") != form:
        return True
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "active_loop" and event.get("name") == form:
            return True
    return False


def _taken_text(phrases: Phrasebook, taken: Mapping[str, Any]) -> str:
    """"6 years of contributions, dismissed, laid off or not renewed": the answers taken, in the
    order the form asks them."""
    said = []
    for slot, value in taken.items():
        if slot.endswith("contribution_years"):
            said.append(phrases.say("utter_prefill_years", years=_years(float(value))))
        elif slot == "uf_involuntary":
            said.append(phrases.say(f"utter_answer_leaving_{value}"))
        elif slot.endswith("_birth"):
            said.append(phrases.say("utter_prefill_birth", birth=value))
        elif slot.endswith("_group"):
            said.append(phrases.say(f"utter_group_{value}"))
    return ("、" if phrases.language == ZH else ", ").join(said)


class ValidateUnemploymentForm(PreCheckValidation):
    def name(self) -> Text:
        return "validate_unemployment_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        """The domain's slots without the extra questions that cannot change the answer."""
        extra = unemployment_extra_slots(tracker.slots, claim=this_month(), figures=_figures("unemployment"),
                                         pension=_figures("pension"))
        return [slot for slot in domain_slots if slot not in EXTRA_SLOTS or slot in extra]

    def validate_uf_contribution_years(self, value: Any, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        return _validated("uf_contribution_years", value, parse_years, "utter_invalid_years", dispatcher)

    def validate_uf_involuntary(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if value in (DISMISSED, EMPLOYER_FAULT, RESIGNED):  # already read
            return {"uf_involuntary": value}
        return _validated("uf_involuntary", value, parse_leaving, "utter_invalid_leaving", dispatcher)

    def validate_uf_registered(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        return _validated("uf_registered", value, parse_yes_no, "utter_invalid_yes_no", dispatcher)

    def validate_uf_birth(self, value: Any, dispatcher: CollectingDispatcher,
                          tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}", value):
            return {"uf_birth": value}
        return _validated("uf_birth", value, _birth_text, "utter_invalid_birth", dispatcher)

    def validate_uf_group(self, value: Any, dispatcher: CollectingDispatcher,
                          tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        return _validated("uf_group", value, parse_group, "utter_invalid_group", dispatcher)


class ValidatePensionForm(PreCheckValidation):
    def name(self) -> Text:
        return "validate_pension_form"

    def validate_pf_group(self, value: Any, dispatcher: CollectingDispatcher,
                          tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        return _validated("pf_group", value, parse_group, "utter_invalid_group", dispatcher)

    def validate_pf_birth(self, value: Any, dispatcher: CollectingDispatcher,
                          tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}", value):
            return {"pf_birth": value}
        return _validated("pf_birth", value, _birth_text, "utter_invalid_birth", dispatcher)

    def validate_pf_contribution_years(self, value: Any, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        return _validated("pf_contribution_years", value, parse_years, "utter_invalid_years", dispatcher)


def _years(value: float) -> Any:
    return int(value) if float(value).is_integer() else round(float(value), 1)


def _rule_line(phrases: Phrasebook, check: eligibility.RuleCheck, answer: str) -> str:
    verdict = phrases.say("utter_verdict_met" if check.met else "utter_verdict_not_met")
    return phrases.say("utter_rule_line", mark="✓" if check.met else "✗",
                       rule=phrases.say(check.rule, **check.values), answer=answer, verdict=verdict)


def _yes_no(phrases: Phrasebook, value: bool) -> str:
    return phrases.say("utter_answer_yes" if value else "utter_answer_no")


def _closing(phrases: Phrasebook, dispatcher: CollectingDispatcher, figures: Dict[str, Any], next_step: str) -> None:
    decided_by = figures.get("decided_by", {}).get(phrases.language, "")
    dispatcher.utter_message(text="\n".join([
        phrases.say("utter_result_not_decision", decided_by=decided_by),
        phrases.say(next_step),
    ]))
    dispatcher.utter_message(text=phrases.say("utter_result_appeal"), buttons=phrases.buttons("utter_result_appeal"))


class ActionUnemploymentResult(Action):
    def name(self) -> Text:
        return "action_unemployment_result"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        phrases = Phrasebook.from_domain(domain, tracker.get_slot("language"))
        figures, pension = _figures("unemployment"), _figures("pension")
        years = float(tracker.get_slot("uf_contribution_years"))
        leaving = leaving_reason(tracker.get_slot("uf_involuntary")) or RESIGNED
        birth, group = _birth(tracker.get_slot("uf_birth")), tracker.get_slot("uf_group")
        age = eligibility.retirement_age(group, birth, pension) if birth and group in pension["groups"] else None
        result = eligibility.check_unemployment(
            contribution_years=years, leaving=leaving, registered=bool(tracker.get_slot("uf_registered")),
            figures=figures, reached=age.reached if age else None, claim=this_month(),
        )
        answers = [phrases.say("utter_answer_years", years=_years(years)),
                   phrases.say(f"utter_answer_leaving_{leaving}"), _yes_no(phrases, result.checks[2].answer)]
        lines = [phrases.say("utter_result_heading_unemployment")]
        lines += [_rule_line(phrases, c, a) for c, a in zip(result.checks, answers)]
        if leaving == "employer_fault":
            lines.append(phrases.say("utter_rule_uf_employer_fault"))
        lines += _retirement_lines(phrases, result, age, group, birth)
        lines.append(_unemployment_outcome(phrases, result, years))
        dispatcher.utter_message(text="\n".join(lines))
        _closing(phrases, dispatcher, figures, "utter_result_next_unemployment")
        return [SlotSet("last_check", "unemployment"), SlotSet("pending_offer", None)]


def _month(month: Tuple[int, int]) -> str:
    return f"{month[0]}-{month[1]:02d}"


def _retirement_lines(phrases: Phrasebook, result: eligibility.UnemploymentResult,
                      age: Optional[eligibility.RetirementAge], group: Optional[str],
                      birth: Optional[Tuple[int, int]]) -> List[str]:
    """What the pre-check applied about retirement age, when it asked."""
    if not result.likely or birth is None:
        return []
    if age is None:  # the birth month alone showed that retirement age is too far away to matter
        return ["• " + phrases.say("utter_rule_uf_far_from_retirement", birth=_month(birth))]
    said_age = phrases.say("utter_age_years_months", years=age.years, months=age.months)
    return ["• " + phrases.say("utter_rule_pf_age", age=said_age, month=_month(age.reached))
            + f" ({phrases.say('utter_group_' + str(group))}, {_month(birth)})"]


def _unemployment_outcome(phrases: Phrasebook, result: eligibility.UnemploymentResult, years: float) -> str:
    if not result.likely:
        return phrases.say("utter_result_uf_unlikely")
    limit = result.retirement
    if limit is not None and limit.rule == eligibility.EXTENDED:
        return phrases.say("utter_result_uf_extended", years=_years(years), usual=result.usual_months,
                           months=limit.months, month=_month(limit.reached))
    if limit is not None and limit.rule == eligibility.STOPS_AT_PENSION:
        return phrases.say("utter_result_uf_until_pension", years=_years(years), months=result.months,
                           month=_month(limit.reached))
    return phrases.say("utter_result_uf_likely", years=_years(years), months=result.months)


class ActionPensionResult(Action):
    def name(self) -> Text:
        return "action_pension_result"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        phrases = Phrasebook.from_domain(domain, tracker.get_slot("language"))
        figures = _figures("pension")
        group = tracker.get_slot("pf_group")
        year, month = (int(p) for p in str(tracker.get_slot("pf_birth")).split("-"))
        years = float(tracker.get_slot("pf_contribution_years"))
        result = eligibility.check_pension(group=group, birth=(year, month), contribution_years=years,
                                           figures=figures)
        age = phrases.say("utter_age_years_months", years=result.age.years, months=result.age.months)
        reached = _month(result.age.reached)
        lines = [
            phrases.say("utter_result_heading_pension"),
            "• " + phrases.say("utter_rule_pf_age", age=age, month=reached)
            + f" ({phrases.say('utter_group_' + group)}, {year}-{month:02d})",
        ]
        lines += [_rule_line(phrases, c, phrases.say("utter_answer_years", years=_years(years)))
                  for c in result.checks]
        lines.append(phrases.say("utter_result_pf_met") if result.met
                     else phrases.say("utter_result_pf_short", gap=_years(result.gap)))
        dispatcher.utter_message(text="\n".join(lines))
        _closing(phrases, dispatcher, figures, "utter_result_next_pension")
        return [SlotSet("last_check", "pension"), SlotSet("pending_offer", None)]


# A number of years ("两年", "12年", "2 years"), not a calendar year ("1966年").
_YEARS_WORDS = (r"缴|交了|年限|几年|多少年|years?|paid|contribut"
                r"|(?<!\d)\d{1,2}\s*年|[一二两三四五六七八九十半]+年")
# Words that say which answer the claimant wants to change.
_SLOT_WORDS = {
    "uf_contribution_years": _YEARS_WORDS,
    "pf_contribution_years": _YEARS_WORDS,
    "uf_involuntary": r"辞退|辞职|离职|自愿|开除|欠薪|工资|dismiss|resign|quit|fired|laid off|redundan|wage|salary",
    "uf_registered": r"登记|找工作|求职|regist|looking for work|job ?seek",
    "uf_birth": r"出生|生日|年龄|岁|born|birth|\bage\b",
    "uf_group": r"男|女|干部|工人|\bman\b|woman|male|female|cadre|worker",
    "pf_group": r"男|女|干部|工人|\bman\b|woman|male|female|cadre|worker",
    "pf_birth": r"出生|生日|年龄|岁|born|birth|\bage\b",
}
def slot_to_correct(text: str, slots: List[str], events: List[Dict[str, Any]]) -> Optional[str]:
    """The answer the claimant means: the one they name, else the one they gave last."""
    lowered = (text or "").lower()
    for slot in slots:
        if re.search(_SLOT_WORDS[slot], lowered):
            return slot
    for event in reversed(events):
        if event.get("event") == "slot" and event.get("name") in slots and event.get("value") is not None:
            return event["name"]
    return None


class ActionCorrectAnswer(Action):
    """Clears the answer to correct, so that the form asks for it again.

    It never takes a new value from the correction itself: "not 2 but 12 years" is too easy to
    read the wrong way round, and the question costs the claimant one short answer.
    """

    def name(self) -> Text:
        return "action_correct_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        form = tracker.active_loop.get("name") or FORM_OF_CHECK.get(tracker.get_slot("last_check") or "")
        slots = FORM_SLOTS.get(form or "", [])
        text = tracker.latest_message.get("text") or ""
        slot = slot_to_correct(text, slots, tracker.events)
        if slot is None:
            return []
        dispatcher.utter_message(response="utter_check_correct_which")
        return [SlotSet(slot, None)]
