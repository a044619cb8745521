"""An agent's capacity (issue 16, item 6): the most tickets they may hold at once, 3 unless their
account says otherwise. Claims past it are refused with a typed error, atomically with the Lua claim,
so concurrent claims cannot go past it. Against a real Redis and over a real WebSocket on loopback."""
from __future__ import annotations

import asyncio
import threading
from typing import List

import pytest
import websockets

from handoff import __main__ as cli
from handoff import agents
from core import redis_keys as k
from handoff.exceptions import AtCapacity, InvalidRequest
from handoff.queue import Queue, connect
from handoff.server import Desk
from handoff.settings import DeskSettings
from handoff.tickets import State

from test_desk_server import Console, enqueue

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def settings(redis_server) -> DeskSettings:
    client = connect(redis_server.url)
    client.flushdb()
    client.close()
    return DeskSettings(redis_url=redis_server.url, rasa_url="http://127.0.0.1:9", rasa_token="x", port=0,
                        sweep_interval_seconds=0.1)


@pytest.fixture
def queue(settings) -> Queue:
    return Queue(connect(settings.redis_url), settings)


def test_three_by_default_then_claims_are_refused_and_the_queue_is_left_as_it_was(queue):
    tickets = [enqueue(queue, f"c{n}") for n in range(5)]
    assert queue.capacity("li") == 3
    for ticket in tickets[:3]:
        assert queue.claim(ticket.id, agent="li").agent == "li"
    with pytest.raises(AtCapacity) as refused:
        queue.claim(tickets[3].id, agent="li")
    assert (refused.value.held, refused.value.capacity) == (3, 3)
    with pytest.raises(AtCapacity):
        queue.claim_next(agent="li", languages=["zh"])
    assert queue.waiting_ids("zh") == [tickets[3].id, tickets[4].id]  # nothing skipped or moved
    assert queue.get(tickets[3].id).state is State.WAITING
    queue.close(tickets[0].id, by="li", reason_code="resolved", holder="li")
    assert queue.claim_next(agent="li", languages=["zh"]).id == tickets[3].id
    assert queue.claim(tickets[4].id, agent="wang").agent == "wang"  # another agent is not limited by li


def test_a_capacity_per_account(queue):
    agents.add_agent(queue.redis, "li", languages=["zh"], capacity=1)
    first, second = enqueue(queue, "c1"), enqueue(queue, "c2")
    queue.claim(first.id, agent="li")
    with pytest.raises(AtCapacity):
        queue.claim(second.id, agent="li")
    agents.set_capacity(queue.redis, "li", 2)
    assert queue.claim(second.id, agent="li") is not None
    agents.set_capacity(queue.redis, "li", None)
    assert queue.capacity("li") == 3
    for wrong in (0, -1, 1001, 2.5, "3", True):
        with pytest.raises(InvalidRequest):
            agents.set_capacity(queue.redis, "li", wrong)
    agents.revoke(queue.redis, "li")
    assert queue.redis.hget(k.AGENT_CAPACITY, "li") is None


def test_concurrent_claims_by_one_agent_never_go_past_the_capacity(queue, settings):
    agents.set_capacity(queue.redis, "li", 2)
    tickets = [enqueue(queue, f"c{n}") for n in range(12)]
    start = threading.Barrier(12)
    won: List[str] = []
    refused: List[str] = []

    def claim(ticket_id: str) -> None:
        own = Queue(connect(settings.redis_url), settings)
        start.wait()
        try:
            if own.claim(ticket_id, agent="li") is not None:
                won.append(ticket_id)
        except AtCapacity:
            refused.append(ticket_id)

    threads = [threading.Thread(target=claim, args=(ticket.id,)) for ticket in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 2 and len(refused) == 10
    assert queue.redis.smembers(k.AGENT_TICKETS + "li") == set(won)
    assert sorted(queue.waiting_ids("zh")) == sorted(refused)


def test_the_console_is_told_its_capacity_and_a_claim_past_it_is_a_typed_error(settings, queue):
    token = agents.add_agent(queue.redis, "li", languages=["zh"], capacity=1)
    first, second = enqueue(queue, "c1"), enqueue(queue, "c2")

    async def scenario():
        desk = await Desk.create(settings).serve(port=0)
        try:
            console = Console(await websockets.connect(f"ws://127.0.0.1:{desk.port}/agent"))
            await console.socket.send('{"type": "auth", "token": "%s"}' % token)
            hello = await console.next("hello")
            snapshot = await console.next("snapshot")
            assert (await console.ask("claim", ticket_id=first.id))["type"] == "ok"
            over = await console.ask("claim", ticket_id=second.id)
            over_next = await console.ask("claim_next")
            return hello, snapshot, over, over_next
        finally:
            await desk.stop()

    hello, snapshot, over, over_next = asyncio.run(scenario())
    assert hello["capacity"] == 1 and snapshot["capacity"] == 1
    assert (over["type"], over["code"]) == ("error", "at_capacity") and "at most 1" in over["message"]
    assert over_next["code"] == "at_capacity"
    assert queue.get(second.id).state is State.WAITING and queue.waiting_ids("zh") == [second.id]


def test_the_command_line_sets_the_capacity(queue, redis_server, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("RENBEN_VAR_DIR", str(tmp_path))
    assert cli.main(["add-agent", "li", "--languages", "zh", "--capacity", "5"]) == 0
    assert queue.capacity("li") == 5
    assert cli.main(["set-capacity", "li", "2"]) == 0
    assert queue.capacity("li") == 2
    assert cli.main(["set-capacity", "li", "default"]) == 0 and queue.capacity("li") == 3
    assert cli.main(["add-agent", "wang", "--languages", "zh", "--capacity", "0"]) == 2  # refused, said why
    assert "capacity" in capsys.readouterr().err
