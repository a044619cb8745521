"""The WeChat channel inside Rasa: the bot's side of the Official Account.

    bot/credentials.yml:   bot.channels.wechat.channel.WeChatChannel:
    settings:              environment variables, see config.py
    operations:            docs/wechat.md

WeChat's requests are served by the gateway process (gateway.py, webhook.py), which hands each
message for the bot to the Rasa processes through the inbox stream (inbox.py). Here every Rasa
process reads that stream (`Turns`): runs the bot, renders its answer (render.py), keeps the
numbered options, records the claimant's language for the gateway, and then either hands the
answer back for the passive reply or sends it through the customer-service API (handshake.py
decides which, delivery.py sends). The desk's messages reach claimants through outbox.py.

The old route /webhooks/wechat/webhook on the Rasa server still answers, through the same inbox
(webhook.py), so an account whose server URL still names Rasa loses no message; but it waits on
Rasa's event loop, so under load it misses WeChat's 5 seconds: point the URL at the gateway.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.wechat import phrases
from bot.channels.wechat.api import WeChatApi
from bot.channels.wechat.config import WeChatSettings
from bot.channels.wechat.constants import UNCOLLECTED_AFTER
from core.privacy.identity import wechat_conversation_id as conversation_id, openid_of
from bot.channels.wechat.delivery import Delivery
from bot.channels.wechat.handshake import DELIVER, HANDED, Handshake
from bot.channels.wechat.inbox import InboxReader, Job
from bot.channels.wechat.replay import KEY_FIELD, earlier_answer
from bot.channels.wechat.languages import ClaimantLanguages
from bot.channels.wechat.outbox import OutboxReader
from bot.channels.wechat.render import Options, render, split_text
from bot.channels.wechat.webhook import Reply, Webhook
from core.language_codes import LANGUAGES
from core.monitoring import definitions as metrics
from core.stream_consumer import consumer_name

logger = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]


class WeChatCollector(CollectingOutputChannel):
    """Collects one turn's bot messages (rendered by the channel afterwards)."""

    @classmethod
    def name(cls) -> Text:
        return "wechat"


class WeChatPush(OutputChannel):
    """Messages Rasa sends on its own (external events, reminders): the customer-service API."""

    def __init__(self, hub: "WeChatHub") -> None:
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


