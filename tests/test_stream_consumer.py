"""The one stream-consumer helper (issue 17, item 5; core/stream_consumer.py), against a real Redis
and real processes killed (SIGKILL) or stopped (SIGSTOP) mid-entry."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from typing import Any, List, Tuple

import redis

from tooling import embedded_redis
from core import redis_clients
from core.settings import ROOT
from core.stream_consumer import StreamConsumer, consumer_name

STREAM, GROUP = "renben:test:stream", "g"


class Recorder:
    """A handler recording (consumer, entry id, again) and failing or waiting on demand."""

    def __init__(self, name: str, *, fail: int = 0, seconds: float = 0.0) -> None:
        self.name, self.fail, self.seconds = name, fail, seconds
        self.calls: List[Tuple[str, str, bool]] = []

    async def __call__(self, entry_id: str, fields: Any, again: bool) -> None:
        self.calls.append((self.name, fields["n"], again))
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the effect failed")
        await asyncio.sleep(self.seconds)


def consumer(url: str, handle: Recorder, **options: Any) -> StreamConsumer:
    return StreamConsumer(redis_clients.connect_async(url), STREAM, GROUP, handle.name, handle,
                          block_ms=100, **options)


async def run_until(consumers: List[StreamConsumer], done, timeout: float = 20.0) -> None:  # noqa: ANN001
    tasks = [asyncio.ensure_future(c.run()) for c in consumers]
    try:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, "not done in time"
            await asyncio.sleep(0.05)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in consumers:
            await c.redis.close()


def pending(r: "redis.Redis[str]") -> int:
    return r.xpending(STREAM, GROUP)["pending"]


def test_consumer_names_are_stable_per_place():
    assert consumer_name("desk", 5077) == consumer_name("desk", 5077) != consumer_name("desk", 5078)
    assert consumer_name("rasa").startswith("rasa@")


def test_each_entry_is_handled_once_across_consumers_and_acknowledged_after(redis_server, r):
    for n in range(40):
        r.xadd(STREAM, {"n": str(n)})
    a, b = Recorder("a"), Recorder("b")
    asyncio.run(run_until([consumer(redis_server.url, a, count=5), consumer(redis_server.url, b, count=5)],
                          lambda: len(a.calls) + len(b.calls) >= 40))
    handled = sorted(int(n) for _, n, _ in a.calls + b.calls)
    assert handled == list(range(40)) and pending(r) == 0
    assert not any(again for _, _, again in a.calls + b.calls)


def test_an_entry_whose_handler_failed_is_handled_again_after_the_idle_limit(redis_server, r):
    r.xadd(STREAM, {"n": "1"})
    handler = Recorder("a", fail=1)
    started = time.monotonic()
    asyncio.run(run_until([consumer(redis_server.url, handler, claim_idle_ms=500)],
                          lambda: len(handler.calls) == 2 and pending(r) == 0))
    assert handler.calls == [("a", "1", False), ("a", "1", True)]
    assert time.monotonic() - started >= 0.5


def test_a_slow_handler_keeps_its_entry_past_the_idle_limit(redis_server, r):
    r.xadd(STREAM, {"n": "1"})
    slow, other = Recorder("slow", seconds=2.0), Recorder("other")
    asyncio.run(run_until([consumer(redis_server.url, slow, claim_idle_ms=600)], lambda: len(slow.calls) == 1))
    # the slow one was cancelled mid-entry by run_until: taken over only once idle
    asyncio.run(run_until([consumer(redis_server.url, slow, claim_idle_ms=600),
                           consumer(redis_server.url, other, claim_idle_ms=600)],
                          lambda: pending(r) == 0, timeout=30))
    everyone = slow.calls + other.calls
    assert len(everyone) == 2 and all(again for _, _, again in everyone[1:])


def test_concurrent_handling_keeps_running_entries_from_being_taken_over(redis_server, r):
    for n in range(5):
        r.xadd(STREAM, {"n": str(n)})
    slow, other = Recorder("slow", seconds=1.5), Recorder("other")
    asyncio.run(run_until([consumer(redis_server.url, slow, claim_idle_ms=300, concurrency=10),
                           consumer(redis_server.url, other, claim_idle_ms=300)],
                          lambda: len(slow.calls) + len(other.calls) >= 5 and pending(r) == 0))
    assert sorted(int(n) for _, n, _ in slow.calls + other.calls) == list(range(5))  # none twice


def test_deleted_entries_are_acknowledged_and_handled_ones_deleted_when_asked(redis_server, r):
    first, second = r.xadd(STREAM, {"n": "1"}), r.xadd(STREAM, {"n": "2"})
    r.xgroup_create(STREAM, GROUP, id="0")
    r.xreadgroup(GROUP, "dead", {STREAM: ">"})  # read by a consumer that then died
    r.xdel(STREAM, first)  # erased meanwhile (core/privacy/retention.py)
    handler = Recorder("a")
    asyncio.run(run_until([consumer(redis_server.url, handler, claim_idle_ms=100, delete_after_ack=True)],
                          lambda: pending(r) == 0))
    assert handler.calls == [("a", "2", True)] and r.xlen(STREAM) == 0
    assert second not in [entry_id for entry_id, _ in r.xrange(STREAM)]


WORKER = """
import asyncio, sys
from core import redis_clients
from core.stream_consumer import StreamConsumer
url, name, idle = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = redis_clients.connect_async(url)
async def handle(entry_id, fields, again):
    print("start", fields["n"], again, flush=True)
    await asyncio.sleep(float(fields.get("seconds", 0)))
    await client.rpush("renben:test:done", f"{name}:{fields['n']}:{again}")
