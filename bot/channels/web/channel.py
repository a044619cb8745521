"""The widget's channel: a WebSocket at /webhooks/web/ws, and the widget's files.

    bot/credentials.yml:   bot.channels.web.channel.WebChannel:
    settings:              environment variables, see config.py
    wire protocol:         docs/widget-protocol.md (frames built and checked in protocol.py)

A client message is acknowledged once Rasa has handled it and saved the tracker (the commit).
Its state in Redis ("pending:<process>", then "done") drops duplicates across reconnects,
processes and restarts; a resend whose state is gone is checked against the tracker, which is
the one record of what was committed. A turn that was not saved because a custom action failed
(bot/turn_guard.py) runs again, with backoff, for up to RENBEN_WEB_TURN_RETRY_SECONDS; then the
claimant is told, in their language, to send it again (notice and error `not_answered`), and the
message is never acknowledged. Its replies reach the stream only once its turn is saved.
Server messages go through the conversation's stream in Redis (delivery.py) and are sent to
every socket of the conversation in this process.
"""
from __future__ import annotations

import asyncio
import codecs
import logging
import time
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.server.websockets import frame as sanic_frames

from bot.channels import rate_limits
from bot.channels.web import protocol as p
from bot.channels.web.config import WebSettings
from bot.channels.web.delivery import Store, client_from_url, client_like
from bot.channels.web.exceptions import FrameRejected
from core.language_codes import LANGUAGES
from core.monitoring import definitions as metrics
from core.privacy import period
from bot.turn_guard import RetrySchedule, TurnNotFinished
from core import redis_keys
from core.stream_consumer import consumer_name

logger = logging.getLogger(__name__)

WIDGET_DIR = Path(__file__).resolve().parents[3] / "widget"
STATIC_FILES = {
    "widget.js": "application/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
    "index.html": "text/html; charset=utf-8",
}
#: Refused frames in a row (over the rate) after which the socket is closed with 1008.
FLOOD_CLOSE_AFTER = 50
CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN = 1013
#: Seconds the widget is told to wait after a hello that failed (it reconnects with its own backoff).
HELLO_RETRY_AFTER = 2.0

Handler = Callable[[UserMessage], Awaitable[Any]]

# Sanic 21.12 decodes text frames strictly inside a task of its own: a frame with invalid UTF-8
# raised there, was dropped without a word, and the exception (raw bytes and all) went to the log.
# Decoded leniently, as the REST channel does, a stray byte becomes U+FFFD (which the normaliser
# drops) and the claimant's message is answered, never lost.
_UTF8 = codecs.getincrementaldecoder("utf-8")
sanic_frames.UTF8Decoder = lambda errors="strict": _UTF8(errors="replace")