class WeChatHub:
    """What this Rasa process's WeChat parts share: settings, Redis, the API client, the agent."""

    def __init__(self, settings: WeChatSettings) -> None:
        self.settings = settings
        self.app: Any = None
        self.consumer = consumer_name("rasa")
        self.on_new_message: Optional[Handler] = None
        self.redis: Any = None
        self.options: Optional[Options] = None
        self.languages: Optional[ClaimantLanguages] = None
        self.handshake: Optional[Handshake] = None
        self.api: Optional[WeChatApi] = None
        self.delivery: Optional[Delivery] = None
        self.webhook = Webhook(settings)
        self.tasks: Set[asyncio.Task] = set()

    async def start(self, app: Any) -> None:
        """Connects Redis (REDIS_URL, else the lock store's), reads the inbox and the outbox."""
        self.app = app
        if not self.settings.enabled:
            logger.warning("wechat channel: WECHAT_TOKEN is not set; WeChat messages are not read")
            return
        self.redis = _redis(self.settings.redis_url, app)
        if self.redis is None:
            logger.error("wechat channel: no Redis. Set REDIS_URL or use the Redis lock store; "
                         "WeChat messages are not read")
            return
        self.options, self.languages = Options(self.redis), ClaimantLanguages(self.redis)
        self.handshake = Handshake(self.redis)
        # Stable across restarts of this process: its unacknowledged entries are its own again.
        self.consumer = consumer_name("rasa", getattr(getattr(app, "state", None), "port", None))
        if not self.settings.can_send:
            logger.warning("wechat channel: WECHAT_APPID/WECHAT_APPSECRET not set: no customer-service "
                           "messages (slow answers and the desk's messages cannot be delivered)")
        else:
            self.api = WeChatApi(self.redis, base_url=self.settings.api_base, app_id=self.settings.app_id or "",
                                 app_secret=self.settings.app_secret or "")
            self.delivery = Delivery(self.api, self.redis)
            self.spawn(OutboxReader(self.redis, self.delivery, consumer=self.consumer, options=self.options).run())
        turns = Turns(self)
        self.spawn(InboxReader(self.redis, turns.handle, consumer=self.consumer,
                               reclaim_ms=int(self.settings.reclaim_seconds * 1000)).run())
        await self.webhook.start(self.redis)

    async def stop(self) -> None:
        await self.webhook.stop()
        for task in list(self.tasks):
            task.cancel()
        if self.api is not None:
            await self.api.close()

    def spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def tracker(self, openid: str) -> Any:
        """The claimant's tracker; None for a claimant the bot has not met, or when it cannot be
        read (logged)."""
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return None
        try:
            return await store.retrieve(conversation_id(openid))
        except Exception:
            logger.exception("wechat: reading the tracker of %s failed", conversation_id(openid))
            return None

    async def tracker_language(self, openid: str) -> Optional[str]:
        """The conversation's `language` slot, None for a claimant the bot has not met."""
        tracker = await self.tracker(openid)
        language = tracker.get_slot("language") if tracker is not None else None
        return language if language in LANGUAGES else None

    async def send(self, openid: str, texts: List[str]) -> None:
        if self.delivery is None:
            logger.error("wechat: %d text(s) for %s not delivered: WECHAT_APPID/WECHAT_APPSECRET not set",
                         len(texts), conversation_id(openid))
            return
        await self.delivery.send(openid, texts, source="bot")


class Turns:
    """One message from the inbox: the bot's turn, then the answer handed back or sent."""

    def __init__(self, hub: WeChatHub) -> None:
        self.hub = hub

    async def handle(self, job: Job, again: bool = False) -> None:
        """`again`: the message was read before by a process that stopped (inbox.py)."""
        hub = self.hub
        assert hub.handshake is not None and hub.options is not None and hub.languages is not None
        turn = await hub.handshake.turn(job.key)
        if turn is not None and turn.state in ("collected", "sent"):
            logger.info("wechat: %s was answered before; not run again", job.key)
            return
        texts = await self._saved_answer(job) if again else None
        if turn is not None and turn.state == "passive":  # offered by a process that stopped
            offered = turn.texts or []
            texts = offered + (texts or [])[len(offered):]
            outcome = HANDED
        else:
            if texts is None:
                texts = await self._run(job)
            outcome = await hub.handshake.offer(job.key, texts[:1], late=time.time() > job.deadline)
        if outcome == HANDED:
            await self._collected_or_sent(job, texts)
        elif outcome == DELIVER:
            if texts:
                await hub.send(job.openid, texts)
            await hub.handshake.sent(job.key)

    async def _collected_or_sent(self, job: Job, texts: List[str]) -> None:
        """The first text was offered for the passive reply: the rest follows once a gateway
        collected it. Not collected when WeChat's last try is over (the gateway died holding
        it): taken back and all of them sent through the API (handshake.py)."""
        hub = self.hub
        assert hub.handshake is not None
        give_up_at, pause = job.deadline + UNCOLLECTED_AFTER, 0.05
        while time.time() < give_up_at:
            turn = await hub.handshake.turn(job.key)
            if turn is None or turn.state != "passive":
                break
            await asyncio.sleep(min(pause, max(0.0, give_up_at - time.time())))
            pause = min(2 * pause, 1.0)
        else:
            taken = await hub.handshake.take_back(job.key)
            if taken is not None:
                logger.warning("wechat: %s: no gateway replied with its answer before WeChat's last try; "
                               "sent through the customer-service API", job.key)
                metrics.error("wechat_uncollected")
                await hub.send(job.openid, texts)
                await hub.handshake.sent(job.key)
                return
        if texts[1:]:
            await hub.send(job.openid, texts[1:])

    async def _run(self, job: Job) -> List[str]:
        """The bot's rendered answer; a failed run gets the claimant an apology asking them to
        send the message again. Keeps the options for digit replies and the language."""
        hub = self.hub
        collector = WeChatCollector()
        try:
            payload = await hub.options.resolve(job.openid, job.text)
            await self._test_delay(job.openid)
            metadata = {"wechat_msg_type": job.msg_type, "wechat_msg_id": job.msg_id, KEY_FIELD: job.key}
            await hub.on_new_message(UserMessage(payload or job.text, collector, conversation_id(job.openid),
                                                 input_channel="wechat", metadata=metadata))
        except Exception:
            logger.exception("wechat: handling %s failed", job.key)
            metrics.error("not_answered")
            language = await hub.tracker_language(job.openid)
            return split_text(phrases.say("failed", language))
        rendered = render(collector.messages)
        await hub.options.remember(job.openid, rendered.options)
        await hub.languages.remember(job.openid, await hub.tracker_language(job.openid))
        return rendered.texts

    async def _saved_answer(self, job: Job) -> Optional[List[str]]:
        """The rendered answer the tracker holds for this message when its turn was saved by the
        process that stopped; None when it was not (or the tracker cannot be read): run it."""
        tracker = await self.hub.tracker(job.openid)
        if tracker is None:
            return None
        answer = earlier_answer([event.as_dict() for event in tracker.events], job.key)
        if answer is None:
            return None
        logger.warning("wechat: %s was handled before its process stopped; its saved answer is sent",
                       job.key)
        rendered = render(answer)
        await self.hub.options.remember(job.openid, rendered.options)
        return rendered.texts

    async def _test_delay(self, openid: str) -> None:
        delay, block = self.hub.settings.test_delay, self.hub.settings.test_block
        if delay and openid.startswith(delay[1]):
            await asyncio.sleep(delay[0])
        if block and openid.startswith(block[1]):
            time.sleep(block[0])  # holds the whole event loop, as NLU does under load