asyncio.run(StreamConsumer(client, "renben:test:stream", "g", name, handle, claim_idle_ms=idle,
                           block_ms=100).run())
"""


def worker(url: str, name: str, idle_ms: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, url, name, str(idle_ms)], cwd=ROOT,
                            stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})


def done(r: "redis.Redis[str]", count: int, timeout: float = 30.0) -> List[str]:
    deadline = time.monotonic() + timeout
    while r.llen("renben:test:done") < count:
        assert time.monotonic() < deadline, r.lrange("renben:test:done", 0, -1)
        time.sleep(0.05)
    return r.lrange("renben:test:done", 0, -1)


def test_a_consumer_killed_mid_entry_restarts_under_its_name_and_finishes_it_first(redis_server, r):
    r.xadd(STREAM, {"n": "1", "seconds": "60"})
    first = worker(redis_server.url, "desk@here:1", 60_000)
    try:
        assert first.stdout.readline().split() == [b"start", b"1", b"False"]
        first.send_signal(signal.SIGKILL)
        first.wait()
        r.xadd(STREAM, {"n": "2"})
        # the entry stays pending to the dead name; the same name restarted takes it at once
        r.xadd(STREAM, {"n": "3"})
        again = worker(redis_server.url, "desk@here:1", 60_000)
        try:
            line = again.stdout.readline().split()
            assert line == [b"start", b"1", b"True"], line
        finally:
            again.kill()
            again.wait()
    finally:
        first.kill()
        first.wait()


def test_a_killed_or_stopped_consumers_entry_is_taken_over_by_another_once_idle(redis_server, r):
    idle_ms = 1000
    for signum in (signal.SIGKILL, signal.SIGSTOP):
        r.delete("renben:test:done")
        entry = r.xadd(STREAM, {"n": signum.name, "seconds": "3600"})
        gone = worker(redis_server.url, f"gone-{signum.name}", idle_ms)
        try:
            assert gone.stdout.readline().split()[:2] == [b"start", signum.name.encode()]
            time.sleep(idle_ms / 1000 * 1.5)  # still running: kept fresh, not taken over
            assert r.xpending_range(STREAM, GROUP, min=entry, max=entry, count=1)[0]["consumer"] == \
                f"gone-{signum.name}"
            gone.send_signal(signum)
            stopped = time.monotonic()
            handler = Recorder("heir")
            asyncio.run(run_until([consumer(redis_server.url, handler, claim_idle_ms=idle_ms)],
                                  lambda: bool(handler.calls)))
            assert handler.calls == [("heir", signum.name, True)]
            # idle counts from its last refresh, up to a third of the limit before it stopped
            assert idle_ms / 1000 * 0.6 <= time.monotonic() - stopped < idle_ms / 1000 + 5
        finally:
            gone.send_signal(signal.SIGCONT)
            gone.kill()
            gone.wait()


def test_it_goes_on_after_redis_restarts_and_recreates_a_lost_group(tmp_path):
    server = embedded_redis.start(tmp_path / "redis", persist=False)
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        client.xadd(STREAM, {"n": "before"})
        handler = Recorder("a")

        async def scenario() -> None:
            reader = consumer(server.url, handler)
            task = asyncio.ensure_future(reader.run())
            try:
                await _until(lambda: len(handler.calls) == 1)
                server.process.send_signal(signal.SIGKILL)  # no persistence: stream and group lost
                server.process.wait()
                await asyncio.sleep(1.0)
                restarted = await asyncio.to_thread(embedded_redis.start, tmp_path / "redis", port=server.port,
                                                    persist=False)
                server.process = restarted.process
                fresh = redis.Redis.from_url(server.url, decode_responses=True)
                await _until(lambda: _exists(fresh), timeout=30)  # the group came back
                fresh.xadd(STREAM, {"n": "after"})
                await _until(lambda: len(handler.calls) == 2, timeout=30)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await reader.redis.close()

        asyncio.run(scenario())
        assert [n for _, n, _ in handler.calls] == ["before", "after"]
    finally:
        server.stop()


def _exists(client: "redis.Redis[str]") -> bool:
    try:
        return any(group["name"] == GROUP for group in client.xinfo_groups(STREAM))
    except redis.ResponseError:
        return False


async def _until(predicate, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


def test_a_reader_told_to_stop_stops_even_when_its_step_swallows_the_cancellation(redis_server, r):
    """A step cancelled inside the Redis client may never finish; the reader's run() must still
    end at once when cancelled, or its owner's shutdown waits for ever."""
    reader = consumer(redis_server.url, Recorder("stuck"))

    async def step_that_ignores_cancellation() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(3600)  # what a misbehaving client does: the first cancel is lost

    reader.step = step_that_ignores_cancellation  # type: ignore[method-assign]

    async def scenario() -> Tuple[bool, float]:
        task = asyncio.ensure_future(reader.run())
        await asyncio.sleep(0.3)
        started = time.monotonic()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        await reader.redis.close()
        return bool(done), time.monotonic() - started

    stopped, seconds = asyncio.run(scenario())
    assert stopped and seconds < 1.0
