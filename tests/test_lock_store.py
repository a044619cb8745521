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
from urllib.parse import urlparse

from bot.lock_store import RenewingLockStore
from core.settings import ROOT


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
from bot.lock_store import RenewingLockStore
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
