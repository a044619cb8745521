"""A crashed turn lets go of its conversation within seconds (issue 17, item 4): the lock store's
tickets are short and renewed while their turn runs (bot/lock_store.py), against a real Redis.
The whole path through Rasa (a turn in flight when Rasa is killed) is in test_redis_outage.py."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List
from urllib.parse import urlparse

from bot.lock_store import WAIT_SECONDS, RenewingLockStore
from bot.settings import ROOT


def store_for(url: str, lifetime: float) -> RenewingLockStore:
    parsed = urlparse(url)
    return RenewingLockStore(host=parsed.hostname, port=parsed.port, password=parsed.password,
                             key_prefix="renben", lifetime_seconds=lifetime)


def test_a_renewed_ticket_keeps_rasas_format(redis_server, r):
    store = store_for(redis_server.url, 5)
    ticket = store.issue_ticket("c1", 5)
    before = store.get_lock("c1").tickets[0].expires
    time.sleep(0.05)
    assert store.renew("c1", ticket) and not store.renew("c1", ticket + 1)
    lock = store.get_lock("c1")
    assert [t.number for t in lock.tickets] == [ticket] and lock.tickets[0].expires > before
    assert lock.conversation_id == "c1"
    assert not store.renew("nobody", 0)


def test_a_turn_longer_than_the_lifetime_keeps_its_lock_and_the_next_waits_for_it(redis_server, r):
    holder, other = store_for(redis_server.url, 0.6), store_for(redis_server.url, 0.6)
    times = {}

    async def first() -> None:
        async with holder.lock("c2"):
            await asyncio.sleep(2.0)  # over three lifetimes
            times["released"] = time.monotonic()

    async def second() -> None:
        await asyncio.sleep(0.2)
        async with other.lock("c2", wait_time_in_seconds=0.1):
            times["acquired"] = time.monotonic()

    async def both() -> None:
        await asyncio.gather(first(), second())

    asyncio.run(both())
    assert times["acquired"] >= times["released"]
    assert r.get("renben:lock:c2") is None  # cleaned up


HOLD = """
import asyncio, sys
from urllib.parse import urlparse
from bot.lock_store import WAIT_SECONDS, RenewingLockStore
u = urlparse(sys.argv[1])
store = RenewingLockStore(host=u.hostname, port=u.port, password=u.password, key_prefix="renben",
                          lifetime_seconds=float(sys.argv[2]))
async def main():
    async with store.lock("c3"):
        print("held", flush=True)
        await asyncio.sleep(3600)
