"""The agent desk process: a `websockets` server for agent consoles, the console page over HTTP
from the same port, and the background work every desk process shares through Redis.

    GET /            the console (handoff/console/, static files)
    GET /health      whether the desk reaches Redis (core/health.py): 200 or 503, unauthenticated
    GET /metrics     Prometheus, with the bearer token RENBEN_METRICS_TOKEN (core/monitoring/door.py):
                     messages to claimants and errors of this process, and the deployment's queue,
                     agents and handoffs read from Redis at the scrape (handoff/monitoring.py)
    GET /reports/desk.csv?from=&to=   supervisors (Authorization: Bearer <token>): the period's
                     figures as CSV (handoff/reports.py); others get a typed JSON error
    WS  /agent       the agent protocol (handoff/protocol.py; first frame `auth`)

This module is the transport only: it authenticates a connection, routes each request frame to
its handler (handoff/handlers/) and starts the background tasks: the stream workers
(handoff/workers.py) and the periodic sweep with the leader's duties (handoff/leader.py). What
they all share is a DeskContext (handoff/desk_context.py).

Build a `Desk` with `Desk.create(settings)` and run `await desk.serve()`; `await desk.stop()` ends it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import os
import time
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs

import redis
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.legacy.server import WebSocketServerProtocol

from core import health, redis_clients
from core import redis_keys as k
from core.monitoring import definitions as metrics, door
from core.privacy import access
from core.privacy import exceptions as privacy_errors
from core.stream_consumer import consumer_name
from handoff import agents, kb, protocol, report_sources, reports, workers
from handoff.desk_context import DeskContext
from handoff.exceptions import AuthenticationFailed, DeskError, InvalidRequest, ProtocolError, QueueUnavailable
from handoff.handlers import HANDLERS
from handoff.handlers.reading import snapshot
from handoff.leader import Leader
from handoff.monitoring import QueueCollector
from handoff.outbox import Outbox
from handoff.phrases import TOPICS_FILE, load as load_phrases
from handoff.queue import Queue, connect
from handoff.rasa_api import RasaAPI
from handoff.session import Session
from handoff.settings import DeskSettings

logger = logging.getLogger(__name__)
CONSOLE_DIR = Path(__file__).resolve().parent / "console"
AUTH_TIMEOUT_SECONDS = 10.0


class Desk:
    def __init__(self, context: DeskContext):
        self.context = context
        self.settings, self.queue = context.settings, context.queue
        self.registry = door.registry_for("desk", QueueCollector(context.queue))
        self.leader = Leader(context, f"desk-{os.getpid()}-{uuid.uuid4().hex[:6]}")  # one name per run
        self.consumer = consumer_name("desk")
        self._tasks: List[asyncio.Task] = []
        self._server: Optional[websockets.WebSocketServer] = None
        self.port: Optional[int] = None

    @classmethod
    def create(cls, settings: DeskSettings) -> "Desk":
        client = connect(settings.redis_url)
        return cls(DeskContext(
            settings, queue=Queue(client, settings), outbox=Outbox(client, maxlen=settings.stream_maxlen),
            rasa=RasaAPI(settings.rasa_url, settings.rasa_token), phrases=load_phrases(),
            events=redis_clients.connect_async(settings.redis_url), knowledge=kb.load(),
            kb_words=load_phrases(TOPICS_FILE)))

    # ----- life cycle ---------------------------------------------------------------------------

    async def serve(self, *, port: Optional[int] = None) -> "Desk":
        """Starts listening (port 0: a free one, in `self.port`) and the background tasks."""
        desk = self.context
        self._server = await websockets.serve(
            self._connection, self.settings.host, self.settings.port if port is None else port,
            process_request=self._http, max_size=self.settings.max_frame_bytes,
            ping_interval=20, ping_timeout=20)
        self.port = self._server.sockets[0].getsockname()[1]
        # Stable across restarts in the same place: the messages it read before are its own again.
        self.consumer = consumer_name("desk", self.port)
        await workers.ensure_group(desk)
        newest = await desk.events.xrevrange(k.EVENTS_STREAM, count=1)
        relay = workers.Relay(desk, newest[0][0] if newest else "0-0")
        background: Dict[str, Callable[[], Any]] = {
            "listen_updates": lambda: workers.listen_updates(desk),
            "relay_stream": relay.run,
            "act_on_stream": lambda: workers.act_on_stream(desk, self.consumer),
            "periodic": self.leader.run,
        }
        for name, work in background.items():
            self._tasks.append(asyncio.create_task(self._forever(name, work), name=name))
        return self

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Stops serving; never waits more than about 2 × `timeout` (a stuck peer or Redis call)."""
        for task in self._tasks:
            task.cancel()
        try:
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), timeout)
        except asyncio.TimeoutError:
            logger.warning("desk stop: background tasks did not end within %s s", timeout)
        if self._server is not None:
            self._server.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), timeout)
            except asyncio.TimeoutError:
                logger.warning("desk stop: agent connections did not close within %s s", timeout)
        await self.context.rasa.close()
        await self.context.events.close()

    async def _forever(self, name: str, work: Callable[[], Any]) -> None:
        """Runs a background task again after an error (Redis restarting), never silently."""
        while True:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep serving; the log says what broke
                logger.exception("desk task %s failed; restarting it in 1 s", name)
                metrics.error("desk_task_restarted")
                await asyncio.sleep(1)

    async def _io(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self.context.io(function, *args, **kwargs)

    # ----- HTTP: the console page ---------------------------------------------------------------

    async def _http(self, path: str, headers: Any) -> Optional[Tuple[HTTPStatus, List[Tuple[str, str]], bytes]]:
        route = path.split("?", 1)[0]
        if route == "/agent":
            return None
        if route == "/health":
            return await self._health()
        if route == door.PATH:
            answer = await self._io(door.answer, self.registry, headers.get("Authorization"),
                                    self.settings.metrics_token)
            return HTTPStatus(answer.status), [("Content-Type", answer.content_type), *answer.headers.items()], \
                answer.body
        if route == "/reports/desk.csv":
            return await self._report_csv(path, headers)
        name = "index.html" if route in ("/", "/index.html") else route.lstrip("/")
        file = (CONSOLE_DIR / name).resolve()
        if CONSOLE_DIR not in file.parents or not file.is_file():
            return HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain; charset=utf-8")], b"not found\n"
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        return HTTPStatus.OK, [
            ("Content-Type", kind), ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; "
                                        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
        ], file.read_bytes()

    async def _health(self) -> Tuple[HTTPStatus, List[Tuple[str, str]], bytes]:
        """Redis through both of the desk's clients: the queue's (sync) and the events' (asyncio).
        The desk reads trackers through Rasa's API, not the tracker store: Rasa's /health has it."""
        async def redis() -> None:
            await health.redis_probe(self.queue.redis)()
            await health.redis_probe(self.context.events)()

        status, body = health.report(await health.check({"redis": redis}))
        return HTTPStatus(status), [("Content-Type", "application/json"), ("Cache-Control", "no-store")], \
            json.dumps(body).encode()

    async def _report_csv(self, path: str, headers: Any) -> Tuple[HTTPStatus, List[Tuple[str, str]], bytes]:
        """The period's figures as CSV, for a supervisor's token; a typed JSON error otherwise
        (401 unauthorized, 403 forbidden for agents and trainers, 400 bad_request, 503 unavailable)."""
        def refuse(status: HTTPStatus, code: str, message: str) -> Tuple[HTTPStatus, List[Tuple[str, str]], bytes]:
            return status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], \
                json.dumps({"error": code, "message": message}).encode()

        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise privacy_errors.AuthenticationFailed("no bearer token")
            account = await self._io(access.authenticate, self.queue.redis, token.strip())
        except privacy_errors.AuthenticationFailed:
            return refuse(HTTPStatus.UNAUTHORIZED, "unauthorized", "a supervisor's token is needed")
        except privacy_errors.StoreUnavailable:
            return refuse(HTTPStatus.SERVICE_UNAVAILABLE, "unavailable", "the desk cannot reach its store")
        if not account.is_supervisor:
            return refuse(HTTPStatus.FORBIDDEN, "forbidden", f"reports are for supervisors, not a {account.role}")
        query = parse_qs(path.partition("?")[2])
        try:
            span = reports.Period.create(*(_number(query, name) for name in ("from", "to")))
            report = await self._io(report_sources.period, self.queue, span)
        except InvalidRequest as wrong:
            return refuse(HTTPStatus.BAD_REQUEST, "bad_request", str(wrong))
        except QueueUnavailable:
            return refuse(HTTPStatus.SERVICE_UNAVAILABLE, "unavailable", "the desk cannot reach its store")
        name = time.strftime("renben-desk-%Y%m%d%H%M", time.gmtime(span.start))
        return HTTPStatus.OK, [("Content-Type", "text/csv; charset=utf-8"), ("Cache-Control", "no-store"),
                               ("Content-Disposition", f'attachment; filename="{name}.csv"')], \
            reports.to_csv(report).encode()

    # ----- one console connection ---------------------------------------------------------------

    async def _connection(self, socket: WebSocketServerProtocol, path: str) -> None:
        try:
            first = await asyncio.wait_for(socket.recv(), AUTH_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            await socket.close(protocol.CLOSE_AUTH_TIMEOUT, "no auth frame")
            return
        except ConnectionClosed:
            return
        try:
            request = protocol.parse(first)
            token = protocol.auth_token(request)
            account = await self._io(agents.authenticate, self.queue.redis, token)
            await self._io(self.queue.agent_online, account.agent_id, languages=account.languages,
                           role=account.role)
        except (ProtocolError, AuthenticationFailed):
            await socket.close(protocol.CLOSE_AUTH_FAILED, "authentication failed")
            return
        except (QueueUnavailable, redis.RedisError) as error:  # the console says so and tries again
            logger.warning("an agent login waits for Redis: %s", error)
            await socket.send(protocol.error("unavailable", "the desk cannot reach its store; try again shortly"))
            await socket.close(protocol.CLOSE_TRY_AGAIN, "unavailable")
            return
        session = Session(account, socket, protocol.console_language(request.get("language"), account.languages))
        sessions = self.context.sessions
        sessions.setdefault(account.agent_id, set()).add(session)
        try:
            capacity = await self._io(self.queue.capacity, account.agent_id)
            await session.send(protocol.event("hello", agent_id=account.agent_id, role=account.role,
                                              name=account.name, languages=list(account.languages),
                                              capacity=capacity, language=session.language,
                                              protocol=protocol.VERSION))
            await snapshot(self.context, session, None)
            async for frame in socket:
                await self._serve_frame(session, frame)
        except ConnectionClosed:
            pass
        finally:
            sessions[account.agent_id].discard(session)
            if not sessions[account.agent_id]:
                del sessions[account.agent_id]
            try:
                await self._io(self.queue.agent_disconnected, account.agent_id)
            except DeskError:
                logger.exception("could not record that %s disconnected", account.agent_id)

    async def _serve_frame(self, session: Session, frame: Any) -> None:
        ref = None
        try:
            request = protocol.parse(frame)
            ref = request.ref
            reply = await HANDLERS[request.type](self.context, session, request)
            await session.send(protocol.ok(ref, **(reply or {})))
        except DeskError as failure:
            await session.send(protocol.error(protocol.error_code(failure), str(failure),
                                              getattr(failure, "ref", None) or ref))
        except Exception as failure:  # noqa: BLE001 - the connection stays open; the log has the bug
            logger.exception("error serving %s", session.agent_id)
            metrics.error("desk_request_failed")
            await session.send(protocol.error("internal", f"the desk failed: {type(failure).__name__}", ref))


def _number(query: Dict[str, List[str]], name: str) -> float:
    try:
        return float(query[name][0])
    except (KeyError, IndexError, ValueError):
        raise InvalidRequest(f"{name} must be epoch seconds") from None
