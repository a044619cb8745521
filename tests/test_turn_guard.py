"""A turn whose custom action failed is not saved and is run again within a bound (issue 17,
item 2): the schedule, the request id the actions key their effects on, and the guard itself
around Rasa's own processor with an action server that refuses connections."""
from __future__ import annotations

import asyncio

import pytest

from actions.turns import request_id
from bot import turn_guard
from bot.turn_guard import RetrySchedule, TurnNotFinished


def test_the_retries_back_off_and_stop_at_the_bound():
    schedule = RetrySchedule(within=10.0)
    waits, elapsed = [], 0.0
    while (wait := schedule.next_wait(elapsed)) is not None:
        waits.append(wait)
        elapsed += wait + 0.5  # the attempt itself
    assert waits == [0.5, 1.0, 2.0, 4.0] and elapsed <= 10.0 + 0.5
    assert RetrySchedule(within=0).next_wait(0.0) is None


def test_the_request_id_is_the_channels_id_of_the_latest_claimant_message():
    events = [{"event": "user", "metadata": {"client_message_id": "old"}},
              {"event": "bot", "text": "hi"},
              {"event": "user", "metadata": {"wechat_key": "wx-key-1"}},
              {"event": "action", "name": "action_handoff"}]
    assert request_id(events) == "wx-key-1"
    assert request_id(events[:2]) == "old"
    assert request_id([{"event": "user", "metadata": {}}]) is None  # REST: no id, no dedupe
    assert request_id([]) is None


def test_a_failed_custom_action_leaves_nothing_saved(monkeypatch):
    from rasa.core.actions import action as rasa_action
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    action = RemoteAction("action_answer_topic", EndpointConfig("http://127.0.0.1:9/webhook"))  # nobody there
    ran = []

    async def loop(self, output_channel, tracker):  # Rasa's loop runs an action; _run_action swallows errors
        try:
            await action.run(output_channel, None, tracker, Domain.empty())
        except Exception:  # noqa: BLE001 - as rasa.core.processor does
            ran.append("failed")

    monkeypatch.setattr(RemoteAction, "run", RemoteAction.run)  # each put back after the test
    monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT", rasa_action.DEFAULT_REQUEST_TIMEOUT)
    monkeypatch.setattr(MessageProcessor, "_run_prediction_loop", loop)
    monkeypatch.setattr(MessageProcessor, "_renben_turn_guard", False, raising=False)
    turn_guard.install(timeout=2)
    tracker = DialogueStateTracker("c1", [])
    with pytest.raises(TurnNotFinished) as raised:
        asyncio.run(MessageProcessor._run_prediction_loop(object(), CollectingOutputChannel(), tracker))
    assert ran == ["failed"] and raised.value.actions == ("action_answer_topic",)
