"""The ticket queue against a real Redis, flushed before each test."""
from __future__ import annotations

import calendar
import threading
from typing import List, Optional

import pytest

from core import redis_keys as k
from handoff.exceptions import InvalidRequest, NotHolder, TicketNotFound, UnknownAgent
from handoff.queue import Queue, connect
from handoff.settings import DeskSettings, StaffedHours
from handoff.tickets import CallbackRequest, Priority, State


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(redis_server) -> DeskSettings:
    return DeskSettings(redis_url=redis_server.url, grace_seconds=30, sweep_interval_seconds=1,
                        thresholds={Priority.CRISIS: 60, Priority.REQUESTED: 600})


@pytest.fixture
def queue(redis_server, settings, clock) -> Queue:
    client = connect(redis_server.url)
    client.flushdb()
    yield Queue(client, settings, clock=clock)
    client.close()


def enqueue(queue: Queue, conversation: str, priority: str = "requested", language: str = "zh",
            callback: Optional[CallbackRequest] = None):
    return queue.enqueue(conversation_id=conversation, channel="web", language=language,
                         priority=priority, reason="asked for a person", brief={"n": conversation},
                         callback=callback)


def test_enqueue_is_idempotent_per_conversation(queue):
    first = enqueue(queue, "c1")
    again = enqueue(queue, "c1")
    assert again.id == first.id
    assert queue.waiting_ids("zh") == [first.id]
    assert queue.open_ticket("c1").id == first.id


def test_a_second_enqueue_that_is_more_urgent_raises_the_open_ticket(queue):
    first = enqueue(queue, "c1")
    other = enqueue(queue, "c2", "urgent")
    again = enqueue(queue, "c1", "crisis")
    assert again.id == first.id and again.priority is Priority.CRISIS
    assert queue.waiting_ids("zh") == [first.id, other.id]


def test_priorities_first_then_arrival_order(queue, clock):
    order = ["requested", "complex", "requested", "crisis", "urgent", "complex"]
    made = []
    for n, priority in enumerate(order):
        clock.now += 1
        made.append(enqueue(queue, f"c{n}", priority))
    served = [queue.get(i).conversation_id for i in queue.waiting_ids("zh")]
    assert served == ["c3", "c4", "c1", "c5", "c0", "c2"]
    assert [queue.position(m.id) for m in made] == [5, 3, 6, 1, 2, 4]


def test_claim_next_routes_by_the_agents_languages(queue):
    zh = enqueue(queue, "c-zh", "requested", "zh")
    en = enqueue(queue, "c-en", "urgent", "en")
    queue.agent_online("li", languages=["zh"])
    assert queue.claim_next(agent="li", languages=["zh"]).id == zh.id
    assert queue.claim_next(agent="li", languages=["zh"]) is None
    assert queue.waiting_ids("en") == [en.id]


def test_claim_assigns_once_and_a_second_claim_returns_none(queue):
    ticket = enqueue(queue, "c1")
    won = queue.claim(ticket.id, agent="a1")
    assert won.state is State.ASSIGNED and won.agent == "a1"
    assert queue.claim(ticket.id, agent="a2") is None
    assert queue.waiting_ids("zh") == []
    assert [x.id for x in queue.agent_tickets("a1")] == [ticket.id]
    with pytest.raises(TicketNotFound):
        queue.claim("nope", agent="a1")


def test_exactly_one_of_many_threads_wins_a_claim(queue, redis_server, settings):
    ticket = enqueue(queue, "c1")
    winners: List[str] = []
    barrier = threading.Barrier(20)

    def contend(n: int) -> None:
        own = Queue(connect(redis_server.url), settings)  # a connection of its own
        barrier.wait()
        if own.claim(ticket.id, agent=f"agent{n}") is not None:
            winners.append(f"agent{n}")

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    stored = queue.get(ticket.id)
    assert stored.agent == winners[0]
    assert [e.event for e in stored.history] == ["enqueued", "claimed"]


def test_two_connections_interleaved_claim_one_wins(queue, redis_server, settings, clock):
    ticket = enqueue(queue, "c1")
    other = Queue(connect(redis_server.url), settings, clock=clock)
    # Both read the waiting ticket before either commits: the second commit must lose.
    original_load = other._load
    reads = []

    def load_then_let_the_first_win(ticket_id):
        result = original_load(ticket_id)
        if not reads:
            reads.append(1)
            assert queue.claim(ticket_id, agent="first") is not None
        return result

    other._load = load_then_let_the_first_win
    assert other.claim(ticket.id, agent="second") is None
    assert queue.get(ticket.id).agent == "first"


