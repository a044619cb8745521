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

Background tasks: the updates channel (ticket changes and alerts, to the consoles that may see
them); the conversation event stream, read twice: plain XREAD to relay claimant messages to the
sockets this process holds (every desk process needs every message; nothing to acknowledge), and
the consumer group `desk` (core/stream_consumer.py) to act once per message (raise the priority on
distress, cancel on "never mind", take a callback number), acknowledged after acting, taken over
from a desk process that died before it acted; and a periodic sweep
(heartbeat, and in the one leader process: grace-period requeue, wait alerts, queue positions).

The queue is synchronous redis-py; calls run in worker threads (`_io`). Build a `Desk` with
`Desk.create(settings)` and run `await desk.serve()`; `await desk.stop()` ends it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import os
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, Tuple
from urllib.parse import parse_qs

import redis
import redis.asyncio as aioredis
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.legacy.server import WebSocketServerProtocol

from core import crisis_contacts
from core import health, redis_clients
from core.monitoring import definitions as metrics, door
from core.privacy import access
from core.privacy import exceptions as privacy_errors
from core.privacy.redaction import find_identifiers
from core.stream_consumer import StreamConsumer, consumer_name
from handoff import agent_messages, agents, assist, csat, kb, protocol, relay, report_sources, reports
from core import redis_keys as k
from handoff import suggestion as suggestions
from handoff import tickets as t
from handoff.brief import build_brief
from handoff.csat_store import CsatStore
from handoff.monitoring import QueueCollector
from handoff.exceptions import (AuthenticationFailed, DeskError, InvalidRequest, NotHolder, ProtocolError,
                                QueueUnavailable, RasaUnavailable, TicketNotFound)
from handoff.outbox import PUSH_CHANNELS, Outbox, message as outbox_message
from handoff.phrases import TOPICS_FILE, Phrases, load as load_phrases
from handoff.queue import Queue, connect
from handoff.rasa_api import RasaAPI, agent_message_event, resume_events, survey_events
from handoff.settings import DeskSettings
from handoff.tickets import Priority, State, Ticket

logger = logging.getLogger(__name__)
CONSOLE_DIR = Path(__file__).resolve().parent / "console"
AUTH_TIMEOUT_SECONDS = 10.0
#: Claimant messages a desk process read but did not act on (it died) are acted on by another
#: desk process, or by the same one restarted, after this long.
RECLAIM_MS = 30_000


class Session:
    """One authenticated console connection."""

    def __init__(self, account: agents.Account, socket: WebSocketServerProtocol, language: str = "en"):
        self.account, self.socket = account, socket
        self.language = language  # the console's: summaries are written in it

    @property
    def agent_id(self) -> str:
        return self.account.agent_id

    def may_see(self, language: str, agent: Optional[str]) -> bool:
        return self.account.is_supervisor or language in self.account.languages or agent == self.agent_id

    async def send(self, frame: str) -> None:
        try:
            await self.socket.send(frame)
        except ConnectionClosed:
            pass


@dataclass(frozen=True)
class _Asking:
    """A satisfaction question about to be asked: the survey, its words and buttons, and the
    tracker events that carry them."""
    survey: csat.Survey
    text: str
    buttons: List[Dict[str, str]]
    events: List[Dict[str, Any]]


