"""The action server killed (SIGKILL) while claimants' turns wait on it (issue 17, item 2).

Two claimants, one in each language, each with a message in flight (its turn blocked on the
action server) and one queued behind it. The action server is stopped, then killed, and the
launcher's supervisor restarts it. Every message must end up in the tracker exactly once with an
answer after it, be acknowledged exactly once, and be answered within ANSWER_BOUND seconds of the
action server serving again. Before bot/turn_guard.py, Rasa logged the failed action, saved the
message with no answer and the widget had its ack: the message was lost."""
from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import urllib.request
from typing import Dict, List, Tuple

import pytest
import redis

from tooling.launch import supervise
from tooling.supervision import HealthWatch, RestartPolicy
from conftest import Client, has_chinese, start_stack
from faults.table import outcome_of, record
from test_web_channel import Widget, ws_url

pytestmark = pytest.mark.stack

#: Seconds from the action server answering /health again to every held message answered: the
#: channel's retry waits at most 4 s between attempts (bot/turn_guard.py RetrySchedule), then
#: the held turns run one after the other.
ANSWER_BOUND = 15.0

QUESTIONS = {
    "en": ["How do I apply for unemployment benefit?", "What documents do I need for my pension?"],
    "zh": ["失业保险金怎么申请?", "领取养老金需要什么材料?"],
}


@pytest.fixture(scope="module")
def supervised(model_path, tmp_path_factory):
    """Rasa and the action server on their own Redis, under the launcher's supervisor."""
    stack = start_stack(model_path, tmp_path_factory.mktemp("faults-var"))
    stop = threading.Event()
    thread = threading.Thread(target=supervise, args=(stack, stop.is_set),
                              kwargs={"policy": RestartPolicy(), "poll": 0.1, "say": lambda text: None,
                                      "watch": HealthWatch(), "health_every": 5.0}, daemon=True)
    thread.start()
    yield stack
    stop.set()
    thread.join(timeout=10)
    stack.stop()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def test_a_killed_action_server_loses_and_doubles_nothing(supervised):
    stack = supervised
    client = Client(stack.rasa_url, stack.settings.token())
    locks = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    actions = stack.processes["actions"]

    async def scenario() -> Tuple[Dict[str, List[str]], Dict[str, Widget], float, Dict[str, float]]:
        widgets = {language: Widget(ws_url(stack)) for language in QUESTIONS}
        sent: Dict[str, List[str]] = {}
        for language, widget in widgets.items():
            await widget.open(language=language)
            await widget.ack_of(await widget.say("hello" if language == "en" else "你好"), timeout=60)
        os.killpg(actions.pid, signal.SIGSTOP)  # every action call now waits: the turns are in flight
        try:
            for language, widget in widgets.items():
                sent[language] = [await widget.say(text) for text in QUESTIONS[language]]
            for widget in widgets.values():
                conversation = widget.session["conversation_id"]
                await _until(lambda: locks.get(f"renben:lock:{conversation}") is not None, 30)
            await asyncio.sleep(2.0)  # NLU done: both turns wait on the action server
        finally:
            os.killpg(actions.pid, signal.SIGKILL)  # kill -9 mid-turn; the supervisor restarts it
        await _until(lambda: stack.processes["actions"].pid != actions.pid
                     and healthy(f"{stack.actions_url}/health"), 120)
        serving = time.monotonic()
        answered_at: Dict[str, float] = {}
        deadline = serving + 120
        while len(answered_at) < sum(map(len, sent.values())) and time.monotonic() < deadline:
            for language, widget in widgets.items():
                for frame in widget.frames:
                    if frame["type"] in ("ack", "error") and frame.get("id") in sent[language]:
                        answered_at.setdefault(frame["id"], time.monotonic())
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # room for a second ack, were there one
        for widget in widgets.values():
            await widget.close()
        return sent, widgets, serving, answered_at

    sent, widgets, serving, answered_at = asyncio.run(asyncio.wait_for(scenario(), 400))

    outcomes, waits = [], []
    for language, widget in widgets.items():
        events = client.tracker(widget.session["conversation_id"])["events"]
        for message_id in sent[language]:
            outcomes.append(outcome_of(events, message_id))
            assert message_id in answered_at, (message_id, widget.frames)
            frames = [f for f in widget.frames if f.get("id") == message_id and f["type"] in ("ack", "error")]
            assert [f["type"] for f in frames] == ["ack"] and not frames[0].get("duplicate"), frames
            waits.append(max(0.0, answered_at[message_id] - serving))
    row = record("action server SIGKILL mid-turn", outcomes, waits)
    assert (row.answered, row.lost, row.doubled) == (row.sent, 0, 0), (row, outcomes)
    assert row.worst_wait is not None and row.worst_wait <= ANSWER_BOUND, row
    for language, widget in widgets.items():  # each answer shown once, in the claimant's language
        texts = widget.bot_texts()
        assert len(texts) == len(set(texts)), texts
        assert has_chinese(texts[-1]) == (language == "zh"), texts


async def _until(predicate, timeout: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {timeout} s")