class WeChatChannel(InputChannel):
    """The bot's side of the Official Account; configuration in config.py."""

    @classmethod
    def name(cls) -> Text:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WeChatChannel":
        return cls(WeChatSettings.build(credentials))

    def __init__(self, settings: Optional[WeChatSettings] = None) -> None:
        self.settings = settings or WeChatSettings.build()
        self.hub = WeChatHub(self.settings)

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WeChatPush(self.hub)

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        hub = self.hub
        hub.on_new_message = on_new_message
        hook = Blueprint("renben_wechat", __name__)
        warned: List[bool] = []

        @hook.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            try:
                await hub.start(app)
            except Exception:
                logger.exception("wechat channel: start failed; WeChat messages are not read")

        @hook.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await hub.stop()

        def answer(reply: Reply) -> HTTPResponse:
            if not warned:
                warned.append(True)
                logger.warning("wechat: WeChat's server URL names the Rasa server; under load its answers "
                               "miss WeChat's 5 s. Point it at the gateway (docs/wechat.md)")
            return response.text(reply.body, status=reply.status, content_type=reply.content_type)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if hub.webhook.ready else "unavailable"})

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return answer(hub.webhook.verify({name: request.args.get(name) for name in request.args}))

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            query = {name: request.args.get(name) for name in request.args}
            return answer(await hub.webhook.receive(query, request.body or b"", request.ip))

        return hook


def _redis(url: Optional[str], app: Any) -> Any:
    """An asyncio Redis client: REDIS_URL, else the server of Rasa's Redis lock store."""
    from core import redis_clients

    if url:
        return redis_clients.connect_async(url)
    lock_store = getattr(getattr(app.ctx, "agent", None), "lock_store", None)
    sync_client = getattr(lock_store, "red", None)
    return redis_clients.like(sync_client) if sync_client is not None else None
