"""The Official Account webhook, whatever serves it: the URL check (GET) and messages (POST).

Served by the gateway process (gateway.py), which never runs NLU, so its answer always leaves
within WeChat's 5 seconds. A POST is refused by address rate limit (429), signature (403; in safe
mode also msg_signature and decryption) or parsing (400, defusedxml), then claimed once across
processes (dedupe.py) and answered:

- text, and voice with Recognition: the message goes to the Rasa processes through the inbox
  stream (inbox.py) and the request waits for the bot's answer until WECHAT_PASSIVE_TIMEOUT
  after the request arrived; then it replies passively with it, or answers `success` and the
  Rasa side sends the answer through the customer-service API (handshake.py decides which);
- everything else (subscribe, media, voice without Recognition, over the claimant's per-minute
  limit) is answered here, in the claimant's language as last recorded by the Rasa side.

Framework-free: `verify` and `receive` take the query, body and client address and return a
`Reply`; the gateway (aiohttp) and Rasa's old route (sanic) turn it into their response.
`receive` is where every message passes: it counts how each was answered and how long after
WeChat sent it, and the refusals (core/monitoring/definitions.py).
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Set, Tuple

from bot.channels import rate_limits
from bot.channels.wechat import phrases
from bot.channels.wechat.answers import AnswerBell
from bot.channels.wechat.config import WeChatSettings
from bot.channels.wechat.crypto import check_signature
from bot.channels.wechat.dedupe import PENDING, Dedupe
from bot.channels.wechat.exceptions import DecryptError, RequestRejected
from bot.channels.wechat.handshake import Handshake
from bot.channels.wechat.inbox import Inbox, Job
from bot.channels.wechat.languages import ClaimantLanguages
from bot.channels.wechat.messages import MEDIA_KINDS, Inbound, parse_message, parse_xml, text_reply
from bot.channels.wechat.render import Options
from core import redis_keys
from core.monitoring import definitions as metrics

logger = logging.getLogger(__name__)

SUCCESS = "success"  # stops WeChat's retries without a passive reply
XML = "application/xml; charset=utf-8"
LATE_MARGIN = 0.25  # seconds past WECHAT_PASSIVE_TIMEOUT after which an answer is logged as late


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Answered:
    """The passive reply's text (None: answer `success`) and how the message was answered (one
    of definitions.WECHAT_PATHS)."""

    text: Optional[str]
    path: str


#: The error counted for each refusal's HTTP status.
REFUSALS = {403: "wechat_refused", 400: "wechat_refused", 413: "wechat_refused", 429: "wechat_rate_limited",
            503: "wechat_unavailable"}


class Webhook:
    def __init__(self, settings: WeChatSettings) -> None:
        self.settings = settings
        self.crypto = settings.crypto()
        self.redis: Any = None
        self.tasks: Set[asyncio.Task] = set()

    async def start(self, redis: Any) -> None:
        """Uses `redis` (asyncio client, text replies) and starts listening for answers."""
        self.redis = redis
        self.dedupe, self.options = Dedupe(redis), Options(redis)
        self.languages, self.handshake, self.inbox = ClaimantLanguages(redis), Handshake(redis), Inbox(redis)
        self.user_limit = rate_limits.WindowLimit(redis, prefix=redis_keys.WECHAT_USER_LIMIT,
                                                  per_minute=self.settings.user_per_minute)
        self.address_limit = rate_limits.WindowLimit(redis, prefix=redis_keys.WECHAT_ADDRESS_LIMIT,
                                                     per_minute=self.settings.address_per_minute)
        self.bell = AnswerBell(redis)
        task = asyncio.ensure_future(self.bell.run())
        self.tasks.add(task)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        self.tasks.clear()

    @property
    def ready(self) -> bool:
        return self.settings.enabled and self.redis is not None

    def _check(self, query: Mapping[str, str]) -> None:
        check_signature(self.settings.token or "", query.get("signature", ""), query.get("timestamp", ""),
                        query.get("nonce", ""))

    def verify(self, query: Mapping[str, str]) -> Reply:
        """The URL check: `echostr` back when the signature is right."""
        if not self.settings.enabled:
            return Reply(503, "wechat channel not configured")
        try:
            self._check(query)
        except RequestRejected as error:
            logger.warning("wechat: URL check refused: %s", error)
            return Reply(error.status, "forbidden")
        echostr = query.get("echostr")
        return Reply(200, echostr) if echostr else Reply(400, "echostr missing")

    async def receive(self, query: Mapping[str, str], body: bytes, address: Optional[str]) -> Reply:
        """One POST from WeChat's servers."""
        arrived = arrival(query.get("timestamp", ""), self.settings.passive_timeout)
        reply, path = await self._receive(query, body, address, arrived)
        if path is not None:
            metrics.wechat_answered(path, time.monotonic() - arrived)
        elif reply.status in REFUSALS:
            metrics.error(REFUSALS[reply.status])
        return reply

    async def _receive(self, query: Mapping[str, str], body: bytes, address: Optional[str],
                       arrived: float) -> Tuple[Reply, Optional[str]]:
        """The reply, and how the message was answered (None when it was refused)."""
        if not self.ready:
            return Reply(503, "wechat channel not available"), None
        if await self.address_limit.wait_for(address):
            return Reply(429, "too many requests"), None
        safe = (query.get("encrypt_type") or "raw").lower() == "aes"
        key_index = 0
        try:
            self._check(query)
            if safe:
                if self.crypto is None:
                    raise DecryptError("safe-mode request, but WECHAT_AES_KEY is not set")
                outer = parse_xml(body or b"")
                opened = self.crypto.decrypt(encrypt=outer.get("Encrypt", ""),
                                             msg_signature=query.get("msg_signature", ""),
                                             timestamp=query.get("timestamp", ""), nonce=query.get("nonce", ""))
                key_index = opened.key_index
                inbound = parse_message(opened.xml)
            else:
                inbound = parse_message(body or b"")
        except RequestRejected as error:
            logger.warning("wechat: request refused (%s): %s", error.status, error)
            return Reply(error.status, "forbidden" if error.status == 403 else "bad request"), None
        try:
            answered = await self.answer(inbound, arrived=arrived)
        except Exception:  # Redis away: WeChat retries, and the claimant's message is not lost
            logger.exception("wechat: %s could not be handled", inbound.dedupe_key)
            return Reply(503, "unavailable"), None
        took = time.monotonic() - arrived
        if took > self.settings.passive_timeout + LATE_MARGIN:
            logger.warning("wechat: %s answered %.2f s after it arrived (WeChat waits 5 s): this process "
                           "lacks CPU", inbound.dedupe_key, took)
        if not answered.text:
            return Reply(200, SUCCESS), answered.path
        reply = text_reply(inbound, answered.text)
        if safe and self.crypto is not None:
            reply = self.crypto.encrypt_reply(reply, nonce=query.get("nonce", ""),
                                              timestamp=str(int(time.time())), key_index=key_index)
        return Reply(200, reply, XML), answered.path

    # --- one inbound message ---

    async def answer(self, inbound: Inbound, *, arrived: Optional[float] = None) -> Answered:
        """The passive reply text for `inbound` (None to answer `success`) and its path. Handles
        each message once: a retry gets the first answer again, or `success`. `arrived` is the
        request's time.monotonic(): the passive window counts from it."""
        key = inbound.dedupe_key
        seen = await self.dedupe.claim(key)
        if seen is not None:
            logger.info("wechat: %s seen before (%s); not handled again", key, seen.state)
            if seen.state == "reply":
                return Answered(seen.texts[0] if seen.texts else None, "repeat")
            if seen.state == PENDING:  # the request that took it may have died holding the answer
                # An offered answer is collected for this reply; none yet: `success`, and one
                # offered later and never collected is sent by the Rasa side (handshake.py).
                texts = await self.handshake.collect(key)
                return Answered(texts[0] if texts else None, "repeat")
            return Answered(None, "repeat")
        try:
            return await self._answer(inbound, time.monotonic() if arrived is None else arrived)
        except Exception:
            await self.dedupe.release(key)  # WeChat's retry handles it again
            raise

    async def _answer(self, inbound: Inbound, arrived: float) -> Answered:
        openid, key = inbound.from_user, inbound.dedupe_key
        if await self.user_limit.wait_for(openid):
            # Not silent: the claimant is told, in their language, to send it again in a minute.
            text = phrases.say("slow_down", await self.languages.of(openid))
            await self.dedupe.replied(key, [text])
            return Answered(text, "gateway")
        if inbound.kind in ("text", "voice") and inbound.text and inbound.text.strip():
            return await self.converse(inbound, inbound.text, deadline=arrived + self.settings.passive_timeout)
        if inbound.kind == "subscribe":
            text: Optional[str] = phrases.say("welcome", None)
        elif inbound.kind == "voice":
            text = phrases.say("type_please", await self.languages.of(openid))
        elif inbound.kind in MEDIA_KINDS or inbound.kind == "unknown":
            language = await self.languages.of(openid)
            await self.options.remember(openid, {"1": phrases.HUMAN_PAYLOAD})
            text = f"{phrases.media_answer(inbound.kind, language)}\n1. {phrases.offer_person(language)}"
        else:  # empty text, unsubscribe, menu clicks, scans ...: nothing to say
            text = None
        await self.dedupe.replied(key, [text] if text else [])
        return Answered(text, "gateway")

    async def converse(self, inbound: Inbound, text: str, *, deadline: float) -> Answered:
        """Hands the message to the bot; the passive reply if the answer is handed back before
        `deadline` (time.monotonic()), else `async` (the Rasa side sends it through the API)."""
        key = inbound.dedupe_key
        epoch_deadline = time.time() + (deadline - time.monotonic())
        await self.inbox.put(Job(key=key, openid=inbound.from_user, text=text, msg_type=inbound.msg_type,
                                 msg_id=inbound.msg_id, deadline=epoch_deadline))
        await self.bell.wait(key, deadline - time.monotonic())
        texts = await self.handshake.give_up(key)
        first = texts[0] if texts else None
        # Recorded for WeChat's retries after the answer leaves: it is late already. Should it be
        # lost, a retry still finds the answer in the handshake (`answer`).
        self._spawn(self.dedupe.went_async(key) if texts is None else self.dedupe.replied(key, [first] if first else []))
        return Answered(first, "async" if texts is None else "passive")

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def arrival(timestamp: str, window: float) -> float:
    """When WeChat sent the request, on the time.monotonic() clock: now, or earlier by the
    request's signed `timestamp` (whole seconds, so half a second is allowed for truncation) when
    it waited in a queue before reaching this handler. Never earlier than `window` ago."""
    now = time.monotonic()
    try:
        waited = time.time() - int(timestamp) - 0.5
    except ValueError:
        return now
    return now - min(max(waited, 0.0), window)
