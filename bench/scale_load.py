"""The load of bench/scale_out.py: widget claimants (real WebSockets), WeChat claimants (signed
requests in WeChat's protocol, answers passive or through tests/fake_wechat_api.py) and agents on
the desk (the agent protocol's WebSocket), all through nginx's doors.

Every claimant writes its messages in steps of two sent at once (`Step`), and sends the next step
only once both are answered: a widget claimant has the chat open in two tabs (two sockets of one
session, which nginx's round robin puts on different Rasa processes) and writes one message in
each; a WeChat claimant sends two messages in a row (two requests, which the gateways hand to
whichever Rasa process reads the inbox first). So the turns of one conversation run on both Rasa
processes at the same time, and the lock store must keep them apart.

A claimant that asks for a person (`handoff`) writes one step, asks for a person, waits for the
agent's line, writes one message while the agent holds the conversation, waits for the return
to the bot, then writes the rest. An agent claims every ticket it sees, says its line, waits for
the claimant's message, and returns the conversation to the bot.

Answered means: on the widget, the message's `ack` (sent once its turn is saved); on WeChat, the
passive reply, or for `success` the moment the Rasa side recorded the answer as sent through the
customer-service API (`renben:wechat:turn:<MsgId>` = `sent`).
"""
from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import aiohttp
import websockets

from core.redis_keys import WECHAT_TURN as TURN
from bot.channels.wechat.crypto import signature_of
from bot.channels.wechat.messages import parse_xml
from handoff.phrases import load as load_phrases

#: Questions the bot answers in each language (this bench's own, not ../shared/eval).
QUESTIONS = {
    "zh": ["养老金怎么领取?", "失业了可以领什么补助?", "医保卡丢了怎么补办?", "生育津贴怎么申请",
           "工伤以后谁来认定", "社保转到外地怎么办", "你好", "谢谢"],
    "en": ["How do I claim unemployment benefit?", "What documents do I need for a pension?",
           "How do I get a social security card?", "how do I apply for maternity allowance",
           "Where can I get a new social security card?", "How do I transfer my pension to another city?",
           "hello", "thank you"],
}
HUMAN = {"zh": "我要找人工", "en": "I want to talk to a person"}
HELD = {"zh": "我上个月被公司辞退了,还没拿到补偿", "en": "I was dismissed last month and have not been paid my notice"}
#: Every agent line starts with this, so a claimant can tell it from the bot's.
AGENT_MARK = "[bench agent]"
TIMEOUT = 180.0  # seconds to wait for one answer, or for the agent


@dataclass
class Step:
    kind: str  # "pair": two questions at once; "human": ask for a person; "held": while a person holds it
    texts: List[str]


def script(language: str, messages: int, handoff: bool, offset: int) -> List[Step]:
    """`messages` messages in steps; a handoff takes two of them (asking, and one while held)."""
    questions = QUESTIONS[language]
    ask = [questions[(offset + n) % len(questions)] for n in range(messages)]
    steps: List[Step] = []
    bot_messages = messages - 2 if handoff else messages
    pairs = [ask[n:n + 2] for n in range(0, bot_messages, 2)]
    if handoff:
        first, rest = pairs[:1], pairs[1:]
        steps += [Step("pair", p) for p in first]
        steps += [Step("human", [HUMAN[language]]), Step("held", [HELD[language]])]
        steps += [Step("pair", p) for p in rest]
    else:
        steps += [Step("pair", p) for p in pairs]
    return steps


@dataclass
class Result:
    channel: str  # web, wechat
    conversation: str
    message_id: str
    step: int
    kind: str
    sent_at: float
    answered_at: Optional[float] = None
    retries: int = 0

    @property
    def latency(self) -> Optional[float]:
        return None if self.answered_at is None else self.answered_at - self.sent_at


class Waiting:
    """Frames or texts arriving for one reader, and a way to wait for one that matches."""

    def __init__(self) -> None:
        self.items: List[Any] = []
        self.changed = asyncio.Event()

    def add(self, item: Any) -> None:
        self.items.append(item)
        self.changed.set()

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float = TIMEOUT,
                       start: int = 0) -> Optional[Any]:
        """The first item from `start` on that matches, waiting up to `timeout`; None if none came."""
        deadline = time.monotonic() + timeout
        checked = start
        while True:
            for item in self.items[checked:]:
                if predicate(item):
                    return item
            checked = len(self.items)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
            except asyncio.TimeoutError:
                pass


# ----------------------------------------------------------------------------- the widget

