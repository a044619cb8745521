"""The Official Account webhook: GET /webhooks/wechat/webhook (URL check), POST (messages).

    bot/credentials.yml:   bot.channels.wechat.channel.WeChatChannel:
    settings:              environment variables, see config.py
    operations:            docs/wechat.md

A POST is checked (signature; in safe mode msg_signature and decryption; an invalid one gets
HTTP 403 and nothing is processed), parsed (messages.py), claimed once across processes
(dedupe.py), then answered: the bot's answer as a passive reply when it is ready within
WECHAT_PASSIVE_TIMEOUT (4.5 s), else `success` at once and the answer through the
customer-service API (delivery.py). The desk's messages reach claimants through outbox.py,
started with the server.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import rate_limits
from bot.channels.wechat import constants as keys, phrases
from bot.channels.wechat.api import WeChatApi
from bot.channels.wechat.config import WeChatSettings
from bot.channels.wechat.constants import conversation_id, openid_of
from bot.channels.wechat.crypto import check_signature
from bot.channels.wechat.dedupe import Dedupe
from bot.channels.wechat.delivery import Delivery
from bot.channels.wechat.exceptions import DecryptError, RequestRejected
from bot.channels.wechat.messages import MEDIA_KINDS, Inbound, parse_message, parse_xml, text_reply
from bot.channels.wechat.outbox import OutboxReader
from bot.channels.wechat.render import Options, render, split_text

logger = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]
SUCCESS = "success"  # stops WeChat's retries without a passive reply


class WeChatCollector(CollectingOutputChannel):
    """Collects one turn's bot messages (rendered by the channel afterwards)."""

    @classmethod
    def name(cls) -> Text:
        return "wechat"


class WeChatPush(OutputChannel):
    """Messages Rasa sends on its own (external events, reminders): the customer-service API."""

    def __init__(self, hub: "Hub") -> None:
        self.hub = hub

    @classmethod
    def name(cls) -> Text:
        return "wechat"

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        openid = openid_of(recipient_id)
        if openid is None or self.hub.delivery is None:
            logger.error("wechat: cannot push to %s (not a WeChat conversation, or no API settings)",
                         recipient_id)
            return
        rendered = render([message])
        if self.hub.options is not None:
            await self.hub.options.remember(openid, rendered.options)
        await self.hub.delivery.send(openid, rendered.texts, source="bot")

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


