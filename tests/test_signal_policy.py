"""The signal policy and the crisis/urgent/follow-up actions, with real trackers and the real domain."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import crisis_contacts
from actions.crisis import ActionCrisisResponse, ActionSignalFollowup, ActionUrgentResponse
from bot.policies.signal_policy import SignalPolicy, next_action
from bot.settings import ROOT

DOMAIN = Domain.load(str(ROOT / "bot" / "domain"))
DOMAIN_DICT = DOMAIN.as_dict()


def signals(distress="none", evidence=None, complexity="none", needs=()):
    return {"distress": {"level": distress, "evidence": evidence or []},
            "complexity": {"level": complexity, "needs": list(needs), "evidence": []}}


CRISIS = signals("crisis", [{"text": "不想活", "rule": "zh.crisis.want_to_die"}])
URGENT = signals("urgent", [{"text": "evicted", "rule": "en.urgent.losing_home"}])
CONCERN = signals("concern", [{"text": "exhausted", "rule": "en.concern.exhaustion"}])


def parse(intent: str, sig: Dict[str, Any], text: str = "...") -> Dict[str, Any]:
    return {"intent": {"name": intent, "confidence": 0.9}, "entities": [], "text": text, "signals": sig}


# ------------------------------------------------------------------ the pure decision

def decide(latest, since=(), events=(), loop=None, recorded=None):
    return next_action(latest_message=latest, actions_since_user=list(since), events=list(events),
                       active_loop=loop, recorded_reason=recorded)


def test_crisis_first_whatever_the_state_then_listen_after_the_handoff():
    latest = parse("inform", CRISIS)
    assert decide(latest, loop="unemployment_form") == "action_crisis_response"
    assert decide(latest, since=["action_crisis_response", "action_handoff"]) == "action_listen"
    assert decide(parse("nlu_fallback", CRISIS)) == "action_crisis_response"


def test_urgent_hands_off_at_once():
    assert decide(parse("ask_assistance", URGENT)) == "action_urgent_response"
    assert decide(parse("ask_assistance", URGENT), since=["action_urgent_response", "action_handoff"]) == "action_listen"


def test_concern_follows_the_answer_and_replaces_i_did_not_understand():
    latest = parse("ask_pension", CONCERN)
    assert decide(latest) is None  # the rules answer first
    assert decide(latest, since=["action_answer_topic"]) == "action_signal_followup"
    assert decide(latest, since=["action_answer_topic", "action_signal_followup"]) == "action_listen"
    assert decide(parse("nlu_fallback", CONCERN)) == "action_signal_followup"
    assert decide(latest, since=["unemployment_form"], loop="unemployment_form") is None


def test_nothing_to_say_leaves_the_other_policies_alone():
    latest = parse("ask_pension", signals())
    assert decide(latest) is None
    assert decide(latest, since=["action_answer_topic"]) is None


def test_conversation_complexity_is_offered_once():
    events = [{"event": "user", "text": "a", "parse_data": parse("ask_pension", signals(needs=["caring"]))},
              {"event": "user", "text": "b", "parse_data": parse("ask_assistance", signals(needs=["debt"]))}]
    latest = events[-1]["parse_data"]
    assert decide(latest, since=["action_answer_topic"], events=events) == "action_signal_followup"
    assert decide(latest, since=["action_answer_topic"], events=events,
                  recorded="several_needs; needs: caring, debt") is None


def test_an_appeal_after_a_decision_goes_to_the_followup_before_the_rule():
    events = [{"event": "action", "name": "action_pension_result"},
              {"event": "user", "text": "I want to appeal", "parse_data": parse("complaint_appeal", signals())}]
    assert decide(events[-1]["parse_data"], events=events) == "action_signal_followup"


# ------------------------------------------------------------------ the Rasa policy in the ensemble

@pytest.fixture(scope="module")
def policy(tmp_path_factory) -> SignalPolicy:
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    context = ExecutionContext(GraphSchema({}), "test")
    return SignalPolicy.create({**SignalPolicy.get_default_config()}, storage, Resource("signal"), context)


def rasa_tracker(events: List[Any], slots: Optional[Dict[str, Any]] = None) -> DialogueStateTracker:
    tracker = DialogueStateTracker.from_events("t", [ActionExecuted("action_listen")] + events,
                                               slots=DOMAIN.slots)
    for name, value in (slots or {}).items():
        tracker.update(SlotSet(name, value))
    return tracker


def test_a_crisis_inside_a_form_beats_the_form(policy):
    tracker = rasa_tracker([
        ActionExecuted("unemployment_form"), ActiveLoop("unemployment_form"),
        SlotSet("requested_slot", "uf_contribution_years"), ActionExecuted("action_listen"),
        UserUttered("我不想活了", parse_data=parse("inform", CRISIS)),
    ])
    mine = policy.predict_action_probabilities(tracker, DOMAIN)
    # What RulePolicy says inside an active form: the form, as a "no user" prediction.
    form = PolicyPrediction([0.0] * DOMAIN.num_actions, "RulePolicy", 6, is_no_user_prediction=True)
    form.probabilities[DOMAIN.index_for_action("unemployment_form")] = 1.0
    best = DefaultPolicyPredictionEnsemble().combine_predictions([form, mine], tracker, DOMAIN)
    assert DOMAIN.action_names_or_texts[best.max_confidence_index] == "action_crisis_response"
    assert best.policy_name == "SignalPolicy"


def test_no_signal_gives_an_empty_prediction(policy):
    tracker = rasa_tracker([UserUttered("pension?", parse_data=parse("ask_pension", signals()))])
    assert policy.predict_action_probabilities(tracker, DOMAIN).max_confidence == 0.0


# ------------------------------------------------------------------ the actions

def sdk_tracker(sig, language="zh", slots=None, events=None, loop=None, intent="inform") -> Tracker:
    latest = parse(intent, sig)
    return Tracker("t", {"language": language, **(slots or {})}, latest, events or [], False, None,
                   {"name": loop} if loop else {}, None)


def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN_DICT))
    return "\n".join(m.get("text") or "" for m in dispatcher.messages), dispatcher.messages, events


def slot(events, name):
    values = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name]
    return values[-1] if values else "<unset>"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_crisis_response_gives_the_contacts_stops_the_form_and_hands_off(language):
    tracker = sdk_tracker(CRISIS, language, slots={"requested_slot": "uf_contribution_years",
                                                   "uf_contribution_years": "我不想活了"},
                          loop="unemployment_form")
    text, _, events = run(ActionCrisisResponse(), tracker)
    for number in ("12356", "110", "120"):
        assert number in text
    assert ("心理援助热线" in text) == (language == "zh")
    assert ("psychological assistance hotline" in text) == (language == "en")
    assert {"event": "active_loop", "timestamp": None, "name": None} in events
    assert slot(events, "uf_contribution_years") is None and slot(events, "requested_slot") is None
    assert slot(events, "handoff_priority") == "crisis"
    assert "不想活" in slot(events, "handoff_reason") and "zh.crisis.want_to_die" in slot(events, "handoff_reason")
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "action_handoff"}
    assert "Question" not in text and "问题(共3个)" not in text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_someone_elses_crisis_is_answered_with_who_to_call_for_them(language):
    """"My father has bought the pesticide": the reply is about getting help for him now, not
    about the claimant's own feelings; the same contacts and a crisis handoff."""
    theirs = signals("crisis", [{"text": "农药,药都买好", "rule": "zh.rule.means_prepared@other"}])
    theirs["distress"]["about"] = "someone_else"
    text, _, events = run(ActionCrisisResponse(), sdk_tracker(theirs, language))
    own, _, _ = run(ActionCrisisResponse(), sdk_tracker(CRISIS, language))
    assert text.splitlines()[0] != own.splitlines()[0]
    assert ("如果对方现在就有危险" in text) == (language == "zh")
    assert ("If they are in danger right now" in text) == (language == "en")
    assert "您的感受很重要" not in text and "What you are feeling matters" not in text
    for number in ("12356", "110", "120"):
        assert number in text
    assert slot(events, "handoff_priority") == "crisis"
    assert "@other" in slot(events, "handoff_reason")