def frames_of(message: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The widget frames for one bot message: the data-rights download, then the text and buttons."""
    frames = []
    export = p.export_frame(message.get("custom"))  # the data-rights JSON copy: a download
    if export is not None:
        frames.append(export)
    text = message.get("text") or ""
    for extra in ("image", "attachment"):  # shown as a link text, never as markup
        if isinstance(message.get(extra), str):
            text = f"{text}\n{message[extra]}".strip()
    buttons = message.get("buttons") or message.get("quick_replies") or []
    if text or buttons:
        frames.append(p.bot_frame(text, buttons))
    return frames


class WebOutput(OutputChannel):
    """Bot replies for one conversation: appended to its stream, then sent to its sockets."""

    def __init__(self, hub: "WebHub") -> None:
        self.hub = hub

    @classmethod
    def name(cls) -> Text:
        return "web"

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        for frame in frames_of(message):
            await self.hub.store.append(recipient_id, frame)
        await self.hub.wake(recipient_id)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


class TurnOutput(WebOutput):
    """A claimant message's replies, held until its turn is saved: a turn that is not saved
    (bot/turn_guard.py) and runs again shows its replies once."""

    def __init__(self, hub: "WebHub") -> None:
        super().__init__(hub)
        self.frames: List[Dict[str, Any]] = []

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.frames.extend(frames_of(message))

    async def deliver(self, recipient_id: Text) -> None:
        for frame in self.frames:
            await self.hub.store.append(recipient_id, frame)


class WebHub:
    """What every socket of this process shares: settings, tokens, Redis, the Rasa agent."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self.tokens = p.SessionTokens(settings.secret)
        self.instance = uuid.uuid4().hex[:12]
        self.store: Optional[Store] = None
        self.address_limit: Optional[rate_limits.WindowLimit] = None  # set with the store
        self.ready: Optional[asyncio.Event] = None  # created on the server's loop
        self.app: Any = None
        self.on_new_message: Optional[Handler] = None
        self.connections: Dict[str, Set["Connection"]] = {}
        self.sockets_by_address: Dict[str, int] = {}  # open sockets per client address, this process
        self._pump: Optional[asyncio.Task] = None
        self._waker: Optional[asyncio.Task] = None
        self._renewer: Optional[asyncio.Task] = None
        self.workers: Set[asyncio.Task] = set()

    async def start(self, app: Any) -> None:
        """Connects Redis (REDIS_URL, else the lock store's) and starts reading the desk outbox."""
        self.app = app
        if self.settings.redis_url:
            client = client_from_url(self.settings.redis_url)
        else:
            lock_store = getattr(getattr(app.ctx, "agent", None), "lock_store", None)
            if not hasattr(lock_store, "red"):
                logger.error("web channel: no Redis. Set REDIS_URL or use the Redis lock store; "
                             "sockets will be refused with close code 1013")
                return
            client = client_like(lock_store.red)
        self.store = Store(client, self.instance)
        self.address_limit = rate_limits.WindowLimit(client, prefix=redis_keys.WEB_ADDRESS_LIMIT,
                                                     per_minute=self.settings.address_per_minute)
        port = getattr(getattr(app, "state", None), "port", None)
        self._pump = asyncio.create_task(self.store.outbox_reader(consumer=consumer_name("web", port)).run())
        self._waker = asyncio.create_task(self.store.listen_wakes(self.wake, self.wake_all))
        self._renewer = asyncio.create_task(self.store.keep_claims())

    async def stop(self) -> None:
        for task in (self._pump, self._waker, self._renewer):
            if task:
                task.cancel()

    def agent(self) -> Any:
        return getattr(self.app.ctx, "agent", None) if self.app else None

    def register(self, connection: "Connection") -> None:
        self.connections.setdefault(connection.conversation_id, set()).add(connection)

    def forget(self, connection: "Connection") -> None:
        held = self.connections.get(connection.conversation_id or "")
        if held:
            held.discard(connection)
            if not held:
                del self.connections[connection.conversation_id]

    async def wake(self, conversation_id: str) -> None:
        for connection in list(self.connections.get(conversation_id, ())):
            await connection.flush()

    async def wake_all(self) -> None:
        for conversation_id in list(self.connections):
            await self.wake(conversation_id)

    async def events(self, conversation_id: str) -> Tuple[List[Dict[str, Any]], Optional[str]]:
        """The tracker's events (JSON form) and language slot; ([], None) for no tracker."""
        agent = self.agent()
        if agent is None or agent.tracker_store is None:
            return [], None
        tracker = await agent.tracker_store.retrieve(conversation_id)
        if tracker is None:
            return [], None
        return [event.as_dict() for event in tracker.events], tracker.get_slot("language")


class Connection:
    """One socket. Reads frames, hands messages to one worker (in order), sends server frames."""

    def __init__(self, ws: Any, hub: WebHub, address: Optional[str] = None) -> None:
        self.ws, self.hub, self.address = ws, hub, address
        self.conversation_id: Optional[str] = None
        self.language = "zh"
        self.sent_upto = "0-0"
        self.bucket = hub.settings.rate.full(time.monotonic())
        self.refused = 0
        self.lock = asyncio.Lock()
        self.queue: "asyncio.Queue[p.Message]" = asyncio.Queue()
        self.worker: Optional[asyncio.Task] = None
        self.open = True

    async def send(self, frame: Dict[str, Any]) -> None:
        if not self.open:
            return
        try:
            await self.ws.send(p.encode(frame))
        except Exception:  # the socket went away: the widget gets it from the stream later
            self.open = False

    async def flush(self) -> None:
        """Sends the conversation stream's frames after the last one sent."""
        if not self.conversation_id or not self.open:
            return
        async with self.lock:
            while self.open:
                frames = await self.hub.store.after(self.conversation_id, self.sent_upto)
                for frame in frames:
                    await self.send(frame)
                    self.sent_upto = frame["seq"]
                if len(frames) < 200:
                    break

    async def run(self) -> None:
        while True:
            data = await self.ws.recv()
            if data is None:
                continue
            self.bucket, wait = p.take_token(self.hub.settings.rate, self.bucket, time.monotonic())
            if wait:
                self.refused += 1
                if self.refused > FLOOD_CLOSE_AFTER:
                    await self.send(p.error_frame("flooding", "too many frames over the rate; closing"))
                    await self.ws.close(CLOSE_POLICY, "flooding")
                    return
                await self.send(p.error_frame("rate_limited", f"too many frames: wait {wait:.1f} s",
                                              retry_after=wait))
                if self.refused == 1:
                    await self.send(p.notice_frame("slow_down", self.language))
                continue
            self.refused = 0
            try:
                frame = p.parse_frame(data, in_session=self.conversation_id is not None)
            except FrameRejected as error:
                await self.send(p.error_frame(error.code, error.message, message_id=error.message_id))
                continue
            if isinstance(frame, p.Hello):
                try:
                    await self.hello(frame)
                except Exception:  # Redis away past its client's retries: no session, no worker
                    logger.exception("web channel: hello failed; closing with %s", CLOSE_TRY_AGAIN)
                    await self.send(p.error_frame("unavailable", "the session could not be opened; "
                                                  "connecting again", retry_after=HELLO_RETRY_AFTER))
                    await self.ws.close(CLOSE_TRY_AGAIN, "unavailable")  # the widget reconnects
                    return
            elif isinstance(frame, p.Message):
                try:
                    wait = await self.hub.address_limit.wait_for(self.address)
                except Exception:  # Redis away: the widget keeps the message and sends it again
                    logger.exception("web channel: the address limit could not be read")
                    await self.send(p.error_frame("unavailable", "the message could not be taken; it will be "
                                                  "sent again", message_id=frame.id, retry_after=2.0))
                    continue
                if wait:  # the widget keeps it and sends it again after retry_after
                    await self.send(p.error_frame("rate_limited", "too many messages from this address: "
                                                  f"wait {wait:.0f} s", retry_after=wait, message_id=frame.id))
                    continue
                self.queue.put_nowait(frame)
            elif isinstance(frame, p.Resend):
                self.sent_upto = frame.after or "0-0"
                await self.flush()
            # Ack: nothing to do; the widget's next hello carries its last_seq.

    async def hello(self, hello: p.Hello) -> None:
        session_id = self.hub.tokens.verify(hello.token)
        notice = None
        if session_id is None:
            token, session_id = self.hub.tokens.issue()
            restored = False
            if hello.token:
                notice = "session_unknown"
        else:
            token, restored = hello.token, True
        if self.conversation_id:
            self.hub.forget(self)
        self.conversation_id = p.conversation_id(session_id)
        self.language = hello.language
        history: List[Dict[str, Any]] = []
        language = hello.language
        if hello.last_seq is None:
            self.sent_upto = await self.hub.store.last_seq(self.conversation_id)
            if restored:
                try:
                    events, slot = await self.hub.events(self.conversation_id)
                    history = p.history_from_events(events)
                    language = slot if slot in LANGUAGES else language
                except Exception:
                    logger.exception("web channel: reading the tracker of %s failed", self.conversation_id)
        else:
            self.sent_upto = hello.last_seq
        await self.send(p.session_frame(token=token, conversation_id=self.conversation_id,
                                        language=language, restored=restored, history=history,
                                        last_seq=self.sent_upto,
                                        retention_days=period.as_number(self.hub.settings.retention_days)))
        if notice:
            await self.send(p.notice_frame(notice, hello.language))
        elif restored and hello.last_seq is None and history:
            await self.send(p.notice_frame("session_restored", hello.language))
        self.hub.register(self)
        await self.flush()
        if self.worker is None:
            self.worker = asyncio.create_task(self.work())
            self.hub.workers.add(self.worker)
            self.worker.add_done_callback(self.hub.workers.discard)

    async def work(self) -> None:
        """Handles queued messages in order; outlives the socket until the queue is empty."""
        while self.open or not self.queue.empty():
            try:
                message = await asyncio.wait_for(self.queue.get(), timeout=1.0)
            except asyncio.TimeoutError:
                continue
            try:
                await self.handle(message)
            except Exception:
                logger.exception("web channel: message %s of %s failed", message.id, self.conversation_id)
                await self.send(p.error_frame("unavailable", "the message could not be handled; it will be "
                                              "sent again", message_id=message.id))

    async def handle(self, message: p.Message) -> None:
        store, conversation_id = self.hub.store, self.conversation_id
        resend = message.resend
        for _ in range(5):
            state = await store.claim(conversation_id, message.id)  # None: claimed, it is ours now
            action = p.dedupe_action(state, resend=resend)
            if action is p.DedupeAction.WAIT:
                state = await store.wait_while_pending(conversation_id, message.id)
                if state == "done":
                    action = p.DedupeAction.ACK_DUPLICATE
                else:  # the owner died (lease lapsed): the tracker decides
                    resend = True
                    continue
            if action is p.DedupeAction.CHECK_TRACKER:
                try:
                    events, _ = await self.hub.events(conversation_id)
                except Exception:
                    await store.release(conversation_id, message.id)
                    raise
                if message.id in p.committed_ids(events):
                    await store.mark_done(conversation_id, message.id)
                    action = p.DedupeAction.ACK_DUPLICATE
            if action is p.DedupeAction.ACK_DUPLICATE:
                await self.flush()
                await self.send(p.ack_frame(message.id, duplicate=True))
                return
            if state is None:
                break
        else:
            raise RuntimeError(f"message {message.id} kept changing state")
        await self.commit(message)

    async def commit(self, message: p.Message) -> None:
        store, conversation_id = self.hub.store, self.conversation_id
        agent = self.hub.agent()
        if agent is None or not agent.is_ready():
            await store.release(conversation_id, message.id)
            await self.send(p.error_frame("unavailable", "the assistant is starting; the message will be "
                                          "sent again", message_id=message.id, retry_after=2.0))
            return
        await self.send({"type": "typing", "from": "bot"})
        # The widget shows the privacy notice itself (from the session frame): the session start
        # records it without saying it again (actions/privacy.py).
        metadata = {"client_message_id": message.id, "ui_language": message.language or self.language,
                    "privacy_notice_shown_by_channel": True}
        retry = RetrySchedule(within=self.hub.settings.turn_retry_seconds)
        started = time.monotonic()
        while True:
            output = TurnOutput(self.hub)
            try:
                await self.hub.on_new_message(UserMessage(message.text, output, conversation_id,
                                                          input_channel="web", metadata=metadata))
                break
            except TurnNotFinished as error:  # nothing saved: run it again while the bound allows
                wait = retry.next_wait(time.monotonic() - started)
                if wait is None:
                    await store.release(conversation_id, message.id)
                    logger.error("web channel: message %s of %s not answered within %.0f s (%s); "
                                 "the claimant is asked to send it again", message.id, conversation_id,
                                 retry.within, error)
                    metrics.error("not_answered")
                    await self.send(p.notice_frame("not_answered", message.language or self.language))
                    await self.send(p.error_frame("not_answered", "the message could not be answered; "
                                                  "ask the claimant to send it again", message_id=message.id))
                    return
                logger.warning("web channel: message %s of %s runs again in %.1f s: %s",
                               message.id, conversation_id, wait, error)
                await asyncio.sleep(wait)
            except Exception:
                await store.release(conversation_id, message.id)
                raise
        await output.deliver(conversation_id)
        await store.mark_done(conversation_id, message.id)
        await self.flush()
        await self.send(p.ack_frame(message.id))


class WebChannel(InputChannel):
    """The widget's WebSocket channel; configuration in config.py."""

    @classmethod
    def name(cls) -> Text:
        return "web"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WebChannel":
        return cls(WebSettings.build(credentials))

    def __init__(self, settings: Optional[WebSettings] = None) -> None:
        self.settings = settings or WebSettings.build()
        self.hub = WebHub(self.settings)

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WebOutput(self.hub)

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        hub = self.hub
        hub.on_new_message = on_new_message
        hook = Blueprint("renben_web", __name__)
        files = {name: (WIDGET_DIR / name) for name in STATIC_FILES}

        @hook.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            hub.ready = asyncio.Event()
            try:
                await hub.start(app)
            finally:
                hub.ready.set()

        @hook.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await hub.stop()

        def static(name: str) -> HTTPResponse:
            path = files[name]
            if not path.exists():
                return response.text("not found", status=404)
            headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
            if name == "index.html":
                headers["Content-Security-Policy"] = ("default-src 'self'; connect-src 'self' ws: wss:; "
                                                      "img-src 'self' data:; object-src 'none'")
            return response.raw(path.read_bytes(), content_type=STATIC_FILES[name], headers=headers)

        @hook.route("/", methods=["GET"])
        async def page(_: Request) -> HTTPResponse:
            return static("index.html")

        @hook.route("/widget.js", methods=["GET"])
        async def script(_: Request) -> HTTPResponse:
            return static("widget.js")

        @hook.route("/widget.css", methods=["GET"])
        async def style(_: Request) -> HTTPResponse:
            return static("widget.css")

        @hook.websocket("/ws")
        async def socket(request: Request, ws: Any) -> None:
            if not self.settings.origin_allowed(request.headers.get("origin"), request.headers.get("host")):
                await ws.send(p.encode(p.error_frame("origin_not_allowed", "this site may not open the chat")))
                await ws.close(CLOSE_POLICY, "origin not allowed")
                return
            if hub.ready is None or hub.store is None:
                if hub.ready is not None:
                    await hub.ready.wait()
                if hub.store is None:
                    await ws.send(p.encode(p.error_frame("unavailable", "the chat is not available now")))
                    await ws.close(CLOSE_TRY_AGAIN, "unavailable")
                    return
            # Behind a load balancer the peer is the balancer: with SANIC_PROXIES_COUNT (or
            # SANIC_REAL_IP_HEADER) set, Sanic gives the claimant's address (docs/operations.md).
            address = request.remote_addr or request.ip or ""
            if hub.sockets_by_address.get(address, 0) >= self.settings.sockets_per_address:
                await ws.send(p.encode(p.error_frame("too_many_sockets", "too many chats are open from this "
                                                     "address; close one and try again", retry_after=30.0)))
                await ws.close(CLOSE_TRY_AGAIN, "too many sockets")
                return
            hub.sockets_by_address[address] = hub.sockets_by_address.get(address, 0) + 1
            connection = Connection(ws, hub, address=address)
            try:
                await connection.run()
            except Exception as error:  # closed by the client, or the network
                logger.debug("web channel: socket ended: %s", type(error).__name__)
            finally:
                connection.open = False
                hub.forget(connection)
                left = hub.sockets_by_address.get(address, 1) - 1
                if left > 0:
                    hub.sockets_by_address[address] = left
                else:
                    hub.sockets_by_address.pop(address, None)

        return hook
