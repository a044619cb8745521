"""A Rasa policy that puts the signals first: crisis and urgent distress pre-empt everything.

    policies:
      - name: bot.policies.signal_policy.SignalPolicy
        priority: 7          # above RulePolicy (6): wins every tie at confidence 1.0

What it predicts, after each claimant message (the pure logic is `next_action`, tested alone):
- distress `crisis`: `action_crisis_response` at once, whatever the state (an active form too:
  the prediction is made as a "no user" prediction, the tier RulePolicy uses to force a form);
  the action hands off, then this policy predicts `action_listen`;
- distress `urgent`: `action_urgent_response`, the same way;
- a complaint or appeal after a decision: `action_signal_followup`, which records the reason and
  hands off with priority `complex`;
- distress `concern`, or conversation complexity `high` not yet offered: `action_signal_followup`
  after the bot's answer (or instead of "I didn't understand" when the message was not understood);
- anything else: no opinion (all zeros), so the other policies decide.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Text

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from core.paths import ROOT
from bot.signals.conversation import FALLBACK_INTENT, assess
from bot.signals.detector import SignalDetector, detector_for

CRISIS_ACTION = "action_crisis_response"
URGENT_ACTION = "action_urgent_response"
FOLLOWUP_ACTION = "action_signal_followup"
HANDOFF_ACTION = "action_handoff"
OWN_ACTIONS = (CRISIS_ACTION, URGENT_ACTION, FOLLOWUP_ACTION)
DEFAULT_ANSWER_ACTIONS = (
    "action_answer_topic", "action_unemployment_result", "action_pension_result", "action_clarify",
    "action_decline_offer", "utter_out_of_scope", "utter_greet", "utter_thank", "utter_goodbye",
    "utter_anything_else", "utter_ok_whenever", "utter_check_stopped", "utter_bot_challenge",
)


def next_action(
    *,
    latest_message: Mapping[str, Any],
    actions_since_user: Sequence[str],
    events: Sequence[Mapping[str, Any]],
    active_loop: Optional[str],
    recorded_reason: Optional[str],
    answer_actions: Sequence[str] = DEFAULT_ANSWER_ACTIONS,
) -> Optional[str]:
    """The action this policy insists on, or None to let the other policies decide.

    `actions_since_user` are the names of actions run since the latest user message, in order;
    `events` are the conversation's event dicts (for conversation-level complexity)."""
    signals = latest_message.get("signals") or {}
    level = (signals.get("distress") or {}).get("level") or "none"
    last = actions_since_user[-1] if actions_since_user else ACTION_LISTEN_NAME
    done_here = [a for a in actions_since_user if a in OWN_ACTIONS]

    if level in ("crisis", "urgent"):
        wanted = CRISIS_ACTION if level == "crisis" else URGENT_ACTION
        if wanted not in actions_since_user:
            return wanted
        return ACTION_LISTEN_NAME if last in (wanted, HANDOFF_ACTION) else None

    if done_here:
        return ACTION_LISTEN_NAME if last in (FOLLOWUP_ACTION, HANDOFF_ACTION) else None

    intent = (latest_message.get("intent") or {}).get("name")
    complexity = assess(events)
    if not actions_since_user and "appeal_after_decision" in complexity.reasons:
        return FOLLOWUP_ACTION
    new_reasons = [r for r in complexity.reasons if r not in (recorded_reason or "")]
    wants_followup = level == "concern" or bool(new_reasons)
    if not wants_followup:
        return None
    if not actions_since_user:
        # Not understood, but the words show concern: acknowledge rather than "I didn't understand".
        return FOLLOWUP_ACTION if intent == FALLBACK_INTENT and level == "concern" else None
    if active_loop or last not in answer_actions:
        return None
    return FOLLOWUP_ACTION


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class SignalPolicy(Policy):
    """Nothing to learn: `train` only returns its resource. Configure `answer_actions` to list the
    actions after which a concern acknowledgement or a complexity offer may follow."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": 7, "answer_actions": list(DEFAULT_ANSWER_ACTIONS),
                "lexicon_path": "data/lexicons/signals"}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, featurizer: Any = None) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self._answer_actions = tuple(config.get("answer_actions") or DEFAULT_ANSWER_ACTIONS)
        self._lexicon_path = Path(config.get("lexicon_path") or "data/lexicons/signals")
        self._detector: Optional[SignalDetector] = None

    def _signals_of(self, parse_data: Mapping[str, Any], text: Optional[str]) -> Dict[str, Any]:
        """The parse result with its signals; computed here when the message came without them
        (an intent triggered over the HTTP API, or `rasa test --e2e`, which drops them)."""
        if parse_data.get("signals") or not text:
            return dict(parse_data)
        if self._detector is None:
            path = self._lexicon_path if self._lexicon_path.is_absolute() else ROOT / self._lexicon_path
            self._detector = detector_for(path)
        return {**parse_data, "signals": self._detector.detect(text)}

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain,
              **kwargs: Any) -> Resource:
        return self._resource

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: Optional[Dict[Text, Any]] = None,
                                     **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        since: List[str] = []
        for event in reversed(tracker.events):
            if isinstance(event, UserUttered):
                break
            if isinstance(event, ActionExecuted) and event.action_name:
                since.insert(0, event.action_name)
        latest = self._signals_of(tracker.latest_message.parse_data or {}, tracker.latest_message.text) \
            if tracker.latest_message else {}
        choice = next_action(
            latest_message=latest,
            actions_since_user=since,
            events=[e.as_dict() for e in tracker.events if isinstance(e, (UserUttered, ActionExecuted))],
            active_loop=tracker.active_loop_name,
            recorded_reason=tracker.get_slot("complexity_reason") if "complexity_reason" in tracker.slots else None,
            answer_actions=self._answer_actions,
        )
        if choice is None or choice not in domain.action_names_or_texts:
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(choice)] = 1.0
        # The "no user" tier is the one RulePolicy uses to force an active form: only there
        # does a crisis prediction outrank the form whatever RulePolicy says.
        return self._prediction(probabilities, is_no_user_prediction=True)
