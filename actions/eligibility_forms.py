"""The eligibility pre-checks as Rasa forms: validating answers, giving the result, corrections.

The rules themselves are in actions/eligibility.py and their figures in data/kb/eligibility.yml.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import eligibility, knowledge
from actions.answer_parsing import parse_birth, parse_group, parse_years, parse_yes_no
from actions.phrasebook import Phrasebook

FORM_SLOTS = {
    "unemployment_form": ["uf_contribution_years", "uf_involuntary", "uf_registered"],
    "pension_form": ["pf_group", "pf_birth", "pf_contribution_years"],
}
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


class ValidateUnemploymentForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_unemployment_form"

    def validate_uf_contribution_years(self, value: Any, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        return _validated("uf_contribution_years", value, parse_years, "utter_invalid_years", dispatcher)

    def validate_uf_involuntary(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        return _validated("uf_involuntary", value, parse_yes_no, "utter_invalid_yes_no", dispatcher)

    def validate_uf_registered(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        return _validated("uf_registered", value, parse_yes_no, "utter_invalid_yes_no", dispatcher)


class ValidatePensionForm(FormValidationAction):
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
        figures = _figures("unemployment")
        years = float(tracker.get_slot("uf_contribution_years"))
        result = eligibility.check_unemployment(
            contribution_years=years,
            involuntary=bool(tracker.get_slot("uf_involuntary")),
            registered=bool(tracker.get_slot("uf_registered")),
            figures=figures,
        )
        answers = [phrases.say("utter_answer_years", years=_years(years)),
                   _yes_no(phrases, result.checks[1].answer), _yes_no(phrases, result.checks[2].answer)]
        lines = [phrases.say("utter_result_heading_unemployment")]
        lines += [_rule_line(phrases, c, a) for c, a in zip(result.checks, answers)]
        lines.append(phrases.say("utter_result_uf_likely", years=_years(years), months=result.months)
                     if result.likely else phrases.say("utter_result_uf_unlikely"))
        dispatcher.utter_message(text="\n".join(lines))
        _closing(phrases, dispatcher, figures, "utter_result_next_unemployment")
        return [SlotSet("last_check", "unemployment"), SlotSet("pending_offer", None)]


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
        reached = f"{result.age.reached[0]}-{result.age.reached[1]:02d}"
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
    "uf_involuntary": r"辞退|辞职|离职|自愿|开除|dismiss|resign|quit|fired|laid off|redundan",
    "uf_registered": r"登记|找工作|求职|regist|looking for work|job ?seek",
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
