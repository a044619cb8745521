"""Load on the widget's WebSocket channel against Rasa's REST channel, in the same run.

    .venv/bin/python bench/ws_load.py [--sockets 200] [--messages 10] [--model models/x.tar.gz]

Starts its own stack (Redis, action server, Rasa) on free ports. Then N claimants each open a
socket and send M messages one after another (each waits for its ack: the reply is complete and
the tracker saved); then N REST senders send the same messages to POST /webhooks/rest/webhook
(each waits for the HTTP answer). Prints messages per second, p50 and p99 latency of each,
messages lost (no ack, or not exactly once in the tracker; must be 0) and the ratio WS/REST.
Target: p50 ratio <= 1.2. The messages are this script's own, not ../shared/eval.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List, Tuple

import aiohttp
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Every simulated claimant connects from 127.0.0.1: lift the per-address limit for this run.
os.environ.setdefault("RENBEN_WEB_ADDRESS_PER_MINUTE", "1000000")

from bot.embedded_redis import free_port  # noqa: E402
from bot.launch import Stack  # noqa: E402
from bot.settings import Settings  # noqa: E402

MESSAGES = [
    "你好", "养老金怎么领取?", "失业了可以领什么补助?", "医保卡丢了怎么补办?", "谢谢",
    "hello", "How do I claim unemployment benefit?", "What documents do I need for a pension?",
    "How do I get a social security card?", "thank you",
]


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def ws_claimant(url: str, index: int, count: int, timeout: float) -> Tuple[str, List[float], List[str], int]:
    latencies, acked = [], []
    sent = 0
    async with websockets.connect(url, max_size=2 ** 22, open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "hello", "language": "zh"}))
        session = None
        while session is None:
            frame = json.loads(await ws.recv())
            session = frame if frame["type"] == "session" else None
        for n in range(count):
            message_id = f"b{index}-{n}-{uuid.uuid4().hex[:6]}"
            text = MESSAGES[(index + n) % len(MESSAGES)]
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "id": message_id, "text": text}, ensure_ascii=False))
            sent += 1
            deadline = started + timeout
            while time.perf_counter() < deadline:
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.perf_counter()))
                except asyncio.TimeoutError:
                    break
                if frame["type"] == "ack" and frame.get("id") == message_id:
                    latencies.append(time.perf_counter() - started)
                    acked.append(message_id)
                    break
    return session["conversation_id"], latencies, acked, sent


async def rest_sender(session: aiohttp.ClientSession, base: str, index: int, count: int,
                      timeout: float) -> Tuple[List[float], int]:
    latencies, answered = [], 0
    sender = f"bench-rest-{index}-{uuid.uuid4().hex[:6]}"
    for n in range(count):
        body = {"sender": sender, "message": MESSAGES[(index + n) % len(MESSAGES)]}
        started = time.perf_counter()
        try:
            async with session.post(f"{base}/webhooks/rest/webhook", json=body,
                                    timeout=aiohttp.ClientTimeout(total=timeout)) as reply:
                await reply.read()
                if reply.status == 200:
                    latencies.append(time.perf_counter() - started)
                    answered += 1
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
    return latencies, answered


async def count_in_trackers(base: str, token: str, acked: Dict[str, List[str]]) -> int:
    """Acknowledged messages that are not exactly once in their tracker."""
    wrong = 0
    async with aiohttp.ClientSession() as session:
        for conversation_id, ids in acked.items():
            async with session.get(f"{base}/conversations/{conversation_id}/tracker?token={token}") as reply:
                events = (await reply.json())["events"]
            seen: Dict[str, int] = {}
            for event in events:
                mid = (event.get("metadata") or {}).get("client_message_id") if event["event"] == "user" else None
                if mid:
                    seen[mid] = seen.get(mid, 0) + 1
            wrong += sum(1 for mid in ids if seen.get(mid) != 1)
    return wrong


def report(name: str, latencies: List[float], total: int, seconds: float) -> None:
    print(f"{name:5s} messages {total:5d}  answered {len(latencies):5d}  {len(latencies) / seconds:7.1f} msg/s  "
          f"p50 {percentile(latencies, 0.5) * 1000:7.0f} ms  p99 {percentile(latencies, 0.99) * 1000:7.0f} ms")


async def main_async(stack: Stack, sockets: int, messages: int, timeout: float) -> int:
    base = stack.rasa_url
    url = base.replace("http://", "ws://") + "/webhooks/web/ws"
    async with aiohttp.ClientSession() as session:  # warm up both paths
        await rest_sender(session, base, 0, 3, timeout)
    await ws_claimant(url, 0, 3, timeout)

    started = time.perf_counter()
    results = await asyncio.gather(*(ws_claimant(url, i, messages, timeout) for i in range(sockets)),
                                   return_exceptions=True)
    ws_seconds = time.perf_counter() - started
    ws_latencies: List[float] = []
    acked: Dict[str, List[str]] = {}
    sent = failed_sockets = 0
    for result in results:
        if isinstance(result, BaseException):
            failed_sockets += 1
            sent += messages
            continue
        conversation_id, latencies, ids, count = result
        ws_latencies += latencies
        acked[conversation_id] = ids
        sent += count
    not_acked = sent - len(ws_latencies)
    not_once = await count_in_trackers(base, stack.settings.token(), acked)

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        rest = await asyncio.gather(*(rest_sender(session, base, i, messages, timeout) for i in range(sockets)))
    rest_seconds = time.perf_counter() - started
    rest_latencies = [value for latencies, _ in rest for value in latencies]

    print(f"{sockets} claimants x {messages} messages, each waiting for its answer")
    report("ws", ws_latencies, sent, ws_seconds)
    report("rest", rest_latencies, sockets * messages, rest_seconds)
    print(f"ws lost: {not_acked} not acknowledged, {not_once} not exactly once in the tracker, "
          f"{failed_sockets} sockets failed")
    p50 = percentile(ws_latencies, 0.5) / percentile(rest_latencies, 0.5)
    p99 = percentile(ws_latencies, 0.99) / percentile(rest_latencies, 0.99)
    throughput = (len(ws_latencies) / ws_seconds) / (len(rest_latencies) / rest_seconds)
    print(f"overhead ratio ws/rest: p50 {p50:.2f} (target <= 1.2)  p99 {p99:.2f}  throughput {throughput:.2f}")
    return 0 if not_acked == 0 and not_once == 0 and p50 <= 1.2 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for one answer")
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    model = args.model or max((ROOT / "models").glob("renben-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    with tempfile.TemporaryDirectory() as var:
        settings = Settings(var_dir=Path(var), rasa_port=free_port(), actions_port=free_port())
        stack = Stack(settings, model).start()
        try:
            return asyncio.run(main_async(stack, args.sockets, args.messages, args.timeout))
        finally:
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
