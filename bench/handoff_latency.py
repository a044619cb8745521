"""Agent desk latency and claim throughput, against baselines measured on the same Redis in the
same run.

    .venv/bin/python bench/handoff_latency.py [--runs 300]

Starts an embedded Redis and one desk (in this process, on loopback) with one connected agent,
then measures, each over --runs runs (at least 200):

  relay      a claimant message XADDed to the event stream (what the Rasa event broker does) →
             the `claimant_message` frame on the agent's socket
  ticket     a ticket enqueued (what action_handoff does) → the `ticket` frame on the socket
  claim      `claim` sent on the socket → its `ok` back (the Lua commit included)
  baseline   raw XADD → a blocked XREAD on another connection receiving it (no desk)

and prints p50/p99 of each and each desk figure as a ratio to the baseline. Then claims per
second (queue.claim from 4 threads over fresh tickets) against `redis-benchmark -t set` on the
same server, as a ratio. The Rasa server is not started: the desk's tracker calls fail fast and
are not part of these paths.
"""
from __future__ import annotations

import argparse
import dataclasses
import asyncio
import json
import logging
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402
import websockets  # noqa: E402

from bot import embedded_redis  # noqa: E402
from handoff import agents, constants as k  # noqa: E402
from handoff.queue import Queue, connect  # noqa: E402
from handoff.server import Desk  # noqa: E402
from handoff.settings import DeskSettings  # noqa: E402
from handoff.tickets import MAX_CAPACITY  # noqa: E402


def pct(samples: List[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def frame_of(socket, kind: str, **match) -> dict:
    while True:
        frame = json.loads(await socket.recv())
        if frame["type"] == kind and all(frame.get(key) == value for key, value in match.items()):
            return frame


async def baseline(url: str, runs: int) -> List[float]:
    writer, reader = aioredis.Redis.from_url(url), aioredis.Redis.from_url(url)
    stream, samples = "renben:bench-baseline", []
    last = "$"
    for n in range(runs):
        read = asyncio.create_task(reader.xread({stream: last}, block=5000, count=1))
        await asyncio.sleep(0.002)  # let the XREAD block first, as the desk's reader does
        started = time.perf_counter()
        await writer.xadd(stream, {"n": n})
        result = await read
        samples.append(time.perf_counter() - started)
        last = result[0][1][0][0]
    await writer.close()
    await reader.close()
    return samples


async def desk_figures(settings: DeskSettings, runs: int) -> dict:
    queue = Queue(connect(settings.redis_url), settings)
    token = agents.add_agent(queue.redis, "bench-agent", languages=["zh"])
    desk = await Desk.create(settings).serve(port=0)
    figures = {"relay": [], "ticket": [], "claim": []}
    try:
        socket = await websockets.connect(f"ws://127.0.0.1:{desk.port}/agent")
        await socket.send(json.dumps({"type": "auth", "token": token}))
        await frame_of(socket, "snapshot")
        held = queue.enqueue(conversation_id="bench-held", channel="web", language="zh",
                             priority="requested", reason="bench", brief={})
        queue.claim(held.id, agent="bench-agent")
        await asyncio.sleep(0.3)
        for n in range(runs):
            data = json.dumps({"sender_id": "bench-held", "event": "user", "text": f"m{n}",
                               "parse_data": {"intent": {"name": "inform"}}})
            started = time.perf_counter()
            await asyncio.to_thread(queue.redis.xadd, k.EVENTS_STREAM,
                                    {"sender_id": "bench-held", "event": "user", "data": data})
            await frame_of(socket, "claimant_message", text=f"m{n}")
            figures["relay"].append(time.perf_counter() - started)
        for n in range(runs):
            started = time.perf_counter()
            ticket = await asyncio.to_thread(queue.enqueue, conversation_id=f"bench-{n}", channel="web",
                                             language="zh", priority="urgent", reason="bench", brief={})
            while True:
                frame = await frame_of(socket, "ticket")
                if frame["ticket"]["id"] == ticket.id:
                    break
            figures["ticket"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await socket.send(json.dumps({"type": "claim", "ticket_id": ticket.id, "ref": n}))
            await frame_of(socket, "ok", ref=n)
            figures["claim"].append(time.perf_counter() - started)
            await asyncio.to_thread(queue.close, ticket.id, by="bench-agent", reason_code="other")
        await socket.close()
    finally:
        await desk.stop()
    return figures


def claims_per_second(settings: DeskSettings, tickets: int = 2000, threads: int = 4) -> float:
    # each agent claims hundreds of tickets here: lift the capacity (the check itself is still run)
    settings = dataclasses.replace(settings, default_capacity=MAX_CAPACITY)
    queue = Queue(connect(settings.redis_url), settings)
    ids = [queue.enqueue(conversation_id=f"rate-{n}", channel="web", language="en", priority="requested",
                         reason="bench", brief={}).id for n in range(tickets)]
    chunks = [ids[n::threads] for n in range(threads)]

    def work(chunk: List[str], n: int) -> None:
        own = Queue(connect(settings.redis_url), settings)
        for ticket_id in chunk:
            assert own.claim(ticket_id, agent=f"rate-agent-{n}") is not None

    workers = [threading.Thread(target=work, args=(chunk, n)) for n, chunk in enumerate(chunks)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return tickets / (time.perf_counter() - started)


def redis_benchmark_set(port: int) -> float:
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise SystemExit("redis-benchmark is not installed (Debian: redis-tools)")
    out = subprocess.run([binary, "-p", str(port), "-t", "set", "-n", "50000", "-c", "4", "-q"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"SET: ([\d.]+) requests per second", out)[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    runs = max(200, args.runs)
    logging.basicConfig(level=logging.ERROR)  # the desk's 'Rasa is not running' warnings
    with tempfile.TemporaryDirectory() as tmp:
        server = embedded_redis.start(Path(tmp), persist=False)
        try:
            settings = DeskSettings(redis_url=server.url, rasa_url=f"http://127.0.0.1:{embedded_redis.free_port()}",
                                    sweep_interval_seconds=60)
            base = asyncio.run(baseline(server.url, runs))
            figures = asyncio.run(desk_figures(settings, runs))
            rate = claims_per_second(settings)
            set_rate = redis_benchmark_set(server.port)
        finally:
            server.stop()
    b50, b99 = pct(base, 0.5), pct(base, 0.99)
    print(f"runs: {runs} each, one Redis, one desk process, loopback")
    print(f"{'path':<10}{'p50 ms':>10}{'p99 ms':>10}{'p50 / baseline':>18}{'p99 / baseline':>18}")
    print(f"{'baseline':<10}{b50 * 1e3:>10.3f}{b99 * 1e3:>10.3f}{1:>18.1f}{1:>18.1f}")
    for name, samples in figures.items():
        p50, p99 = pct(samples, 0.5), pct(samples, 0.99)
        print(f"{name:<10}{p50 * 1e3:>10.3f}{p99 * 1e3:>10.3f}{p50 / b50:>18.1f}{p99 / b99:>18.1f}")
    print(f"claims/s (4 threads, Lua commit): {rate:,.0f}; redis-benchmark -t set (-c 4): {set_rate:,.0f}/s; "
          f"ratio {rate / set_rate:.3f} (each claim is several round trips: read, commit, publish)")
    print(f"median of baseline samples: {statistics.median(base) * 1e3:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
