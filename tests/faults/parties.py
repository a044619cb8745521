"""The people of the fault suite, behaving as the real clients do when a process dies under them.

`Claimant` is the widget (widget/widget.js, docs/widget-protocol.md): it keeps every message
until it is acknowledged, reconnects with its token and `last_seq` when the socket closes (or
stops answering pings), sends the kept messages again with `resend`, and sends one refused as
`unavailable` again after `retry_after`. `Agent` is a console that does the same for its
messages (the same `id` on every try, handoff/agent_messages.py). Both record what arrived and
when, for the table (faults/table.py)."""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter, defaultdict
from typing import Any, Dict, List, Optional

import websockets


class _Connection:
    """A party's reconnecting socket loop (`_run`, set `_up` once connected), started and stopped."""

    def __init__(self) -> None:
        self.connects = 0
        self._ws: Any = None
        self._up = asyncio.Event()
        self._task: Optional[asyncio.Task] = None

    async def _run(self) -> None:
        raise NotImplementedError

    async def _start(self, timeout: float) -> Any:
        self._task = asyncio.ensure_future(self._run())
        await asyncio.wait_for(self._up.wait(), timeout)
        return self

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class Claimant(_Connection):
    def __init__(self, url: str, language: str) -> None:
        self.url, self.language = url, language
        self.token: Optional[str] = None
        self.conversation_id: Optional[str] = None
        self.last_seq: Optional[str] = None
        self.unacked: Dict[str, str] = {}  # id -> text, oldest first
        self.acks: Dict[str, List[float]] = defaultdict(list)  # time.monotonic() of each ack
        self.errors: Dict[str, List[str]] = defaultdict(list)
        self.seqs: Counter = Counter()
        self.received: List[Dict[str, Any]] = []  # server messages (with a seq), first copy only
        super().__init__()

    async def start(self, timeout: float = 60.0) -> "Claimant":
        return await self._start(timeout)

    async def say(self, text: str) -> str:
        message_id = uuid.uuid4().hex[:16]
        self.unacked[message_id] = text
        await self._send(message_id, text, resend=False)
        return message_id

    async def acknowledged(self, message_id: str, timeout: float) -> float:
        """When `message_id` was first acknowledged (time.monotonic())."""
        deadline = time.monotonic() + timeout
        while not self.acks.get(message_id):
            if time.monotonic() > deadline:
                raise AssertionError(f"{message_id} not acknowledged within {timeout} s: {dict(self.errors)}")
            await asyncio.sleep(0.05)
        return self.acks[message_id][0]

    def texts(self, kind: str) -> List[str]:
        return [frame.get("text", "") for frame in self.received if frame["type"] == kind]

    async def _send(self, message_id: str, text: str, *, resend: bool) -> None:
        if self._ws is None:
            return  # sent again after the next reconnect
        try:
            await self._ws.send(json.dumps({"type": "message", "id": message_id, "text": text, "resend": resend},
                                           ensure_ascii=False))
        except Exception:  # noqa: BLE001 - the socket went: resent after the reconnect
            pass

    async def _run(self) -> None:
        delay = 0.25
        while True:
            try:
                async with websockets.connect(self.url, open_timeout=5, ping_interval=3, ping_timeout=3,
                                              close_timeout=1, max_size=2 ** 22) as ws:
                    await ws.send(json.dumps({"type": "hello", "token": self.token, "language": self.language,
                                              "last_seq": self.last_seq}))
                    while True:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                        if frame["type"] == "session":
                            break
                        self._on(frame)
                    self.token, self.conversation_id = frame["token"], frame["conversation_id"]
                    if self.last_seq is None:
                        self.last_seq = frame.get("last_seq")
                    self._ws, delay = ws, 0.25
                    self.connects += 1
                    self._up.set()
                    for message_id, text in list(self.unacked.items()):
                        await self._send(message_id, text, resend=True)
                    async for data in ws:
                        self._on(json.loads(data))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - closed, refused, timed out: connect again
                pass
            self._ws = None
            await asyncio.sleep(delay)
            delay = min(2 * delay, 2.0)

    def _on(self, frame: Dict[str, Any]) -> None:
        if "seq" in frame:
            self.seqs[frame["seq"]] += 1
            if self.seqs[frame["seq"]] == 1:
                self.received.append(frame)
                self.last_seq = frame["seq"]
        if frame["type"] == "ack" and frame.get("id"):
            self.acks[frame["id"]].append(time.monotonic())
            self.unacked.pop(frame["id"], None)
        elif frame["type"] == "error" and frame.get("id"):
            self.errors[frame["id"]].append(frame["code"])
            if frame["code"] == "not_answered":
                self.unacked.pop(frame["id"], None)
            elif frame["code"] in ("unavailable", "rate_limited") and frame["id"] in self.unacked:
                asyncio.get_event_loop().call_later(
                    float(frame.get("retry_after") or 1.0),
                    lambda i=frame["id"]: i in self.unacked and asyncio.ensure_future(
                        self._send(i, self.unacked[i], resend=True)))


