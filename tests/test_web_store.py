"""The web channel's message claims (bot/channels/web/delivery.py) against a real Redis."""
from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from bot.channels.web import constants as keys
from bot.channels.web.delivery import Store
from core import redis_keys
from tooling import embedded_redis

CONVERSATION = "web-store-test"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A Redis of this module's own: a web process of a stack another module left running on the
    shared one reads the same outbox group, and would copy and acknowledge these tests' entries."""
    server = embedded_redis.start(tmp_path_factory.mktemp("web-store-redis"), persist=False)
    yield server
    server.stop()


def run(coroutine):
    return asyncio.run(coroutine)


def key(message_id: str) -> str:
    return f"{redis_keys.WEB_MESSAGE_STATE}{CONVERSATION}:{message_id}"


async def stores(redis_server, *instances: str):
    """One Store per process name, each with a client (a connection pool) of its own."""
    return [Store(aioredis.Redis.from_url(redis_server.url, decode_responses=True), name) for name in instances]


async def close(*opened: Store) -> None:
    for store in opened:
        await store.redis.close()


def test_a_claim_takes_an_unknown_message_and_returns_the_state_it_found(redis_server, r):
    async def scenario():
        a, b = await stores(redis_server, "a", "b")
        assert await a.claim(CONVERSATION, "m1") is None  # unknown: a owns it now
        assert r.get(key("m1")) == "pending:a"
        assert 0 < r.ttl(key("m1")) <= keys.PENDING_TTL
        assert await b.claim(CONVERSATION, "m1") == "pending:a"  # nothing changed
        assert await a.claim(CONVERSATION, "m1") == "pending:a"
        await a.mark_done(CONVERSATION, "m1")
        assert await b.claim(CONVERSATION, "m1") == "done"
        assert r.get(key("m1")) == "done" and r.ttl(key("m1")) > keys.PENDING_TTL
        await a.release(CONVERSATION, "m1")  # released: the next claim takes it again
        assert await b.claim(CONVERSATION, "m1") is None and r.get(key("m1")) == "pending:b"
        await close(a, b)
    run(scenario())


def test_of_many_concurrent_claims_exactly_one_wins(redis_server, r):
    async def scenario():
        opened = await stores(redis_server, *(f"p{n}" for n in range(8)))
        for round_ in range(20):
            message_id = f"race-{round_}"
            found = await asyncio.gather(*(s.claim(CONVERSATION, message_id) for s in opened for _ in range(3)))
            winners = [s for s, state in zip([s for s in opened for _ in range(3)], found) if state is None]
            assert len(winners) == 1, found
            owner = f"pending:{winners[0].instance}"
            assert r.get(key(message_id)) == owner
            assert all(state == owner for state in found if state is not None)
        await close(*opened)
    run(scenario())


def test_renewal_extends_only_this_processes_pending_claims(redis_server, r):
    async def scenario():
        a, b = await stores(redis_server, "a", "b")
        await a.claim(CONVERSATION, "mine")
        await b.claim(CONVERSATION, "theirs")
        await a.claim(CONVERSATION, "lapsed")
        r.delete(key("lapsed"))  # a's lease lapsed and b took the message over
        await b.claim(CONVERSATION, "lapsed")
        for name in ("mine", "theirs", "lapsed"):
            r.expire(key(name), 3)
        assert await a.renew_claims() == 1
        assert r.ttl(key("mine")) > 3
        assert r.ttl(key("theirs")) <= 3 and r.get(key("theirs")) == "pending:b"
        assert r.ttl(key("lapsed")) <= 3 and r.get(key("lapsed")) == "pending:b"
        await close(a, b)
    run(scenario())


def test_renewal_never_shortens_a_done_message(redis_server, r):
    async def scenario():
        (a,) = await stores(redis_server, "a")
        await a.claim(CONVERSATION, "finished-elsewhere")
        # a's lease lapsed, another process handled the message and wrote "done" for 7 days
        r.set(key("finished-elsewhere"), "done", ex=keys.MESSAGE_STATE_TTL)
        await a.claim(CONVERSATION, "finished-here")
        await a.mark_done(CONVERSATION, "finished-here")
        assert await a.renew_claims() == 0
        for name in ("finished-elsewhere", "finished-here"):
            assert r.get(key(name)) == "done"
            assert r.ttl(key(name)) > keys.MESSAGE_STATE_TTL - 60
        await close(a)
    run(scenario())


def test_released_and_finished_claims_stop_being_renewed(redis_server, r):
    async def scenario():
        (a,) = await stores(redis_server, "a")
        await a.claim(CONVERSATION, "released")
        await a.release(CONVERSATION, "released")
        await a.claim(CONVERSATION, "done")
        await a.mark_done(CONVERSATION, "done")
        # Give the released key the very value a's renewal accepts: only a's own list of the
        # claims it holds keeps it from being renewed.
        r.set(key("released"), "pending:a", ex=3)
        assert await a.renew_claims() == 0
        assert r.ttl(key("released")) <= 3
        await close(a)
    run(scenario())


def test_a_lapsed_claim_is_dropped_but_a_new_claim_of_the_same_message_is_kept(redis_server, r):
    async def scenario():
        (a,) = await stores(redis_server, "a")
        await a.claim(CONVERSATION, "m")
        r.delete(key("m"))  # lapsed
        assert await a.renew_claims() == 0  # dropped from what a renews
        r.set(key("m"), "pending:a", ex=3)
        assert await a.renew_claims() == 0 and r.ttl(key("m")) <= 3
        r.delete(key("m"))
        assert await a.claim(CONVERSATION, "m") is None  # claimed again: renewed again
        r.expire(key("m"), 3)
        assert await a.renew_claims() == 1 and r.ttl(key("m")) > 3
        await close(a)
    run(scenario())