asyncio.run(main())
"""


def test_a_killed_holder_lets_go_within_the_lifetime(redis_server, r):
    lifetime = 1.5
    holder = subprocess.Popen([sys.executable, "-c", HOLD, redis_server.url, str(lifetime)], cwd=ROOT,
                              stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == b"held"
        time.sleep(lifetime * 2)  # renewed meanwhile: still held
        lock = json.loads(r.get("renben:lock:c3"))
        assert len(lock["tickets"]) == 1 and json.loads(lock["tickets"][0])["expires"] > time.time()
        holder.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        waited = {}

        async def take() -> None:
            async with store_for(redis_server.url, lifetime).lock("c3", wait_time_in_seconds=0.1):
                waited["seconds"] = time.monotonic() - killed

        asyncio.run(asyncio.wait_for(take(), timeout=30))
        assert waited["seconds"] <= lifetime + 1.0, waited
    finally:
        holder.kill()
        holder.wait()


def test_rasa_builds_it_from_endpoints(redis_server):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    parsed, lifetime = urlparse(redis_server.url), 7.0
    config = EndpointConfig(url=parsed.hostname, type="bot.lock_store.RenewingLockStore", port=parsed.port,
                            db=0, password=parsed.password, key_prefix="renben", lifetime_seconds=lifetime)
    store = LockStore.create(config)
    assert isinstance(store, RenewingLockStore) and store.lifetime == lifetime
    assert store.key_prefix == "renben:lock:" and store.red.ping()


# Two Rasa processes act on one conversation's lock at the same moment (issue 21: the scale-out
# bench lost acknowledged messages this way). Rasa's RedisLockStore reads the lock, changes it and
# writes it back in separate commands, so what another process wrote in between was overwritten.
# Each test lets another store act between `store`'s read and its write, if it reads at all.

@contextmanager
def interleaved(store: RenewingLockStore, conversation_id: str, other: Callable[[], None]) -> Iterator[List[bool]]:
    """While inside, `store`'s first GET of the lock of `conversation_id` runs `other` just after
    reading; yields [True] once that happened."""
    original, key, fired = store.red.get, store.key_prefix + conversation_id, []

    def get(name: Any, *args: Any, **kwargs: Any) -> Any:
        value = original(name, *args, **kwargs)
        if name == key and not fired:
            fired.append(True)
            other()
        return value

    store.red.get = get
    try:
        yield fired
    finally:
        store.red.get = original


def test_two_processes_asking_at_once_get_different_tickets(redis_server, r):
    a, b = store_for(redis_server.url, 5), store_for(redis_server.url, 5)
    issued: Dict[str, int] = {}
    with interleaved(a, "c4", lambda: issued.setdefault("b", b.issue_ticket("c4", 5))) as fired:
        issued["a"] = a.issue_ticket("c4", 5)
    if not fired:  # issuing is one step: the other process's ticket comes after
        issued["b"] = b.issue_ticket("c4", 5)
    assert issued["a"] != issued["b"], "two turns would hold the lock at once"
    assert sorted(t.number for t in a.get_lock("c4").tickets) == sorted(issued.values())


def test_a_ticket_asked_for_while_the_holder_lets_go_is_kept(redis_server, r):
    a, b = store_for(redis_server.url, 5), store_for(redis_server.url, 5)
    held = a.issue_ticket("c5", 5)
    waiting: List[int] = []
    with interleaved(a, "c5", lambda: waiting.append(b.issue_ticket("c5", 5))) as fired:
        a.cleanup("c5", held)
    if not fired:
        waiting.append(b.issue_ticket("c5", 5))
    lock = b.get_lock("c5")
    assert lock is not None, "the waiting turn's ticket was deleted with the lock"
    assert [t.number for t in lock.tickets] == waiting and not lock.is_locked(waiting[0])


def test_a_waiter_tidying_the_lock_keeps_a_ticket_asked_for_meanwhile(redis_server, r):
    a, b, c = (store_for(redis_server.url, 5) for _ in range(3))
    tickets = [a.issue_ticket("c6", 5), b.issue_ticket("c6", 5)]
    with interleaved(b, "c6", lambda: tickets.append(c.issue_ticket("c6", 5))) as fired:
        b.update_lock("c6")  # what a waiting turn does between its tries
    if not fired:
        tickets.append(c.issue_ticket("c6", 5))
    assert [t.number for t in a.get_lock("c6").tickets] == tickets == [0, 1, 2]


def test_a_turn_waiting_as_rasa_calls_it_looks_again_every_tenth_of_a_second(redis_server, r, monkeypatch):
    """Rasa's own 1 s made the second of two messages written at once wait on average half a
    second after the first was done (bench/scale_out.py)."""
    store, waits = store_for(redis_server.url, 5), []
    acquire = store._acquire_lock

    async def recorded(conversation_id: str, ticket: int, wait: float) -> Any:
        waits.append(wait)
        return await acquire(conversation_id, ticket, wait)

    monkeypatch.setattr(store, "_acquire_lock", recorded)

    async def turn() -> None:
        async with store.lock("c7"):  # as rasa.core.agent.Agent.handle_message does
            pass

    asyncio.run(turn())
    assert waits == [WAIT_SECONDS] and WAIT_SECONDS <= 0.1
