"""An agent's message written once per id (handoff/agent_messages.py) against a real Redis."""
from __future__ import annotations

import json

from core import redis_keys
from handoff.agent_messages import AgentMessages, in_tracker


def test_a_resend_finds_the_first_attempts_time_and_writes_the_outbox_once(r):
    store = AgentMessages(r)
    first = store.begin("t1", "m1", 100.0)
    assert (first.again, first.tracker, first.outbox, first.at) == (False, False, False, 100.0)
    store.in_tracker("t1", "m1")
    entry = {"id": "e", "conversation_id": "c1", "type": "agent_message", "language": "zh", "text": "您好"}
    assert store.send_once("t1", "m1", "web", entry) is True
    again = store.begin("t1", "m1", 200.0)  # the console's resend, after a desk restart
    assert (again.again, again.tracker, again.outbox, again.at) == (True, True, True, 100.0)
    assert store.send_once("t1", "m1", "web", entry) is False
    written = [json.loads(f["data"]) for _, f in r.xrange(redis_keys.OUTBOX + "web")]
    assert written == [entry]
    assert 0 < r.ttl(store.key("t1", "m1")) <= 24 * 3600


def test_the_tracker_is_searched_by_the_message_id():
    events = [{"event": "user", "text": "hi", "metadata": {"message_id": "m1"}},
              {"event": "bot", "text": "您好", "metadata": {"agent_id": "li", "message_id": "m2"}}]
    assert in_tracker(events, "m2") and not in_tracker(events, "m1") and not in_tracker([], "m2")