class Hub:
    """What every request of this process shares: settings, Redis, the API client, the agent."""

    def __init__(self, settings: WeChatSettings) -> None:
        self.settings = settings
        self.crypto = settings.crypto()
        self.instance = uuid.uuid4().hex[:12]
        self.app: Any = None
        self.on_new_message: Optional[Handler] = None
        self.redis: Any = None
        self.dedupe: Optional[Dedupe] = None
        self.options: Optional[Options] = None
        self.api: Optional[WeChatApi] = None
        self.delivery: Optional[Delivery] = None
        self.tasks: Set[asyncio.Task] = set()

    async def start(self, app: Any) -> None:
        """Connects Redis (REDIS_URL, else the lock store's), the API client and the outbox."""
        self.app = app
        if not self.settings.enabled:
            logger.warning("wechat channel: WECHAT_TOKEN is not set; the webhook answers 503")
            return
        self.redis = _redis(self.settings.redis_url, app)
        if self.redis is None:
            logger.error("wechat channel: no Redis. Set REDIS_URL or use the Redis lock store; "
                         "the webhook answers 503")
            return
        self.dedupe, self.options = Dedupe(self.redis), Options(self.redis)
        self.user_limit = rate_limits.WindowLimit(self.redis, prefix=keys.USER_LIMIT,
                                                  per_minute=self.settings.user_per_minute)
        self.address_limit = rate_limits.WindowLimit(self.redis, prefix=keys.ADDRESS_LIMIT,
                                                     per_minute=self.settings.address_per_minute)
        if not self.settings.can_send:
            logger.warning("wechat channel: WECHAT_APPID/WECHAT_APPSECRET not set: no customer-service "
                           "messages (slow answers and the desk's messages cannot be delivered)")
            return
        self.api = WeChatApi(self.redis, base_url=self.settings.api_base, app_id=self.settings.app_id or "",
                             app_secret=self.settings.app_secret or "")
        self.delivery = Delivery(self.api, self.redis)
        reader = OutboxReader(self.redis, self.delivery, consumer=f"rasa-{self.instance}")
        self.spawn(reader.run())

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.api is not None:
            await self.api.close()

    @property
    def ready(self) -> bool:
        return self.dedupe is not None

    def spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def language_of(self, openid: str) -> Optional[str]:
        """The conversation's `language` slot, None for a claimant the bot has not met."""
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return None
        try:
            tracker = await store.retrieve(conversation_id(openid))
        except Exception:
            logger.exception("wechat: reading the tracker of %s failed", conversation_id(openid))
            return None
        language = tracker.get_slot("language") if tracker is not None else None
        return language if language in phrases.LANGUAGES else None

    # --- one inbound message ---

    async def answer(self, inbound: Inbound, *, arrived: Optional[float] = None) -> Optional[str]:
        """The passive reply text for `inbound`, or None to answer `success`. Handles each
        message once: a retry gets the first answer again, or `success`. `arrived` is the
        request's time.monotonic(): the passive window counts from it."""
        assert self.dedupe is not None and self.options is not None
        key = inbound.dedupe_key
        seen = await self.dedupe.claim(key)
        if seen is not None:
            logger.info("wechat: %s seen before (%s); not handled again", key, seen.state)
            return seen.texts[0] if seen.state == "reply" and seen.texts else None
        try:
            text = await self._answer(inbound, time.monotonic() if arrived is None else arrived)
        except Exception:
            await self.dedupe.release(key)  # WeChat's retry handles it again
            raise
        return text

    async def _answer(self, inbound: Inbound, arrived: float) -> Optional[str]:
        openid, key = inbound.from_user, inbound.dedupe_key
        if await self.user_limit.wait_for(openid):
            # Not silent: the claimant is told, in their language, to send it again in a minute.
            text = phrases.say("slow_down", await self.language_of(openid))
            await self.dedupe.replied(key, [text])
            return text
        if inbound.kind in ("text", "voice") and inbound.text and inbound.text.strip():
            return await self.converse(inbound, inbound.text, deadline=arrived + self.settings.passive_timeout)
        if inbound.kind == "subscribe":
            text: Optional[str] = phrases.say("welcome", None)
        elif inbound.kind == "voice":
            text = phrases.say("type_please", await self.language_of(openid))
        elif inbound.kind in MEDIA_KINDS or inbound.kind == "unknown":
            language = await self.language_of(openid)
            await self.options.remember(openid, {"1": phrases.HUMAN_PAYLOAD})
            text = f"{phrases.media_answer(inbound.kind, language)}\n1. {phrases.offer_person(language)}"
        elif inbound.kind == "text":  # empty text: nothing to answer
            text = None
        else:  # unsubscribe, menu clicks, scans ...: nothing to say
            text = None
        await self.dedupe.replied(key, [text] if text else [])
        return text

    async def converse(self, inbound: Inbound, text: str, *, deadline: float) -> Optional[str]:
        """Runs the bot; the passive reply if it answers before `deadline` (time.monotonic()),
        else None (the answer is sent through the API when ready)."""
        openid, key = inbound.from_user, inbound.dedupe_key
        payload = await self.options.resolve(openid, text)
        collector = WeChatCollector()
        task = self.spawn(self._run_bot(inbound, payload or text, collector))
        done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - time.monotonic()))
        # A busy event loop can wake us after the deadline with the answer ready: WeChat has
        # given up on this request by then, so the answer must go through the API.
        if task not in done or time.monotonic() > deadline:
            await self.dedupe.went_async(key)
            self.spawn(self._deliver_later(inbound, task, collector))
            return None
        texts = await self._texts_of(inbound, task, collector)
        first, rest = (texts[0], texts[1:]) if texts else (None, [])
        await self.dedupe.replied(key, [first] if first else [])
        if rest:
            self._send_async(openid, rest)
        return first

    async def _run_bot(self, inbound: Inbound, text: str, collector: WeChatCollector) -> None:
        delay = self.settings.test_delay
        if delay and inbound.from_user.startswith(delay[1]):
            await asyncio.sleep(delay[0])
        metadata = {"wechat_msg_type": inbound.msg_type, "wechat_msg_id": inbound.msg_id}
        await self.on_new_message(UserMessage(text, collector, conversation_id(inbound.from_user),
                                              input_channel="wechat", metadata=metadata))

    async def _texts_of(self, inbound: Inbound, task: asyncio.Task, collector: WeChatCollector) -> List[str]:
        """The rendered answer of a finished bot run; the options are kept for digit replies.
        A failed run gets the claimant an apology asking them to send the message again."""
        try:
            task.result()
        except Exception:
            logger.exception("wechat: handling %s failed", inbound.dedupe_key)
            return split_text(phrases.say("failed", await self.language_of(inbound.from_user)))
        rendered = render(collector.messages)
        await self.options.remember(inbound.from_user, rendered.options)
        return rendered.texts

    async def _deliver_later(self, inbound: Inbound, task: asyncio.Task, collector: WeChatCollector) -> None:
        try:
            await asyncio.wait({task})
            texts = await self._texts_of(inbound, task, collector)
            if texts:
                await self._send(inbound.from_user, texts)
        except Exception:
            logger.exception("wechat: delivering the answer to %s failed", inbound.dedupe_key)

    def _send_async(self, openid: str, texts: List[str]) -> None:
        self.spawn(self._send(openid, texts))

    async def _send(self, openid: str, texts: List[str]) -> None:
        if self.delivery is None:
            logger.error("wechat: %d text(s) for %s not delivered: WECHAT_APPID/WECHAT_APPSECRET not set",
                         len(texts), conversation_id(openid))
            return
        await self.delivery.send(openid, texts, source="bot")