def test_the_contacts_come_from_configuration():
    numbers = [c["number"] for c in crisis_contacts.load()]
    assert numbers == ["12356", "120", "110"]


def test_the_handoff_names_the_contacts_the_crisis_response_gives(tmp_path):
    assert crisis_contacts.in_one_line("zh") == "12356 (全国统一心理援助热线)；120 (急救电话)；110 (报警电话)"
    assert crisis_contacts.in_one_line("en") == \
        "12356 (national psychological assistance hotline); 120 (medical emergency); 110 (police)"
    (tmp_path / "crisis_contacts.yml").write_text(
        "contacts:\n  - {number: '999', name: {zh: 急救, en: emergency}, when: {zh: 现在, en: now}}\n",
        encoding="utf-8")
    assert [c["number"] for c in crisis_contacts.load(str(tmp_path))] == ["999"]
    assert crisis_contacts.in_one_line("en", str(tmp_path)) == "999 (emergency)"
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "crisis_contacts.yml").write_text("contacts: []\n", encoding="utf-8")
    with pytest.raises(ValueError):
        crisis_contacts.load(str(tmp_path / "empty"))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_urgent_distress_is_handed_off_with_priority_urgent(language):
    text, _, events = run(ActionUrgentResponse(), sdk_tracker(URGENT, language))
    assert text and slot(events, "handoff_priority") == "urgent"
    assert "evicted" in slot(events, "handoff_reason")
    assert events[-1]["name"] == "action_handoff"


def test_concern_is_acknowledged_with_the_offer_of_a_person():
    text, messages, events = run(ActionSignalFollowup(), sdk_tracker(CONCERN, "en", intent="ask_pension"))
    assert "member of staff" in text
    assert slot(events, "pending_offer") == "handoff"
    assert [b["payload"] for b in messages[-1]["buttons"]] == ["/affirm", "/deny"]
    assert all(e.get("event") != "followup" for e in events)  # only an offer


def test_a_complex_conversation_is_offered_a_person_with_the_reason_recorded():
    history = [
        {"event": "user", "text": "I look after my dad", "parse_data": parse("ask_disability_care", signals(needs=["caring"]))},
        {"event": "action", "name": "action_answer_topic"},
        {"event": "user", "text": "and I owe two months rent", "parse_data": parse("ask_assistance", signals(needs=["housing"]))},
    ]
    text, _, events = run(ActionSignalFollowup(), sdk_tracker(signals(needs=["housing"]), "zh", events=history))
    assert "工作人员" in text
    assert slot(events, "complexity_reason") == "several_needs; needs: caring, housing"
    assert slot(events, "handoff_priority") == "complex" and slot(events, "pending_offer") == "handoff"


def test_an_appeal_after_a_result_is_handed_off_as_complex():
    history = [{"event": "action", "name": "action_unemployment_result"},
               {"event": "user", "text": "this is wrong, I appeal", "parse_data": parse("complaint_appeal", signals())}]
    _, _, events = run(ActionSignalFollowup(), sdk_tracker(signals(), "en", events=history, intent="complaint_appeal"))
    assert slot(events, "handoff_priority") == "complex"
    assert "appeal_after_decision" in slot(events, "handoff_reason")
    assert events[-1]["name"] == "action_handoff"