class Agent(_Connection):
    """A console on the desk at `port`: logs in again whenever its socket closes."""

    def __init__(self, port: int, token: str) -> None:
        self.url, self.token = f"ws://127.0.0.1:{port}/agent", token
        self.frames: List[Dict[str, Any]] = []
        self.unanswered: Dict[str, Dict[str, Any]] = {}  # ref -> request, sent again after a reconnect
        self.answers: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
        self.answered_at: Dict[str, float] = {}
        super().__init__()

    async def start(self, timeout: float = 30.0) -> "Agent":
        return await self._start(timeout)

    async def ask(self, kind: str, timeout: float = 60.0, **fields: Any) -> Dict[str, Any]:
        """Sends a request (again after each reconnect, and after an `unavailable` answer) until
        it is answered ok or with another error; returns that answer."""
        ref = fields.pop("ref", None) or uuid.uuid4().hex[:12]
        self.unanswered[ref] = {"type": kind, "ref": ref, **fields}
        await self._send(self.unanswered[ref])
        deadline = time.monotonic() + timeout
        while ref not in self.answered_at:
            if time.monotonic() > deadline:
                raise AssertionError(f"{kind} not answered within {timeout} s: {self.answers.get(ref)}")
            await asyncio.sleep(0.05)
        return self.answers[ref][-1]

    async def message(self, ticket_id: str, text: str) -> str:
        """The agent writes to the claimant; returns the message id (its `ref` too)."""
        message_id = uuid.uuid4().hex[:12]
        asyncio.ensure_future(self.ask("message", ticket_id=ticket_id, text=text, id=message_id, ref=message_id,
                                       timeout=300))
        return message_id

    async def next(self, kind: str, timeout: float = 30.0, **match: Any) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.frames:
                if frame["type"] == kind and all(frame.get(key) == value for key, value in match.items()):
                    return frame
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind} {match} within {timeout} s")

    async def _send(self, request: Dict[str, Any]) -> None:
        if self._ws is None:
            return
        try:
            await self._ws.send(json.dumps(request, ensure_ascii=False))
        except Exception:  # noqa: BLE001 - sent again after the reconnect
            pass

    async def _run(self) -> None:
        while True:
            try:
                async with websockets.connect(self.url, open_timeout=5, ping_interval=3, ping_timeout=3,
                                              close_timeout=1, max_size=2 ** 22) as ws:
                    await ws.send(json.dumps({"type": "auth", "token": self.token}))
                    self._ws = ws
                    async for data in ws:
                        frame = json.loads(data)
                        self.frames.append(frame)
                        if frame["type"] == "snapshot":
                            self.connects += 1
                            self._up.set()
                            for request in list(self.unanswered.values()):
                                await self._send(request)
                        ref = frame.get("ref")
                        if frame["type"] in ("ok", "error", "brief") and ref in self.unanswered:
                            self.answers[ref].append(frame)
                            if frame["type"] == "error" and frame.get("code") in ("unavailable", "internal"):
                                asyncio.get_event_loop().call_later(
                                    1.0, lambda r=ref: r in self.unanswered and asyncio.ensure_future(
                                        self._send(self.unanswered[r])))
                            else:
                                self.answered_at[ref] = time.monotonic()
                                self.unanswered.pop(ref)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the desk went away: log in again
                pass
            self._ws = None
            await asyncio.sleep(0.5)