def test_one_renewer_keeps_every_claim_of_the_process_alive(redis_server, r):
    async def scenario():
        (a,) = await stores(redis_server, "a")
        for n in range(50):
            await a.claim(CONVERSATION, f"m{n}")
            r.expire(key(f"m{n}"), 3)
        renewer = asyncio.create_task(a.keep_claims(interval=0.05))
        await asyncio.sleep(0.3)
        assert all(r.ttl(key(f"m{n}")) > 3 for n in range(50))
        await a.mark_done(CONVERSATION, "m0")
        await asyncio.sleep(0.2)
        assert r.get(key("m0")) == "done" and r.ttl(key("m0")) > keys.PENDING_TTL
        renewer.cancel()
        await asyncio.gather(renewer, return_exceptions=True)
        await close(a)
    run(scenario())


def test_a_claim_taken_again_while_a_renewal_is_in_flight_stays_renewed(redis_server, r):
    """The renewal finds the key gone (released), and the message is claimed again before the
    renewal's answer is read: the new claim must not be dropped with the old one."""
    async def scenario():
        (a,) = await stores(redis_server, "a")
        await a.claim(CONVERSATION, "m")
        pipeline = a.redis.pipeline

        def racing_pipeline(*args, **kwargs):
            pipe = pipeline(*args, **kwargs)
            execute = pipe.execute

            async def racing_execute(*a_, **k_):
                await a.release(CONVERSATION, "m")  # handling failed ...
                result = await execute(*a_, **k_)
                assert await a.claim(CONVERSATION, "m") is None  # ... and the resend claims it
                return result

            pipe.execute = racing_execute
            return pipe

        a.redis.pipeline = racing_pipeline
        assert await a.renew_claims() == 0
        a.redis.pipeline = pipeline
        r.expire(key("m"), 3)
        assert await a.renew_claims() == 1 and r.ttl(key("m")) > 3
        await close(a)
    run(scenario())


# --- the desk outbox (core/stream_consumer.py) --------------------------------------------------

def _agent_line(conversation: str, text: str) -> dict:
    import json
    import time
    return {"data": json.dumps({"id": text, "conversation_id": conversation, "type": "agent_message",
                                "language": "en", "text": text, "agent_name": "Li", "at": time.time()})}


def test_the_outbox_is_copied_once_across_processes_and_every_process_is_woken(redis_server, r):
    """Two web processes: each entry lands once in the conversation's stream, and both processes'
    sockets of that conversation are woken (the one that did not copy it included)."""
    async def scenario():
        a, b = await stores(redis_server, "a", "b")
        woken = {"a": [], "b": []}

        def waker(name):
            async def wake(conversation_id):
                woken[name].append(conversation_id)
            return wake

        async def nothing():
            return None

        tasks = [asyncio.ensure_future(store.outbox_reader(consumer=f"web@test-{name}", block_ms=100).run())
                 for store, name in ((a, "a"), (b, "b"))]
        tasks += [asyncio.ensure_future(store.listen_wakes(waker(name), nothing)) for store, name in ((a, "a"), (b, "b"))]
        await asyncio.sleep(0.5)  # the group exists and both listen
        for n in range(6):
            r.xadd(redis_keys.WEB_OUTBOX_STREAM, _agent_line(CONVERSATION, f"line {n}"))
        for _ in range(100):
            if len(woken["a"]) >= 6 and len(woken["b"]) >= 6:
                break
            await asyncio.sleep(0.05)
        texts = [frame["text"] for frame in await a.after(CONVERSATION, "0-0")]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await close(a, b)
        return texts, woken

    texts, woken = run(scenario())
    assert sorted(texts) == [f"line {n}" for n in range(6)]
    assert woken == {"a": [CONVERSATION] * 6, "b": [CONVERSATION] * 6}
    assert r.xpending(redis_keys.WEB_OUTBOX_STREAM, redis_keys.WEB_OUTBOX_GROUP)["pending"] == 0


def test_entries_written_while_no_web_process_ran_are_copied_at_the_next_start(redis_server, r):
    """Rasa killed: the desk keeps writing; the restarted process (the group remembers where it
    was) copies what was written meanwhile, once."""
    async def scenario():
        [store] = await stores(redis_server, "a")
        reader = asyncio.ensure_future(store.outbox_reader(consumer="web@test-a", block_ms=100).run())
        await asyncio.sleep(0.5)  # the group exists
        r.xadd(redis_keys.WEB_OUTBOX_STREAM, _agent_line(CONVERSATION, "before"))
        for _ in range(100):
            if await store.after(CONVERSATION, "0-0"):
                break
            await asyncio.sleep(0.05)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        r.xadd(redis_keys.WEB_OUTBOX_STREAM, _agent_line(CONVERSATION, "while down"))
        reader = asyncio.ensure_future(store.outbox_reader(consumer="web@test-a", block_ms=100).run())
        for _ in range(100):
            if len(await store.after(CONVERSATION, "0-0")) >= 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        texts = [frame["text"] for frame in await store.after(CONVERSATION, "0-0")]
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await close(store)
        return texts

    assert run(scenario()) == ["before", "while down"]
