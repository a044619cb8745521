"""The periodic sweep every desk process runs, and the duties of the one leader among them.

Every process, every `sweep_interval_seconds`: a heartbeat for the agents connected to it.
The leader (held with SET NX and a short expiry on DESK_LEADER, renewed by its holder, so another
process takes over within a few sweeps when it dies) also: puts back in the queue the tickets of
agents gone past the grace period, raises wait-time alerts, and tells each waiting claimant their
new place in the queue when it changed, and tries again to tell the bot of each ended ticket it
was not yet told of (handoff/rasa_writes.py).
"""
from __future__ import annotations

import asyncio

from core import redis_keys as k
from handoff.desk_context import DeskContext
from handoff.outbox import message as outbox_message


class Leader:
    def __init__(self, desk: DeskContext, name: str):
        self.desk, self.name = desk, name  # `name`: this process's, unique per run

    async def run(self) -> None:
        desk = self.desk
        while True:
            await desk.io(desk.queue.heartbeat, list(desk.sessions))
            if await self.lead():
                for ticket in await desk.io(desk.queue.sweep_presence):
                    await desk.back_in_queue(ticket, None)
                await desk.io(desk.queue.check_waits)
                await desk.io(announce_positions, desk)
                await self.retry_rasa_writes()
            await asyncio.sleep(desk.settings.sweep_interval_seconds)

    async def retry_rasa_writes(self) -> None:
        """Tries again each due write of an ended ticket's resume to Rasa (handoff/rasa_writes.py)."""
        writes = self.desk.rasa_writes
        for ticket_id in await self.desk.io(writes.due):
            if await self.desk.io(writes.lease, ticket_id):
                await writes.complete(ticket_id, again=True)

    async def lead(self) -> bool:
        """Whether this process leads now (taking or renewing the lead)."""
        events = self.desk.events
        ttl = max(1000, int(self.desk.settings.sweep_interval_seconds * 3000))
        if await events.set(k.DESK_LEADER, self.name, nx=True, px=ttl):
            return True
        if await events.get(k.DESK_LEADER) == self.name:
            await events.pexpire(k.DESK_LEADER, ttl)
            return True
        return False


def announce_positions(desk: DeskContext) -> int:
    """Tells each waiting claimant their new place when it changed (blocking; leader only)."""
    queue, sent = desk.queue, 0
    announced = queue.redis.hgetall(k.ANNOUNCED_POSITIONS)
    waiting = queue.waiting()
    for ticket in waiting:
        estimate = queue.estimate(ticket.id)
        if estimate is None or announced.get(ticket.id) == str(estimate.position):
            continue
        if ticket.id in announced:  # the action already told them their first place
            desk.outbox.send(ticket.channel, outbox_message(
                "queue_position", conversation_id=ticket.conversation_id, language=ticket.language,
                position=estimate.position, estimate_seconds=estimate.seconds,
                text=desk.phrases.say("utter_handoff_position", ticket.language, position=estimate.position)))
            sent += 1
        queue.redis.hset(k.ANNOUNCED_POSITIONS, ticket.id, estimate.position)
    gone = set(announced) - {x.id for x in waiting}
    if gone:
        queue.redis.hdel(k.ANNOUNCED_POSITIONS, *gone)
    return sent