class Tab:
    """One socket of a widget session, speaking docs/widget-protocol.md."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws: Any = None
        self.frames = Waiting()
        self._reader: Optional[asyncio.Task] = None

    async def open(self, *, token: Optional[str], language: str, last_seq: Optional[str]) -> Dict[str, Any]:
        self.ws = await websockets.connect(self.url, max_size=2 ** 22, open_timeout=60)
        self._reader = asyncio.create_task(self._read())
        await self.ws.send(json.dumps({"type": "hello", "token": token, "language": language, "last_seq": last_seq}))
        session = await self.frames.wait_for(lambda f: f["type"] == "session", 60)
        if session is None:
            raise RuntimeError("no session frame")
        return session

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                self.frames.add(json.loads(data))
        except websockets.ConnectionClosed:
            pass

    async def say(self, result: Result, text: str) -> None:
        """Sends and waits for the ack; sends again (as the widget does) after `unavailable`."""
        start, resend = len(self.frames.items), False
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            await self.ws.send(json.dumps({"type": "message", "id": result.message_id, "text": text,
                                           "resend": resend}, ensure_ascii=False))
            frame = await self.frames.wait_for(
                lambda f: f.get("id") == result.message_id and f["type"] in ("ack", "error"),
                deadline - time.monotonic(), start=start)
            if frame is None:
                return
            if frame["type"] == "ack":
                result.answered_at = time.monotonic()
                return
            if frame.get("code") not in ("unavailable", "rate_limited"):
                return  # not_answered: the claimant is asked to send it again; counted as unanswered
            result.retries += 1
            start, resend = len(self.frames.items), True
            await asyncio.sleep(float(frame.get("retry_after") or 1.0))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=5)


class WidgetClaimant:
    def __init__(self, url: str, name: str, language: str, steps: List[Step]) -> None:
        self.name, self.language, self.steps = name, language, steps
        self.tabs = [Tab(f"{url}?tab=a"), Tab(f"{url}?tab=b")]
        self.conversation = ""
        self.results: List[Result] = []

    async def open(self) -> None:
        first = await self.tabs[0].open(token=None, language=self.language, last_seq=None)
        self.conversation = first["conversation_id"]
        await self.tabs[1].open(token=first["token"], language=self.language, last_seq=first["last_seq"])

    def _result(self, step: int, kind: str, n: int) -> Result:
        result = Result("web", self.conversation, f"{self.name}-{step}-{n}", step, kind, time.monotonic())
        self.results.append(result)
        return result

    async def _seen(self, predicate: Callable[[Dict[str, Any]], bool]) -> bool:
        waits = [asyncio.ensure_future(tab.frames.wait_for(predicate)) for tab in self.tabs]
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        found = any(task.result() is not None for task in done)
        if not found and pending:
            found = any(r is not None for r in await asyncio.gather(*pending))
        for task in pending:
            task.cancel()
        return found

    async def run(self) -> None:
        for number, step in enumerate(self.steps):
            if step.kind == "pair":
                await asyncio.gather(*(tab.say(self._result(number, step.kind, n), text)
                                       for n, (tab, text) in enumerate(zip(self.tabs, step.texts))))
            elif step.kind == "human":
                await self.tabs[0].say(self._result(number, step.kind, 0), step.texts[0])
                if not await self._seen(lambda f: f["type"] == "agent_message" and AGENT_MARK in f.get("text", "")):
                    return
            else:  # held: on the other tab, then wait for the bot to be back
                await self.tabs[1].say(self._result(number, step.kind, 0), step.texts[0])
                if not await self._seen(lambda f: f["type"] == "bot_resumed"):
                    return
            if any(r.answered_at is None for r in self.results):
                return

    async def close(self) -> None:
        await asyncio.gather(*(tab.close() for tab in self.tabs), return_exceptions=True)


# ----------------------------------------------------------------------------- WeChat

class WeChatClaimant:
    """A WeChat user: each message is a signed POST to the Official Account's server URL."""

    def __init__(self, url: str, token: str, openid: str, language: str, steps: List[Step], *,
                 session: aiohttp.ClientSession, redis: Any, fake: Any, resumed_text: str) -> None:
        self.url, self.token, self.openid, self.language, self.steps = url, token, openid, language, steps
        self.session, self.redis, self.fake, self.resumed_text = session, redis, fake, resumed_text
        self.conversation = f"wx-{openid}"
        self.results: List[Result] = []

    def _xml(self, text: str, msg_id: str, timestamp: str) -> str:
        return (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{self.openid}]]>"
                f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>")

    async def say(self, step: int, kind: str, text: str) -> None:
        msg_id = str(random.randrange(10 ** 17, 10 ** 18))
        result = Result("wechat", self.conversation, msg_id, step, kind, time.monotonic())
        self.results.append(result)
        body = None
        for _attempt in range(3):  # WeChat sends a message three times at most
            timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
            query = urllib.parse.urlencode({"signature": signature_of(self.token, timestamp, nonce),
                                            "timestamp": timestamp, "nonce": nonce})
            try:
                async with self.session.post(f"{self.url}?{query}", data=self._xml(text, msg_id, timestamp).encode(),
                                             timeout=aiohttp.ClientTimeout(total=15)) as reply:
                    if reply.status == 200:
                        body = await reply.text()
                        break
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            result.retries += 1
        if body is None:
            return
        if body.startswith("<xml>") and parse_xml(body).get("Content"):
            result.answered_at = time.monotonic()
            return
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:  # `success`: answered once sent through the API
            state = await self.redis.get(TURN + msg_id)
            if state == "sent" or (state or "").startswith("passive:"):
                result.answered_at = time.monotonic()
                return
            await asyncio.sleep(0.02)

    async def _texts(self, predicate: Callable[[str], bool]) -> bool:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if any(predicate(text) for text in self.fake.texts_to(self.openid)):
                return True
            await asyncio.sleep(0.05)
        return False

    async def run(self) -> None:
        for number, step in enumerate(self.steps):
            await asyncio.gather(*(self.say(number, step.kind, text) for text in step.texts))
            if any(r.answered_at is None for r in self.results):
                return
            if step.kind == "human" and not await self._texts(lambda t: AGENT_MARK in t):
                return
            if step.kind == "held" and not await self._texts(lambda t: self.resumed_text in t):
                return