def test_release_keeps_the_place_and_only_the_holder_may_release(queue):
    first = enqueue(queue, "c1")
    second = enqueue(queue, "c2")
    queue.claim(first.id, agent="a1")
    with pytest.raises(NotHolder):
        queue.release(first.id, agent="a2")
    queue.release(first.id, agent="a1")
    assert queue.waiting_ids("zh") == [first.id, second.id]
    assert queue.agent_tickets("a1") == []


def test_transfer_to_an_agent_and_to_a_language_queue(queue):
    ticket = enqueue(queue, "c1")
    queue.claim(ticket.id, agent="a1")
    with pytest.raises(UnknownAgent):
        queue.transfer_to_agent(ticket.id, to_agent="ghost", by="a1", holder="a1")
    queue.agent_online("a2", languages=["zh"])
    moved = queue.transfer_to_agent(ticket.id, to_agent="a2", by="a1", holder="a1")
    assert moved.agent == "a2"
    assert [x.id for x in queue.agent_tickets("a2")] == [ticket.id] and queue.agent_tickets("a1") == []
    back = queue.transfer_to_language(ticket.id, language="en", by="a2", holder="a2")
    assert back.state is State.WAITING and back.language == "en"
    assert queue.waiting_ids("en") == [ticket.id] and queue.waiting_ids("zh") == []
    events = [e.event for e in queue.history(ticket.id)]
    assert events == ["enqueued", "claimed", "transferred", "transferred"]


def test_return_to_bot_and_close_end_the_ticket_and_free_the_conversation(queue, clock):
    ticket = enqueue(queue, "c1")
    queue.claim(ticket.id, agent="a1")
    clock.now += 120
    returned = queue.return_to_bot(ticket.id, by="a1", holder="a1")
    assert returned.state is State.RETURNED and queue.open_ticket("c1") is None
    assert queue.redis.lrange(k.HANDLING_TIMES + "zh", 0, -1) == ["120.0"]
    second = enqueue(queue, "c1")
    assert second.id != ticket.id
    with pytest.raises(InvalidRequest):
        queue.close(second.id, by="a1", reason_code="bored")
    closed = queue.close(second.id, by="a1", reason_code="resolved", note="explained the rules")
    assert closed.close_reason == "resolved" and closed.close_note == "explained the rules"
    last = queue.history(second.id)[-1]
    assert (last.event, last.by, last.detail["note"]) == ("closed", "a1", "explained the rules")


def test_raise_priority_moves_a_waiting_ticket_up_at_once(queue):
    early = enqueue(queue, "c1", "urgent")
    late = enqueue(queue, "c2", "requested")
    raised = queue.raise_priority(late.id, priority="crisis", by="claimant",
                                  evidence={"text": "不想活了", "rule": "zh.crisis.1"})
    assert raised.priority is Priority.CRISIS
    assert queue.waiting_ids("zh") == [late.id, early.id]
    assert queue.raise_priority(late.id, priority="urgent", by="claimant").priority is Priority.CRISIS
    assert queue.history(late.id)[-1].detail["evidence"]["rule"] == "zh.crisis.1"


def test_position_and_estimate(queue):
    for n in range(3):
        enqueue(queue, f"c{n}")
    last = queue.open_ticket("c2")
    estimate = queue.estimate(last.id)
    assert estimate.position == 3 and estimate.agents_online == 0 and estimate.seconds is None
    queue.agent_online("a1", languages=["zh"])
    queue.agent_online("a2", languages=["zh", "en"])
    queue.agent_status("a2", "away")
    estimate = queue.estimate(last.id)
    assert estimate.agents_online == 1
    assert estimate.seconds == 3 * queue.settings.default_handling_seconds


def test_disconnected_agent_keeps_tickets_within_grace_then_they_go_back_at_the_head(queue, clock):
    held = enqueue(queue, "c1", "urgent")
    queue.agent_online("a1", languages=["zh"])
    queue.claim(held.id, agent="a1")
    waiting = enqueue(queue, "c2", "urgent")
    queue.agent_disconnected("a1")
    clock.now += 10
    assert queue.sweep_presence() == []
    clock.now += 25
    requeued = queue.sweep_presence()
    assert [x.id for x in requeued] == [held.id]
    assert queue.waiting_ids("zh") == [held.id, waiting.id]
    assert queue.history(held.id)[-1].event == "requeued"
    assert queue.agents_online("zh") == 0


