"""Load on the widget's WebSocket channel against Rasa's REST channel, in the same run.

    .venv/bin/python bench/ws_load.py [--sockets 200] [--messages 10] [--model models/x.tar.gz]

Starts its own stack (Redis, action server, Rasa) on free ports. N claimants each open a socket
and send M messages one after another (each waits for its ack: the reply is complete and the
tracker saved); N REST senders send the same messages to POST /webhooks/rest/webhook (each waits
for the HTTP answer). The load runs in four rounds, ws, rest, rest, ws, each with half of every
claimant's messages (the sockets stay open, each REST sender keeps its conversation), so that
what changes during a run on a shared machine (trackers growing, caches warming, other work)
falls on both channels alike; the latencies of both rounds of a channel are pooled.

Prints each round's p50, then per channel messages per second, p50 and p99 latency, messages
lost on the socket (not acknowledged, or not exactly once in the tracker; must be 0) and the
ratio WS/REST. Exits 1 when a message was lost or the p50 ratio is over 1.2 (the target).
The messages are this script's own, not ../shared/eval.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import aiohttp
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Every simulated claimant connects from 127.0.0.1: lift the per-address limit for this run.
os.environ.setdefault("RENBEN_WEB_ADDRESS_PER_MINUTE", "1000000")

from bench import figures  # noqa: E402
from tooling.embedded_redis import free_port  # noqa: E402
from tooling.launch import Stack  # noqa: E402
from core.settings import Settings  # noqa: E402

MESSAGES = [
    "你好", "养老金怎么领取?", "失业了可以领什么补助?", "医保卡丢了怎么补办?", "谢谢",
    "hello", "How do I claim unemployment benefit?", "What documents do I need for a pension?",
    "How do I get a social security card?", "thank you",
]


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


class WsClaimant:
    """One claimant's socket, open across the rounds; a socket that fails stays failed."""

    def __init__(self, url: str, index: int, timeout: float) -> None:
        self.url, self.index, self.timeout = url, index, timeout
        self.ws = None
        self.conversation_id = ""
        self.acked: List[str] = []
        self.failed = False

    async def open(self) -> None:
        try:
            self.ws = await websockets.connect(self.url, max_size=2 ** 22, open_timeout=60)
            await self.ws.send(json.dumps({"type": "hello", "language": "zh"}))
            while not self.conversation_id:
                frame = json.loads(await self.ws.recv())
                if frame["type"] == "session":
                    self.conversation_id = frame["conversation_id"]
        except Exception:
            self.failed = True

    async def send(self, first: int, count: int) -> List[float]:
        """Sends messages first .. first+count-1, each after the previous one's ack."""
        latencies: List[float] = []
        for n in range(first, first + count):
            if self.failed:
                break
            message_id = f"b{self.index}-{n}-{uuid.uuid4().hex[:6]}"
            text = MESSAGES[(self.index + n) % len(MESSAGES)]
            started = time.perf_counter()
            try:
                await self.ws.send(json.dumps({"type": "message", "id": message_id, "text": text},
                                              ensure_ascii=False))
                deadline = started + self.timeout
                while time.perf_counter() < deadline:
                    try:
                        frame = json.loads(await asyncio.wait_for(self.ws.recv(), deadline - time.perf_counter()))
                    except asyncio.TimeoutError:
                        break
                    if frame["type"] == "ack" and frame.get("id") == message_id:
                        latencies.append(time.perf_counter() - started)
                        self.acked.append(message_id)
                        break
            except Exception:
                self.failed = True
        return latencies

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


class RestSender:
    """One REST conversation, the same sender across the rounds."""

    def __init__(self, session: aiohttp.ClientSession, base: str, index: int, timeout: float,
                 token: str) -> None:
        self.session, self.base, self.index, self.timeout = session, base, index, timeout
        self.headers = {"Authorization": f"Bearer {token}"}  # the REST channel is behind the API token
        self.sender = f"bench-rest-{index}-{uuid.uuid4().hex[:6]}"

    async def send(self, first: int, count: int) -> List[float]:
        latencies: List[float] = []
        for n in range(first, first + count):
            body = {"sender": self.sender, "message": MESSAGES[(self.index + n) % len(MESSAGES)]}
            started = time.perf_counter()
            try:
                async with self.session.post(f"{self.base}/webhooks/rest/webhook", json=body, headers=self.headers,
                                             timeout=aiohttp.ClientTimeout(total=self.timeout)) as reply:
                    await reply.read()
                    if reply.status == 200:
                        latencies.append(time.perf_counter() - started)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
        return latencies