def resumed_texts() -> Dict[str, str]:
    """What the desk says to a claimant when the agent returns them to the bot, per language."""
    phrases = load_phrases()
    return {language: phrases.say("utter_handoff_resumed", language) for language in QUESTIONS}


# ----------------------------------------------------------------------------- agents

class Agent:
    """An agent at a console: claims every waiting ticket, says a line, waits for the claimant,
    returns the conversation to the bot."""

    def __init__(self, url: str, token: str, name: str, *, wait_for_claimant: float = 60.0) -> None:
        self.url, self.token, self.name, self.wait_for_claimant = url, token, name, wait_for_claimant
        self.ws: Any = None
        self.frames = Waiting()
        self.answers: Dict[str, asyncio.Future] = {}
        self.handling: Dict[str, asyncio.Task] = {}
        self.returned: List[str] = []
        self.errors: List[str] = []
        self._reader: Optional[asyncio.Task] = None

    async def login(self) -> None:
        self.ws = await websockets.connect(self.url, max_size=2 ** 22, open_timeout=60)
        await self.ws.send(json.dumps({"type": "auth", "token": self.token}))
        self._reader = asyncio.create_task(self._read())
        if await self.frames.wait_for(lambda f: f["type"] == "snapshot", 60) is None:
            raise RuntimeError(f"agent {self.name}: no snapshot")

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                frame = json.loads(data)
                waiting = self.answers.pop(str(frame.get("ref")), None) if frame["type"] in ("ok", "error") else None
                if waiting is not None and not waiting.done():
                    waiting.set_result(frame)
                    continue
                self.frames.add(frame)
                tickets = [frame["ticket"]] if frame["type"] == "ticket" else frame.get("tickets") or []
                for ticket in tickets if frame["type"] in ("ticket", "snapshot") else []:
                    if ticket.get("state") == "waiting" and ticket["id"] not in self.handling:
                        self.handling[ticket["id"]] = asyncio.create_task(self._take(ticket["id"]))
        except websockets.ConnectionClosed:
            pass

    async def ask(self, kind: str, **fields: Any) -> Dict[str, Any]:
        ref = uuid.uuid4().hex[:12]
        self.answers[ref] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"type": kind, "ref": ref, **fields}, ensure_ascii=False))
        return await asyncio.wait_for(self.answers[ref], 60)

    async def _take(self, ticket_id: str) -> None:
        try:
            claimed = await self.ask("claim", ticket_id=ticket_id)
            if claimed["type"] != "ok":
                return  # the other agent was first
            said = await self.ask("message", ticket_id=ticket_id, text=f"{AGENT_MARK} 您好, this is {self.name}.")
            if said["type"] != "ok":
                self.errors.append(f"message: {said}")
            await self.frames.wait_for(lambda f: f["type"] == "claimant_message" and f.get("ticket_id") == ticket_id,
                                       self.wait_for_claimant)
            done = await self.ask("return", ticket_id=ticket_id)
            if done["type"] == "ok":
                self.returned.append(ticket_id)
            else:
                self.errors.append(f"return: {done}")
        except Exception as error:  # counted, and the claimant waiting for it is then unanswered
            self.errors.append(f"{type(error).__name__}: {error}")

    async def close(self) -> None:
        for task in self.handling.values():
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=5)


@dataclass
class Load:
    """How many claimants of each channel, how many messages each, how many ask for a person."""
    claimants: int
    messages: int
    handoff_every: int = 4  # of every n pairs of claimants (one per channel), the first asks for a person (0: none)

    def plan(self) -> List[Dict[str, Any]]:
        plans = []
        every = self.handoff_every
        for index in range(self.claimants):
            pair = index // 2  # claimants come in pairs, one per channel, in one language
            handoff = bool(every) and pair % every == 0
            language = ("zh", "en")[(pair + (pair // every if every else 0)) % 2]
            plans.append({"index": index, "channel": ("web", "wechat")[index % 2], "language": language,
                          "steps": script(language, self.messages, handoff and self.messages >= 4, index)})
        return plans