def test_a_connected_agent_is_not_swept(queue, clock):
    held = enqueue(queue, "c1")
    queue.agent_online("a1", languages=["zh"])
    queue.claim(held.id, agent="a1")
    clock.now += 31
    queue.heartbeat(["a1"])
    assert queue.sweep_presence() == []
    assert queue.get(held.id).agent == "a1"


def test_reconnecting_within_grace_keeps_the_tickets(queue, clock):
    held = enqueue(queue, "c1")
    queue.agent_online("a1", languages=["zh"])
    queue.claim(held.id, agent="a1")
    queue.agent_disconnected("a1")
    clock.now += 20
    queue.agent_online("a1", languages=["zh"])
    clock.now += 20
    assert queue.sweep_presence() == []
    assert queue.get(held.id).state is State.ASSIGNED


def test_wait_thresholds_raise_one_alert_per_wait(queue, clock):
    crisis = enqueue(queue, "c1", "crisis")
    enqueue(queue, "c2", "requested")
    clock.now += 61
    alerts = queue.check_waits()
    assert [(a.ticket_id, a.priority) for a in alerts] == [(crisis.id, Priority.CRISIS)]
    assert queue.check_waits() == []
    assert queue.alerts()[0].ticket_id == crisis.id


def test_callback_tickets_route_by_the_requested_language_and_do_not_block_a_live_wait(queue):
    request = CallbackRequest.create(contact_kind="phone", contact="138 0013 8000",
                                     preferred_time="weekday mornings", language="en")
    callback = enqueue(queue, "c1", "callback", "zh", callback=request)
    assert callback.language == "en" and callback.callback.contact == "13800138000"
    live = enqueue(queue, "c1", "requested")
    assert live.id != callback.id
    crisis_callback = enqueue(queue, "c2", "crisis", callback=request)
    assert queue.waiting_ids("en") == [crisis_callback.id, callback.id]
    with pytest.raises(InvalidRequest):
        enqueue(queue, "c3", "callback")


def test_a_callback_left_while_the_live_ticket_waits_is_queued_beside_it(queue):
    # The desk takes a number written while nobody is online: the live ticket is still open then.
    live = enqueue(queue, "c1", "requested")
    request = CallbackRequest.create(contact_kind="phone", contact="13800138000", language="zh")
    callback = enqueue(queue, "c1", "callback", callback=request)
    assert callback.id != live.id and callback.callback is not None
    assert queue.open_ticket("c1").id == live.id
    assert queue.waiting_ids("zh") == [live.id, callback.id]


def test_staffed_hours():
    hours = StaffedHours.parse("mon-fri 08:30-17:30", utc_offset_hours=8)
    friday_9am = calendar.timegm((2027, 1, 15, 1, 0, 0))  # 09:00 in UTC+8, a Friday
    saturday_9am = calendar.timegm((2027, 1, 16, 1, 0, 0))
    friday_6pm = calendar.timegm((2027, 1, 15, 10, 0, 0))
    assert hours.is_open(friday_9am)
    assert not hours.is_open(saturday_9am) and not hours.is_open(friday_6pm)
    assert StaffedHours.parse("").is_open(saturday_9am)
    with pytest.raises(InvalidRequest):
        StaffedHours.parse("weekdays")


def test_the_same_request_made_again_gets_its_ticket_unchanged_and_no_second_callback(queue):
    """A turn run again after a crash (bot/turn_guard.py), or a desk stream entry acted on again,
    repeats its enqueue with the same request id: one ticket, one history, one callback."""
    first = queue.enqueue(conversation_id="c1", channel="web", language="zh", priority="requested",
                          reason="asked for a person", brief={}, request_id="m1")
    again = queue.enqueue(conversation_id="c1", channel="web", language="zh", priority="crisis",
                          reason="asked for a person", brief={}, request_id="m1")
    assert again.id == first.id and again.priority is Priority.REQUESTED
    assert len(queue.get(first.id).history) == 1
    request = CallbackRequest.create(contact_kind="phone", contact="13800138000", language="zh")
    callbacks = [queue.enqueue(conversation_id="c1", channel="web", language="zh", priority="callback",
                               reason="callback", brief={}, callback=request, by="claimant",
                               request_id="1700000000000-0") for _ in range(2)]
    assert callbacks[0].id == callbacks[1].id
    assert len(queue.redis.smembers(k.CONVERSATION_TICKETS + "c1")) == 2  # the live one and one callback
    other = queue.enqueue(conversation_id="c1", channel="web", language="zh", priority="callback",
                          reason="callback", brief={}, callback=request, by="claimant", request_id="m2")
    assert other.id != callbacks[0].id  # another message asking again is another request