async def count_in_trackers(base: str, token: str, claimants: List[WsClaimant]) -> int:
    """Acknowledged messages that are not exactly once in their tracker."""
    wrong = 0
    async with aiohttp.ClientSession() as session:
        for claimant in claimants:
            if not claimant.acked:
                continue
            async with session.get(f"{base}/conversations/{claimant.conversation_id}/tracker?token={token}") as reply:
                events = (await reply.json())["events"]
            seen: Dict[str, int] = {}
            for event in events:
                mid = (event.get("metadata") or {}).get("client_message_id") if event["event"] == "user" else None
                if mid:
                    seen[mid] = seen.get(mid, 0) + 1
            wrong += sum(1 for mid in claimant.acked if seen.get(mid) != 1)
    return wrong


def report(name: str, latencies: List[float], total: int, seconds: float) -> None:
    print(f"{name:5s} messages {total:5d}  answered {len(latencies):5d}  {len(latencies) / seconds:7.1f} msg/s  "
          f"p50 {percentile(latencies, 0.5) * 1000:7.0f} ms  p99 {percentile(latencies, 0.99) * 1000:7.0f} ms")


async def run_round(senders: Sequence[Any], first: int, count: int) -> Tuple[List[float], float]:
    """Every sender sends its messages first .. first+count-1 at once; the latencies and seconds."""
    started = time.perf_counter()
    results = await asyncio.gather(*(sender.send(first, count) for sender in senders))
    return [value for latencies in results for value in latencies], time.perf_counter() - started


async def main_async(stack: Stack, sockets: int, messages: int, timeout: float) -> int:
    base = stack.rasa_url
    url = base.replace("http://", "ws://") + "/webhooks/web/ws"
    async with aiohttp.ClientSession() as session:  # warm up both paths
        await RestSender(session, base, 0, timeout, stack.settings.token()).send(0, 3)
    warm = WsClaimant(url, 0, timeout)
    await warm.open()
    await warm.send(0, 3)
    await warm.close()

    halves = [(0, (messages + 1) // 2), ((messages + 1) // 2, messages // 2)]
    latencies: Dict[str, List[float]] = {"ws": [], "rest": []}
    seconds = {"ws": 0.0, "rest": 0.0}
    claimants = [WsClaimant(url, i, timeout) for i in range(sockets)]
    await asyncio.gather(*(claimant.open() for claimant in claimants))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        senders = {"ws": claimants, "rest": [RestSender(session, base, i, timeout, stack.settings.token()) for i in range(sockets)]}
        rounds = [("ws", halves[0]), ("rest", halves[0]), ("rest", halves[1]), ("ws", halves[1])]
        for number, (channel, (first, count)) in enumerate(rounds, 1):
            if count == 0:
                continue
            values, took = await run_round(senders[channel], first, count)
            latencies[channel] += values
            seconds[channel] += took
            print(f"round {number} {channel:4s} {count} messages each: p50 "
                  f"{percentile(values, 0.5) * 1000 if values else float('nan'):7.0f} ms  {took:6.1f} s", flush=True)
    await asyncio.gather(*(claimant.close() for claimant in claimants), return_exceptions=True)

    ws_latencies, rest_latencies = latencies["ws"], latencies["rest"]
    not_acked = sockets * messages - sum(len(claimant.acked) for claimant in claimants)
    not_once = await count_in_trackers(base, stack.settings.token(), claimants)
    failed_sockets = sum(1 for claimant in claimants if claimant.failed)

    print(f"{sockets} claimants x {messages} messages per channel, each waiting for its answer; "
          "rounds ws, rest, rest, ws")
    report("ws", ws_latencies, sockets * messages, seconds["ws"])
    report("rest", rest_latencies, sockets * messages, seconds["rest"])
    lost = not_acked + not_once
    print(f"ws lost: {lost} ({not_acked} not acknowledged, {not_once} not exactly once in the tracker, "
          f"{failed_sockets} sockets failed)")
    figures.record("ws_load", "widget messages lost", lost, "count", target="value == 0")
    if not ws_latencies or not rest_latencies:
        print("overhead ratio ws/rest: none (a channel answered nothing)")
        return 1
    p50 = percentile(ws_latencies, 0.5) / percentile(rest_latencies, 0.5)
    p99 = percentile(ws_latencies, 0.99) / percentile(rest_latencies, 0.99)
    throughput = (len(ws_latencies) / seconds["ws"]) / (len(rest_latencies) / seconds["rest"])
    print(f"overhead ratio ws/rest: p50 {p50:.2f} (target <= 1.2)  p99 {p99:.2f}  throughput {throughput:.2f}")
    for share, target in ((0.5, "ratio <= 1.2"), (0.99, None)):
        figures.record("ws_load", f"widget socket p{share * 100:g}", percentile(ws_latencies, share) * 1000, "ms",
                       baseline=percentile(rest_latencies, share) * 1000, target=target,
                       baseline_name="the same load on the REST channel")
    figures.record("ws_load", "widget socket throughput", len(ws_latencies) / seconds["ws"], "msg/s",
                   baseline=len(rest_latencies) / seconds["rest"])
    return 0 if lost == 0 and p50 <= 1.2 else 1


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