class WeChatChannel(InputChannel):
    """The Official Account server protocol; configuration in config.py."""

    @classmethod
    def name(cls) -> Text:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WeChatChannel":
        return cls(WeChatSettings.build(credentials))

    def __init__(self, settings: Optional[WeChatSettings] = None) -> None:
        self.settings = settings or WeChatSettings.build()
        self.hub = Hub(self.settings)

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WeChatPush(self.hub)

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        hub = self.hub
        hub.on_new_message = on_new_message
        hook = Blueprint("renben_wechat", __name__)

        @hook.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            try:
                await hub.start(app)
            except Exception:
                logger.exception("wechat channel: start failed; the webhook answers 503")

        @hook.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await hub.stop()

        def check(request: Request) -> None:
            args = request.args
            check_signature(self.settings.token or "", args.get("signature", ""), args.get("timestamp", ""),
                            args.get("nonce", ""))

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if hub.ready else "unavailable"})

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.settings.enabled:
                return response.text("wechat channel not configured", status=503)
            try:
                check(request)
            except RequestRejected as error:
                logger.warning("wechat: URL check refused: %s", error)
                return response.text("forbidden", status=error.status)
            echostr = request.args.get("echostr")
            if not echostr:
                return response.text("echostr missing", status=400)
            return response.text(echostr)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.settings.enabled or not hub.ready:
                return response.text("wechat channel not available", status=503)
            if await hub.address_limit.wait_for(request.ip):
                return response.text("too many requests", status=429)
            args = request.args
            arrived = _arrival(args.get("timestamp", ""), self.settings.passive_timeout)
            safe = (args.get("encrypt_type") or "raw").lower() == "aes"
            key_index = 0
            try:
                check(request)
                if safe:
                    if hub.crypto is None:
                        raise DecryptError("safe-mode request, but WECHAT_AES_KEY is not set")
                    outer = parse_xml(request.body or b"")
                    opened = hub.crypto.decrypt(encrypt=outer.get("Encrypt", ""),
                                                msg_signature=args.get("msg_signature", ""),
                                                timestamp=args.get("timestamp", ""), nonce=args.get("nonce", ""))
                    key_index = opened.key_index
                    inbound = parse_message(opened.xml)
                else:
                    inbound = parse_message(request.body or b"")
            except RequestRejected as error:
                logger.warning("wechat: request refused (%s): %s", error.status, error)
                return response.text("forbidden" if error.status == 403 else "bad request", status=error.status)
            try:
                text = await hub.answer(inbound, arrived=arrived)
            except Exception:  # Redis away: WeChat retries, and the claimant's message is not lost
                logger.exception("wechat: %s could not be handled", inbound.dedupe_key)
                return response.text("unavailable", status=503)
            if not text:
                return response.text(SUCCESS)
            reply = text_reply(inbound, text)
            if safe and hub.crypto is not None:
                reply = hub.crypto.encrypt_reply(reply, nonce=args.get("nonce", ""),
                                                 timestamp=str(int(time.time())), key_index=key_index)
            return response.text(reply, content_type="application/xml; charset=utf-8")

        return hook


def _arrival(timestamp: str, window: float) -> float:
    """When WeChat sent the request, on the time.monotonic() clock: now, or earlier by the
    request's signed `timestamp` (whole seconds, so half a second is allowed for truncation) when
    it waited in a queue before reaching this handler. Never earlier than `window` ago."""
    now = time.monotonic()
    try:
        waited = time.time() - int(timestamp) - 0.5
    except ValueError:
        return now
    return now - min(max(waited, 0.0), window)


def _redis(url: Optional[str], app: Any) -> Any:
    """An asyncio Redis client: REDIS_URL, else the server of Rasa's Redis lock store."""
    import redis.asyncio as aioredis

    if url:
        return aioredis.Redis.from_url(url, decode_responses=True)
    lock_store = getattr(getattr(app.ctx, "agent", None), "lock_store", None)
    sync_client = getattr(lock_store, "red", None)
    if sync_client is None:
        return None
    kwargs = dict(sync_client.connection_pool.connection_kwargs)
    options = {name: kwargs[name] for name in ("host", "port", "db", "username", "password")
               if kwargs.get(name) is not None}
    if "SSL" in sync_client.connection_pool.connection_class.__name__:
        options["ssl"] = True
    return aioredis.Redis(decode_responses=True, **options)
