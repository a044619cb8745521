"""The desk's stream workers, one per process, each run until the desk stops:

- `listen_updates`: the updates channel (ticket changes and alerts) to the consoles that may see them;
- `relay_stream`: plain XREAD of the conversation event stream, relaying the claimant messages of
  held conversations to the holder's sockets on this process (every desk process needs every
  message; nothing to acknowledge);
- `act_on_stream`: the same stream in the consumer group `desk` (core/stream_consumer.py), to act
  once per event across desk processes: the brief stored with an open ticket gets each new
  message of its conversation (handoff/brief_record.py; the claimant's, an agent's), and the desk's policy for a claimant message of an open
  ticket (`act_on`): cancel the wait on "never mind", raise the priority on distress (and give the
  crisis lines at once to a claimant still waiting), take a callback number when nobody is there.
  Acknowledged after acting; a message a desk process read and did not act on (it died, Redis or
  Rasa failed) is acted on again after RECLAIM_MS.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Dict, Optional

import redis

from core import crisis_contacts
from core import redis_keys as k
from core.stream_consumer import StreamConsumer
from handoff import brief_record, endings, protocol, relay
from handoff import suggestion as suggestions
from handoff.desk_context import DeskContext
from handoff.exceptions import DeskError, QueueUnavailable, RasaUnavailable, TicketNotFound
from handoff.tickets import Priority, State

logger = logging.getLogger(__name__)
#: Claimant messages a desk process read but did not act on (it died) are acted on by another
#: desk process, or by the same one restarted, after this long.
RECLAIM_MS = 30_000


async def listen_updates(desk: DeskContext) -> None:
    pubsub = desk.events.pubsub()
    await pubsub.subscribe(k.UPDATES_CHANNEL)
    try:
        async for item in pubsub.listen():
            if item.get("type") != "message":
                continue
            update = json.loads(item["data"])
            if update.get("event") == "alert":
                frame = protocol.event("alert", alert=update["alert"])
                await desk.broadcast(lambda s: s.account.is_supervisor or
                                     update["alert"]["language"] in s.account.languages, frame)
                continue
            try:
                ticket = await desk.io(desk.queue.get, update["ticket_id"])
            except TicketNotFound:
                continue
            frame = protocol.event("ticket", event=update.get("event"),
                                   ticket=protocol.ticket_summary(ticket.as_dict()))
            previous_agent = [e.detail.get("from_agent") for e in ticket.history[-1:]]
            await desk.broadcast(lambda s: s.may_see(ticket.language, ticket.agent)
                                 or s.agent_id in previous_agent, frame)
    finally:
        await pubsub.close()


class Relay:
    """Relays from `start` (an entry id, read by XREVRANGE when the desk starts: "$" on every
    XREAD would miss entries in between)."""

    def __init__(self, desk: DeskContext, start: str):
        self.desk, self.position = desk, start

    async def run(self) -> None:
        desk = self.desk
        while True:
            batches = await desk.events.xread({k.EVENTS_STREAM: self.position}, block=1000, count=200)
            for _, entries in batches or []:
                for entry_id, fields in entries:
                    self.position = entry_id
                    message = relay.decode(fields)
                    if message is None or not desk.sessions:
                        continue
                    ticket = await desk.io(desk.queue.open_ticket, message.conversation_id)
                    if ticket is None or ticket.agent not in desk.sessions:
                        continue
                    topic = suggestions.topic_of(message.intent, message.entities, desk.knowledge)
                    frame = protocol.event("claimant_message", ticket_id=ticket.id, **message.as_dict(),
                                           suggestion=desk.suggestion(topic, ticket.language))
                    await asyncio.gather(*(s.send(frame) for s in list(desk.sessions.get(ticket.agent, ()))))


async def ensure_group(desk: DeskContext) -> None:
    try:
        await desk.events.xgroup_create(k.EVENTS_STREAM, k.EVENTS_GROUP, id="$", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


async def act_on_stream(desk: DeskContext, consumer: str) -> None:
    """Acts once (across desk processes) on each claimant message of an open ticket, in order."""
    async def handle(entry_id: str, fields: Dict[str, str], again: bool) -> None:
        try:
            await keep_brief(desk, fields)
            message = relay.decode(fields)
            if message is not None:
                await act_on(desk, message, request_id=entry_id)
        except (RasaUnavailable, QueueUnavailable):
            raise  # not acted on: left pending, acted on again after RECLAIM_MS
        except DeskError as error:  # the change itself is refused (no such ticket ...): again would not help
            logger.error("could not act on an event of %s: %s", fields.get("sender_id"), error)

    await StreamConsumer(desk.events, k.EVENTS_STREAM, k.EVENTS_GROUP, consumer, handle,
                         claim_idle_ms=RECLAIM_MS, create_from="$", block_ms=1000, count=100).run()


async def keep_brief(desk: DeskContext, fields: Dict[str, str]) -> None:
    """Adds a message of a conversation with an open ticket to the brief stored with it (an entry
    read again adds nothing: brief_record.with_event)."""
    if fields.get("event") not in ("user", "bot"):
        return
    try:
        event = json.loads(fields.get("data") or "")
    except ValueError:
        return
    if not isinstance(event, dict) or not event.get("sender_id"):
        return
    ticket = await desk.io(desk.queue.open_ticket, str(event["sender_id"]))
    if ticket is not None and brief_record.as_tracker(ticket.brief) is not None:
        await desk.io(desk.queue.update_brief, ticket.id, lambda brief: brief_record.with_event(brief, event))


async def act_on(desk: DeskContext, message: relay.ClaimantMessage, *, request_id: Optional[str] = None) -> None:
    """The desk's policy for one claimant message. `request_id`: the message's event-stream entry;
    acted on again (a desk process died before acknowledging it), it records no second callback
    (handoff/queue.py `request_id`)."""
    ticket = await desk.io(desk.queue.open_ticket, message.conversation_id)
    if ticket is None:
        return
    if ticket.state is State.WAITING and message.wants_to_stop:
        await endings.resume(desk, ticket, "utter_handoff_cancelled", by="claimant")
        return
    if message.raised_priority is not None:
        before = ticket.priority
        ticket = await desk.io(desk.queue.raise_priority, ticket.id, priority=message.raised_priority,
                               by="claimant", evidence={"text": message.text, "evidence": message.evidence})
        if ticket.state is State.WAITING and ticket.priority is Priority.CRISIS and before is not Priority.CRISIS:
            # nobody has answered yet: the crisis lines now, not after the wait
            lines = crisis_contacts.in_one_line(ticket.language)
            await desk.to_claimant(ticket, "notice", text=desk.phrases.say(
                "utter_handoff_crisis_waiting", ticket.language, contacts=lines))
    if ticket.state is State.WAITING:
        nobody = (await desk.io(desk.queue.agents_online, ticket.language) == 0
                  or not await desk.io(desk.queue.staffed))
        callback = relay.find_callback(message.text, language=ticket.language) if nobody else None
        if callback is not None:
            priority = Priority.CRISIS if ticket.priority is Priority.CRISIS else Priority.CALLBACK
            await desk.io(desk.queue.enqueue, conversation_id=ticket.conversation_id, channel=ticket.channel,
                          language=ticket.language, priority=priority, reason=f"callback: {ticket.reason}",
                          brief=ticket.brief, callback=callback, by="claimant", request_id=request_id)
            await endings.resume(desk, ticket, "utter_handoff_callback_recorded", by="claimant",
                                 contact=callback.contact, time=callback.preferred_time or "—")