class Desk:
    def __init__(self, settings: DeskSettings, *, queue: Queue, outbox: Outbox, rasa: RasaAPI,
                 phrases: Phrases, events: "aioredis.Redis[str]", knowledge: Optional[kb.KnowledgeBase] = None,
                 kb_words: Optional[Phrases] = None):
        self.settings, self.queue, self.outbox, self.rasa, self.phrases = settings, queue, outbox, rasa, phrases
        self.knowledge = knowledge or kb.KnowledgeBase()  # agent assist: suggested answers, topic titles
        self.kb_words = kb_words or load_phrases(TOPICS_FILE)
        self.titles = self.knowledge.titles()
        self.events = events
        self.csat = CsatStore(queue.redis)
        self.agent_messages = agent_messages.AgentMessages(queue.redis, maxlen=settings.stream_maxlen)
        self.registry = door.registry_for("desk", QueueCollector(queue))
        self.name = f"desk-{os.getpid()}-{uuid.uuid4().hex[:6]}"  # for leadership; one per run
        self.consumer = consumer_name("desk")
        self.sessions: Dict[str, Set[Session]] = {}
        self._tasks: List[asyncio.Task] = []
        self._server: Optional[websockets.WebSocketServer] = None
        self.port: Optional[int] = None
        self._relay_from = "$"

    @classmethod
    def create(cls, settings: DeskSettings) -> "Desk":
        client = connect(settings.redis_url)
        return cls(settings, queue=Queue(client, settings), outbox=Outbox(client, maxlen=settings.stream_maxlen),
                   rasa=RasaAPI(settings.rasa_url, settings.rasa_token), phrases=load_phrases(),
                   events=redis_clients.connect_async(settings.redis_url), knowledge=kb.load(),
                   kb_words=load_phrases(TOPICS_FILE))

    # ----- life cycle ---------------------------------------------------------------------------

    async def serve(self, *, port: Optional[int] = None) -> "Desk":
        """Starts listening (port 0: a free one, in `self.port`) and the background tasks."""
        self._server = await websockets.serve(
            self._connection, self.settings.host, self.settings.port if port is None else port,
            process_request=self._http, max_size=self.settings.max_frame_bytes,
            ping_interval=20, ping_timeout=20)
        self.port = self._server.sockets[0].getsockname()[1]
        # Stable across restarts in the same place: the messages it read before are its own again.
        self.consumer = consumer_name("desk", self.port)
        await self._ensure_group()
        newest = await self.events.xrevrange(k.EVENTS_STREAM, count=1)
        # Relay from here on, by explicit id: "$" on every XREAD would miss entries in between.
        self._relay_from = newest[0][0] if newest else "0-0"
        for work in (self._listen_updates, self._relay_stream, self._act_on_stream, self._periodic):
            self._tasks.append(asyncio.create_task(self._forever(work), name=work.__name__))
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
        await self.rasa.close()
        await self.events.close()

    async def _forever(self, work: Callable[[], Any]) -> None:
        """Runs a background task again after an error (Redis restarting), never silently."""
        while True:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep serving; the log says what broke
                logger.exception("desk task %s failed; restarting it in 1 s", work.__name__)
                metrics.error("desk_task_restarted")
                await asyncio.sleep(1)

    async def _io(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(function, *args, **kwargs)

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
            await health.redis_probe(self.events)()

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
        self.sessions.setdefault(account.agent_id, set()).add(session)
        try:
            capacity = await self._io(self.queue.capacity, account.agent_id)
            await session.send(protocol.event("hello", agent_id=account.agent_id, role=account.role,
                                              name=account.name, languages=list(account.languages),
                                              capacity=capacity, language=session.language,
                                              protocol=protocol.VERSION))
            await self._snapshot(session, None)
            async for frame in socket:
                await self._serve_frame(session, frame)
        except ConnectionClosed:
            pass
        finally:
            self.sessions[account.agent_id].discard(session)
            if not self.sessions[account.agent_id]:
                del self.sessions[account.agent_id]
            try:
                await self._io(self.queue.agent_disconnected, account.agent_id)
            except DeskError:
                logger.exception("could not record that %s disconnected", account.agent_id)

    async def _serve_frame(self, session: Session, frame: Any) -> None:
        ref = None
        try:
            request = protocol.parse(frame)
            ref = request.ref
            handler = getattr(self, "_do_" + request.type)
            reply = await handler(session, request)
            await session.send(protocol.ok(ref, **(reply or {})))
        except DeskError as failure:
            await session.send(protocol.error(protocol.error_code(failure), str(failure),
                                              getattr(failure, "ref", None) or ref))
        except Exception as failure:  # noqa: BLE001 - the connection stays open; the log has the bug
            logger.exception("error serving %s", session.agent_id)
            metrics.error("desk_request_failed")
            await session.send(protocol.error("internal", f"the desk failed: {type(failure).__name__}", ref))

    # ----- requests -----------------------------------------------------------------------------

    async def _do_auth(self, session: Session, request: protocol.Request) -> None:
        raise ProtocolError("bad_request", "already authenticated", request.ref)

    async def _do_snapshot(self, session: Session, request: protocol.Request) -> None:
        await self._snapshot(session, request.ref)

    async def _snapshot(self, session: Session, ref: Any) -> None:
        languages = None if session.account.is_supervisor else list(session.account.languages)
        waiting = await self._io(self.queue.waiting, languages)
        held = await self._io(self.queue.agent_tickets, session.agent_id)
        alerts = await self._io(self.queue.alerts) if session.account.is_supervisor else []
        capacity = await self._io(self.queue.capacity, session.agent_id)
        await session.send(protocol.event(
            "snapshot", ref=ref, tickets=[protocol.ticket_summary(x.as_dict()) for x in waiting],
            held=[protocol.ticket_summary(x.as_dict()) for x in held if x.state is State.ASSIGNED],
            alerts=[a.as_dict() for a in alerts], capacity=capacity))

    async def _visible(self, session: Session, ticket_id: str) -> Ticket:
        ticket = await self._io(self.queue.get, ticket_id)
        if not session.may_see(ticket.language, ticket.agent):
            raise ProtocolError("forbidden", f"ticket {ticket_id!r} is in the {ticket.language} queue, "
                                             f"which you do not take")
        return ticket

    async def _do_claim(self, session: Session, request: protocol.Request) -> Dict[str, Any]:
        await self._visible(session, request["ticket_id"])
        won = await self._io(self.queue.claim, request["ticket_id"], agent=session.agent_id)
        if won is None:
            raise ProtocolError("taken", "someone else has this ticket, or it is no longer waiting", request.ref)
        await self._after_claim(session, won)
        return {"ticket_id": won.id}

    async def _do_claim_next(self, session: Session, request: protocol.Request) -> Dict[str, Any]:
        languages = (await self._io(self.queue.languages) if session.account.is_supervisor
                     else list(session.account.languages))
        won = await self._io(self.queue.claim_next, agent=session.agent_id, languages=languages)
        if won is not None:
            await self._after_claim(session, won)
        return {"ticket_id": won.id if won else None}

    async def _after_claim(self, session: Session, ticket: Ticket) -> None:
        await self._to_claimant(ticket, "agent_joined", text=self.phrases.say("utter_handoff_agent_joined", ticket.language),
                                agent_id=session.agent_id, agent_name=session.account.name)
        await session.send(protocol.event("claimed", ticket=await self._full(session, ticket)))

    async def _audited(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """An access check that writes the audit log first; refused or unrecorded, nothing is shown."""
        try:
            return await self._io(call, self.queue.redis, *args, mirror=self.settings.audit_mirror, **kwargs)
        except privacy_errors.Forbidden as refused:
            raise ProtocolError("forbidden", str(refused)) from None
        except privacy_errors.InvalidRequest as wrong:
            raise ProtocolError("bad_request", str(wrong)) from None
        except privacy_errors.StoreUnavailable as error:
            raise ProtocolError("unavailable", f"the audit log cannot be written, so nothing is shown: {error}") from None

    async def _full(self, session: Session, ticket: Ticket) -> Dict[str, Any]:
        """The ticket with its brief's transcript brought up to date from the tracker, the summary
        in the console's language, and for the agent holding it the suggested answer to the
        claimant's latest question (handoff/assist.py, handoff/suggestion.py). Every call is a
        transcript read, written to the audit log before anything is sent."""
        await self._audited(access.open_transcript, session.account, ticket.conversation_id, ticket.language)
        data = ticket.as_dict()
        data["summary"] = data["suggestion"] = None
        try:
            tracker = await self.rasa.tracker(ticket.conversation_id)
            brief = build_brief(tracker, waiting_since=ticket.waiting_since, reason=ticket.reason,
                                priority=ticket.priority.value)
            fresh = brief.as_dict()
            data["brief"] = {**data["brief"], "transcript": fresh["transcript"], "signals": fresh["signals"]}
            data["summary"] = assist.summarise(brief, tracker, language=session.language,
                                               titles=self.titles).as_dict()
            if self._holds(session, ticket):
                data["suggestion"] = self._suggestion(
                    suggestions.latest_topic(tracker.get("events") or [], self.knowledge), ticket.language)
        except DeskError as error:
            logger.warning("showing the stored brief of %s: %s", ticket.id, error)
        data["notes"] = t.notes(ticket)
        return data

    @staticmethod
    def _holds(session: Session, ticket: Ticket) -> bool:
        return ticket.state is State.ASSIGNED and ticket.agent == session.agent_id

    def _suggestion(self, topic: Optional[str], language: str) -> Optional[Dict[str, Any]]:
        """The knowledge-base entry `topic` as a reply in `language`; None without one."""
        entry = self.knowledge.get(topic)
        return suggestions.suggest(entry, language, self.kb_words).as_dict() if entry else None

    async def _do_suggest(self, session: Session, request: protocol.Request) -> Dict[str, Any]:
        """The suggested answer to the claimant's latest question (or to `topic`), for the agent
        holding the ticket only. Knowledge-base words, no claimant's: not a transcript read."""
        ticket = await self._held(session, request, "suggest")
        topic = request.get("topic")
        if topic is None:
            tracker = await self.rasa.tracker(ticket.conversation_id)
            topic = suggestions.latest_topic(tracker.get("events") or [], self.knowledge)
        elif self.knowledge.get(topic) is None:
            raise ProtocolError("not_found", f"the knowledge base has no topic {topic!r}", request.ref)
        return {"ticket_id": ticket.id, "suggestion": self._suggestion(topic, ticket.language)}

    async def _do_brief(self, session: Session, request: protocol.Request) -> None:
        ticket = await self._visible(session, request["ticket_id"])
        await session.send(protocol.event("brief", ref=request.ref, ticket=await self._full(session, ticket)))

    async def _do_reveal(self, session: Session, request: protocol.Request) -> Dict[str, Any]:
        """The unmasked identifier number `index` (default 0) of transcript turn `turn`, for the
        agent holding the ticket (or a supervisor). Each reveal is audited: who, when, which
        conversation, which field; never the value."""
        ticket = await self._io(self.queue.get, request["ticket_id"])
        if not session.account.is_supervisor and (ticket.state is not State.ASSIGNED
                                                  or ticket.agent != session.agent_id):
            raise NotHolder(ticket.id, ticket.state.value, "reveal", f"{session.agent_id!r} does not hold it")
        turn, index = request.get("turn"), request.get("index", 0)
        if any(not isinstance(n, int) or isinstance(n, bool) or n < 0 for n in (turn, index)):
            raise ProtocolError("bad_request", "reveal needs `turn` and `index` as numbers from 0", request.ref)
        tracker = await self.rasa.tracker(ticket.conversation_id)
        transcript = build_brief(tracker, waiting_since=ticket.waiting_since, reason=ticket.reason,
                                 priority=ticket.priority.value, mask_identifiers=False).transcript
        found = find_identifiers(transcript[turn].text) if turn < len(transcript) else []
        if index >= len(found):
            raise ProtocolError("not_found", f"turn {turn} has no identifier number {index}", request.ref)
        identifier = found[index]
        await self._audited(access.reveal, session.account, ticket.conversation_id,
                            f"turn{turn}.{identifier.kind}.{index}", language=ticket.language)
        return {"ticket_id": ticket.id, "turn": turn, "index": index, "identifier_kind": identifier.kind,
                "value": transcript[turn].text[identifier.start:identifier.end]}

    def _supervisors_only(self, session: Session, request: protocol.Request) -> None:
        if not session.account.is_supervisor:
            raise ProtocolError("forbidden", f"{request.type} is for supervisors", request.ref)

    async def _do_supervision(self, session: Session, request: protocol.Request) -> None:
        """The live queue, for supervisors: numbers and ticket ids, never a transcript."""
        self._supervisors_only(session, request)
        live = await self._io(report_sources.live, self.queue)
        await session.send(protocol.event("supervision", ref=request.ref, live=live))

    async def _do_report(self, session: Session, request: protocol.Request) -> None:
        """The figures of a period, for supervisors (handoff/reports.py)."""
        self._supervisors_only(session, request)
        span = reports.Period.create(request["from"], request["to"])
        report = await self._io(report_sources.period, self.queue, span)
        await session.send(protocol.event("report", ref=request.ref, report=report))

    async def _do_note(self, session: Session, request: protocol.Request) -> Dict[str, Any]:
        """A private note: into the ticket's history only (never the tracker or the outbox, so
        the claimant never sees it, and it goes with the ticket when it is purged or erased)."""
        ticket = await self._visible(session, request["ticket_id"])
        noted = await self._io(self.queue.add_note, ticket.id, by=session.agent_id, text=request["text"],
                               holder=self._holder(session))
        return {"ticket_id": noted.id, "note": t.notes(noted)[-1]}

    async def _do_csat(self, session: Session, request: protocol.Request) -> Dict[str, Any]:
        """Satisfaction surveys asked in [since, until) grouped by `by` (handoff/csat.py
        `aggregate`); supervisors only (the comments are claimants' words, redacted)."""
        if not session.account.is_supervisor:
            raise ProtocolError("forbidden", "only supervisors see satisfaction figures", request.ref)
        since, until = request.get("since", float("-inf")), request.get("until", float("inf"))
        surveys = await self._io(self.csat.asked_between, since, until)
        groups = csat.aggregate(surveys, by=request.get("by", "agent"))
        return {"by": request.get("by", "agent"), "since": request.get("since"), "until": request.get("until"),
                "groups": {key: summary.as_dict() for key, summary in groups.items()}}

    async def _held(self, session: Session, request: protocol.Request, event: str) -> Ticket:
        ticket = await self._io(self.queue.get, request["ticket_id"])
        if ticket.state is not State.ASSIGNED or ticket.agent != session.agent_id:
            raise NotHolder(ticket.id, ticket.state.value, event, f"{session.agent_id!r} does not hold it")
        return ticket

    def _holder(self, session: Session) -> Optional[str]:
        """Supervisors may act on any ticket; agents only on those they hold."""
        return None if session.account.is_supervisor else session.agent_id

    async def _do_release(self, session: Session, request: protocol.Request) -> None:
        ticket = await self._io(self.queue.release, request["ticket_id"], agent=session.agent_id)
        await self._back_in_queue(ticket, session.agent_id)

    async def _back_in_queue(self, ticket: Ticket, agent_id: Optional[str],
                             phrase: str = "utter_handoff_requeued") -> None:
        """The claimant is told the person left and that they are waiting again."""
        await self._to_claimant(ticket, "agent_left", **({"agent_id": agent_id} if agent_id else {}))
        await self._to_claimant(ticket, "notice", text=self.phrases.say(phrase, ticket.language))

    async def _do_transfer(self, session: Session, request: protocol.Request) -> None:
        """To a colleague: the claimant sees who took over. To another language's queue: the claimant is
        told, in that language, that they are waiting again."""
        if request.get("to_agent"):
            ticket = await self._io(self.queue.transfer_to_agent, request["ticket_id"], to_agent=request["to_agent"],
                                    by=session.agent_id, holder=self._holder(session))
            colleague = await self._io(agents.account, self.queue.redis, ticket.agent)
            previous = ticket.history[-1].detail.get("from_agent")
            if previous:
                await self._to_claimant(ticket, "agent_left", agent_id=previous)
            await self._to_claimant(ticket, "agent_joined", text=self.phrases.say("utter_handoff_agent_joined", ticket.language),
                                    agent_id=ticket.agent, agent_name=colleague.name if colleague else None)
        else:
            ticket = await self._io(self.queue.transfer_to_language, request["ticket_id"],
                                    language=request["to_language"], by=session.agent_id,
                                    holder=self._holder(session))
            previous = ticket.history[-1].detail.get("from_agent")
            await self._back_in_queue(ticket, previous, phrase="utter_handoff_transferred_language")

    async def _do_return(self, session: Session, request: protocol.Request) -> None:
        ticket = await self._io(self.queue.get, request["ticket_id"])
        ended = t.return_to_bot(ticket, by=session.agent_id, at=time.time(), holder=self._holder(session))  # check first
        text = self.phrases.say("utter_handoff_resumed", ticket.language)
        survey = self._survey(ended)
        await self.rasa.append(ticket.conversation_id, resume_events(text, then=survey.events if survey else ()))
        ticket = await self._io(self.queue.return_to_bot, ticket.id, by=session.agent_id,
                                holder=self._holder(session))
        await self._to_claimant(ticket, "bot_resumed", text=text)
        await self._ask(ticket, survey)

    async def _do_close(self, session: Session, request: protocol.Request) -> None:
        ticket = await self._io(self.queue.get, request["ticket_id"])
        note = protocol.optional_text(request.get("note"))
        ended = t.close(ticket, by=session.agent_id, at=time.time(), reason_code=request["reason_code"], note=note,
                        holder=self._holder(session))  # check before resuming the bot
        survey = self._survey(ended)
        await self.rasa.append(ticket.conversation_id, resume_events(None, then=survey.events if survey else ()))
        ticket = await self._io(self.queue.close, ticket.id, by=session.agent_id,
                                reason_code=request["reason_code"], note=note, holder=self._holder(session))
        await self._to_claimant(ticket, "agent_left", agent_id=session.agent_id)
        await self._ask(ticket, survey)

    def _survey(self, ended: Ticket) -> Optional["_Asking"]:
        """The satisfaction question for a ticket a person held, as it will be returned or closed
        (handoff/csat.py); None when none is asked (a callback, or nobody held it)."""
        if not csat.should_ask(ended):
            return None
        text = self.phrases.say("utter_csat_question", ended.language)
        buttons = self.phrases.buttons("utter_csat_question", ended.language)
        return _Asking(csat.survey_for(ended, at=time.time()), text, buttons,
                       survey_events(ended.id, text, buttons))

    async def _ask(self, ticket: Ticket, asking: Optional["_Asking"]) -> None:
        """Records the survey, then puts the question (with its buttons) in front of the claimant."""
        if asking is None:
            return
        await self._io(self.csat.ask, asking.survey)
        await self._to_claimant(ticket, "question", text=asking.text, buttons=asking.buttons)

    async def _do_message(self, session: Session, request: protocol.Request) -> Dict[str, Any]:
        ticket = await self._held(session, request, "message")
        text = request["text"].strip()
        message_id = request.get("id")
        if message_id is None:  # a console that never resends
            at = time.time()
            await self.rasa.append(ticket.conversation_id, [agent_message_event(text, session.agent_id, at)])
            await self._to_claimant(ticket, "agent_message", text=text, agent_id=session.agent_id,
                                    agent_name=session.account.name, at=at)
            return {"ticket_id": ticket.id, "at": at}
        # Once per id (handoff/agent_messages.py): a resend after a desk died writes nothing twice.
        progress = await self._io(self.agent_messages.begin, ticket.id, message_id, time.time())
        if not progress.tracker:
            written = progress.again and agent_messages.in_tracker(
                (await self.rasa.tracker(ticket.conversation_id)).get("events") or [], message_id)
            if not written:
                await self.rasa.append(ticket.conversation_id, [
                    agent_message_event(text, session.agent_id, progress.at, message_id=message_id)])
            await self._io(self.agent_messages.in_tracker, ticket.id, message_id)
        if not progress.outbox and ticket.channel in PUSH_CHANNELS:
            entry = outbox_message("agent_message", conversation_id=ticket.conversation_id, language=ticket.language,
                                   text=text, agent_id=session.agent_id, agent_name=session.account.name,
                                   at=progress.at)
            if await self._io(self.agent_messages.send_once, ticket.id, message_id, ticket.channel, entry):
                metrics.sent(channel=ticket.channel, language=ticket.language, sender="agent")
        return {"ticket_id": ticket.id, "at": progress.at, "id": message_id, "duplicate": progress.outbox}

    async def _do_typing(self, session: Session, request: protocol.Request) -> None:
        ticket = await self._held(session, request, "typing")
        if request["active"]:
            await self._to_claimant(ticket, "typing", agent_id=session.agent_id)

    async def _do_presence(self, session: Session, request: protocol.Request) -> None:
        await self._io(self.queue.agent_status, session.agent_id, request["status"])

    async def _do_flag(self, session: Session, request: protocol.Request) -> Dict[str, Any]:
        """Writes a flag for the trainers' review inbox (tooling/trainers/review_sources.py reads it)."""
        ticket = await self._visible(session, request["ticket_id"])
        text = protocol.optional_text(request.get("text"))
        if not text:
            transcript = (await self._full(session, ticket))["brief"].get("transcript") or []
            said = [turn["text"] for turn in transcript if turn.get("speaker") == "claimant"]
            text = said[-1] if said else ""
        entry = {"ticket_id": ticket.id, "conversation_id": ticket.conversation_id, "text": text,
                 "agent_id": session.agent_id, "language": ticket.language, "reason": ticket.reason,
                 "suggested_intent": protocol.optional_text(request.get("suggested_intent")),
                 "note": protocol.optional_text(request.get("note")), "at": str(time.time())}
        flag_id = await self.events.xadd(k.REVIEW_FLAGS, entry, maxlen=self.settings.stream_maxlen,
                                         approximate=True)
        return {"flag_id": flag_id}

    async def _to_claimant(self, ticket: Ticket, kind: str, **fields: Any) -> None:
        entry = outbox_message(kind, conversation_id=ticket.conversation_id, language=ticket.language, **fields)
        await self._io(self.outbox.send, ticket.channel, entry)

    # ----- background ---------------------------------------------------------------------------

    async def _listen_updates(self) -> None:
        pubsub = self.events.pubsub()
        await pubsub.subscribe(k.UPDATES_CHANNEL)
        try:
            async for item in pubsub.listen():
                if item.get("type") != "message":
                    continue
                update = json.loads(item["data"])
                if update.get("event") == "alert":
                    frame = protocol.event("alert", alert=update["alert"])
                    await self._broadcast(lambda s: s.account.is_supervisor or
                                          update["alert"]["language"] in s.account.languages, frame)
                    continue
                try:
                    ticket = await self._io(self.queue.get, update["ticket_id"])
                except TicketNotFound:
                    continue
                frame = protocol.event("ticket", event=update.get("event"),
                                       ticket=protocol.ticket_summary(ticket.as_dict()))
                previous_agent = [e.detail.get("from_agent") for e in ticket.history[-1:]]
                await self._broadcast(lambda s: s.may_see(ticket.language, ticket.agent)
                                      or s.agent_id in previous_agent, frame)
        finally:
            await pubsub.close()

    async def _broadcast(self, who: Callable[[Session], bool], frame: str) -> None:
        sessions = [s for group in self.sessions.values() for s in group if who(s)]
        await asyncio.gather(*(s.send(frame) for s in sessions))

    async def _relay_stream(self) -> None:
        """Claimant messages of held conversations, to the holder's sockets on this process."""
        while True:
            batches = await self.events.xread({k.EVENTS_STREAM: self._relay_from}, block=1000, count=200)
            for _, entries in batches or []:
                for entry_id, fields in entries:
                    self._relay_from = entry_id
                    message = relay.decode(fields)
                    if message is None or not self.sessions:
                        continue
                    ticket = await self._io(self.queue.open_ticket, message.conversation_id)
                    if ticket is None or ticket.agent not in self.sessions:
                        continue
                    topic = suggestions.topic_of(message.intent, message.entities, self.knowledge)
                    frame = protocol.event("claimant_message", ticket_id=ticket.id, **message.as_dict(),
                                           suggestion=self._suggestion(topic, ticket.language))
                    await asyncio.gather(*(s.send(frame) for s in list(self.sessions.get(ticket.agent, ()))))

    async def _ensure_group(self) -> None:
        try:
            await self.events.xgroup_create(k.EVENTS_STREAM, k.EVENTS_GROUP, id="$", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def _act_on_stream(self) -> None:
        """Acts once (across desk processes) on each claimant message of an open ticket, in order
        (core/stream_consumer.py): acknowledged after acting; a message this process read and did
        not act on (it died, Redis or Rasa failed) is acted on again after RECLAIM_MS."""
        await StreamConsumer(self.events, k.EVENTS_STREAM, k.EVENTS_GROUP, self.consumer, self._act_on_entry,
                             claim_idle_ms=RECLAIM_MS, create_from="$", block_ms=1000, count=100).run()

    async def _act_on_entry(self, entry_id: str, fields: Dict[str, str], again: bool) -> None:
        message = relay.decode(fields)
        if message is None:
            return
        try:
            await self.act_on(message, request_id=entry_id)
        except (RasaUnavailable, QueueUnavailable):
            raise  # not acted on: left pending, acted on again after RECLAIM_MS
        except DeskError as error:  # the change itself is refused (no such ticket ...): again would not help
            logger.error("could not act on a message of %s: %s", message.conversation_id, error)

    async def act_on(self, message: relay.ClaimantMessage, *, request_id: Optional[str] = None) -> None:
        """`request_id`: the message's event-stream entry; acted on again (this process died before
        acknowledging it), it records no second callback (handoff/queue.py `request_id`)."""
        ticket = await self._io(self.queue.open_ticket, message.conversation_id)
        if ticket is None:
            return
        if ticket.state is State.WAITING and message.wants_to_stop:
            await self._resume(ticket, "utter_handoff_cancelled", by="claimant")
            return
        if message.raised_priority is not None:
            before = ticket.priority
            ticket = await self._io(self.queue.raise_priority, ticket.id, priority=message.raised_priority,
                                    by="claimant", evidence={"text": message.text, "evidence": message.evidence})
            if ticket.state is State.WAITING and ticket.priority is Priority.CRISIS and before is not Priority.CRISIS:
                # nobody has answered yet: the crisis lines now, not after the wait
                lines = crisis_contacts.in_one_line(ticket.language)
                await self._to_claimant(ticket, "notice", text=self.phrases.say(
                    "utter_handoff_crisis_waiting", ticket.language, contacts=lines))
        if ticket.state is State.WAITING:
            nobody = (await self._io(self.queue.agents_online, ticket.language) == 0
                      or not await self._io(self.queue.staffed))
            callback = relay.find_callback(message.text, language=ticket.language) if nobody else None
            if callback is not None:
                priority = Priority.CRISIS if ticket.priority is Priority.CRISIS else Priority.CALLBACK
                await self._io(self.queue.enqueue, conversation_id=ticket.conversation_id, channel=ticket.channel,
                               language=ticket.language, priority=priority, reason=f"callback: {ticket.reason}",
                               brief=ticket.brief, callback=callback, by="claimant", request_id=request_id)
                await self._resume(ticket, "utter_handoff_callback_recorded", by="claimant",
                                   contact=callback.contact, time=callback.preferred_time or "—")

    async def _resume(self, ticket: Ticket, phrase: str, *, by: str, **values: Any) -> None:
        text = self.phrases.say(phrase, ticket.language, **values)
        await self.rasa.append(ticket.conversation_id, resume_events(text))
        await self._io(self.queue.return_to_bot, ticket.id, by=by)
        await self._to_claimant(ticket, "bot_resumed", text=text)

    async def _periodic(self) -> None:
        while True:
            await self._io(self.queue.heartbeat, list(self.sessions))
            if await self._lead():
                for ticket in await self._io(self.queue.sweep_presence):
                    await self._back_in_queue(ticket, None)
                await self._io(self.queue.check_waits)
                await self._io(self.announce_positions)
            await asyncio.sleep(self.settings.sweep_interval_seconds)

    async def _lead(self) -> bool:
        ttl = max(1000, int(self.settings.sweep_interval_seconds * 3000))
        if await self.events.set(k.DESK_LEADER, self.name, nx=True, px=ttl):
            return True
        if await self.events.get(k.DESK_LEADER) == self.name:
            await self.events.pexpire(k.DESK_LEADER, ttl)
            return True
        return False

    def announce_positions(self) -> int:
        """Tells each waiting claimant their new place when it changed (blocking; leader only)."""
        sent = 0
        announced = self.queue.redis.hgetall(k.ANNOUNCED_POSITIONS)
        waiting = self.queue.waiting()
        for ticket in waiting:
            estimate = self.queue.estimate(ticket.id)
            if estimate is None or announced.get(ticket.id) == str(estimate.position):
                continue
            if ticket.id in announced:  # the action already told them their first place
                self.outbox.send(ticket.channel, outbox_message(
                    "queue_position", conversation_id=ticket.conversation_id, language=ticket.language,
                    position=estimate.position, estimate_seconds=estimate.seconds,
                    text=self.phrases.say("utter_handoff_position", ticket.language, position=estimate.position)))
                sent += 1
            self.queue.redis.hset(k.ANNOUNCED_POSITIONS, ticket.id, estimate.position)
        gone = set(announced) - {x.id for x in waiting}
        if gone:
            self.queue.redis.hdel(k.ANNOUNCED_POSITIONS, *gone)
        return sent


def _number(query: Dict[str, List[str]], name: str) -> float:
    try:
        return float(query[name][0])
    except (KeyError, IndexError, ValueError):
        raise InvalidRequest(f"{name} must be epoch seconds") from None
