"""The Redis-backed queue of tickets: storage, claiming, routing, presence and alerts.

Every change to a ticket is one pure function from handoff/tickets.py applied to the ticket as
read, then stored by one Lua script (`_COMMIT`) that checks the ticket's version has not moved
since the read. If it has, the change is re-applied to the fresh ticket (a claim that finds the
ticket no longer waiting returns None: it lost the race). So any number of desk processes and
action servers can share one Redis; nothing is held only in one process's memory.

Storage (keys in core/redis_keys.py):
    renben:ticket:<id>          hash: data (ticket JSON without history), version
    renben:ticket-history:<id>  list of history entries (JSON), appended by the same script
    renben:queue:<lang>         sorted set of waiting ticket ids, scored by tickets.queue_score
    renben:open:<conversation>  the conversation's open (waiting or assigned) ticket
    renben:agent-tickets:<id>   the tickets an agent holds
    renben:agent-capacity       agent -> the most tickets they may hold (else settings.default_capacity)
    renben:rasa-write:<id>      a return's or close's ending, written with it (handoff/rasa_writes.py)

The client must be a `redis.Redis(..., decode_responses=True)`; use `connect(url)`.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import redis

from core import redis_clients
from core import redis_keys as k
from handoff import tickets as t
from handoff.exceptions import (AtCapacity, InvalidRequest, InvalidTransition, QueueUnavailable, TicketNotFound,
                                UnknownAgent)
from handoff.settings import DeskSettings
from handoff.tickets import Alert, CallbackRequest, State, Ticket, WaitEstimate

#: How often a change is re-applied when the ticket keeps moving under us.
MAX_RETRIES = 50
#: Days a request's ticket is remembered (core/redis_keys.py REQUEST_TICKET).
REQUEST_DAYS = 7
AGENT_STATUSES = ("available", "away", "offline")

# KEYS: 1 ticket, 2 history, 3 old queue, 4 new queue, 5 open pointer, 6 old agent's tickets,
#       7 new agent's tickets, 8 conversation's tickets, 9 languages set, 10 agents' capacities,
#       11 the ending's Rasa write record, 12 the due Rasa writes (handoff/rasa_writes.py)
# ARGV: 1 expected version ("0": create; fails if the conversation has an open ticket and the
#       new one would be it: a callback ticket is queued beside a live one),
#       2 ticket JSON, 3 ticket id, 4 queue score ("" unless waiting), 5 "1" if open else "0",
#       6 language, 7 "1" if held by an agent, 8 the agent whose capacity this change must respect
#       ("" for none: only a claim checks), 9 the default capacity, 10 the ending's record JSON
#       ("" for none: a return or close writes it with the change, state pending), 11 when it is
#       first due, 12.. new history entries
# Returns {1, new version}, {0, the current version or, on create, the open ticket's id}, or
# {-1, tickets held, capacity} when the agent of ARGV[8] already holds as many as they may.
# The capacity check and the SADD below are one script: two claims cannot both pass it.
_COMMIT = """
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '0' then
  if current then return {0, current} end
  local open = redis.call('GET', KEYS[5])
  if open and ARGV[5] == '1' then return {0, open} end
elseif current ~= ARGV[1] then
  return {0, current or ''}
end
if ARGV[8] ~= '' and redis.call('SISMEMBER', KEYS[7], ARGV[3]) == 0 then
  local capacity = tonumber(redis.call('HGET', KEYS[10], ARGV[8]) or ARGV[9]) or tonumber(ARGV[9])
  local held = redis.call('SCARD', KEYS[7])
  if held >= capacity then return {-1, tostring(held), tostring(capacity)} end
end
local version = tonumber(ARGV[1]) + 1
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', version)
redis.call('ZREM', KEYS[3], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[3])
  redis.call('SADD', KEYS[9], ARGV[6])
end
redis.call('SREM', KEYS[6], ARGV[3])
if ARGV[7] == '1' then redis.call('SADD', KEYS[7], ARGV[3]) end
if ARGV[5] == '1' then
  redis.call('SET', KEYS[5], ARGV[3])
elseif redis.call('GET', KEYS[5]) == ARGV[3] then
  redis.call('DEL', KEYS[5])
end
redis.call('SADD', KEYS[8], ARGV[3])
if ARGV[10] ~= '' then
  redis.call('HSET', KEYS[11], 'record', ARGV[10], 'rasa_write', 'pending', 'attempts', 0, 'error', '')
  redis.call('ZADD', KEYS[12], ARGV[11], ARGV[3])
end
for i = 12, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
return {1, tostring(version)}
"""


def connect(url: str) -> "redis.Redis[str]":
    """A client for the queue (text replies), reconnecting with backoff (core/redis_clients.py).
    Raises nothing until first used."""
    return redis_clients.connect(url, socket_timeout=5)


class Queue:
    """The desk's queue on one Redis. Methods raise DeskError subclasses (QueueUnavailable when
    Redis fails); a lost claim race returns None."""

    def __init__(self, client: "redis.Redis[str]", settings: DeskSettings, *,
                 clock: Callable[[], float] = time.time):
        self.redis, self.settings, self.clock = client, settings, clock
        self._commit = client.register_script(_COMMIT)

    # ----- reading ----------------------------------------------------------------------------

    def get(self, ticket_id: str) -> Ticket:
        return self._load(ticket_id)[0]

    def _load(self, ticket_id: str) -> Tuple[Ticket, str]:
        with self._redis_errors():
            pipe = self.redis.pipeline(transaction=True)
            pipe.hgetall(k.TICKET + ticket_id)
            pipe.lrange(k.TICKET_HISTORY + ticket_id, 0, -1)
            stored, history = pipe.execute()
        if not stored or "data" not in stored:
            raise TicketNotFound(ticket_id)
        data = json.loads(stored["data"])
        data["history"] = [json.loads(entry) for entry in history]
        return Ticket.from_dict(data), stored["version"]

    def open_ticket(self, conversation_id: str) -> Optional[Ticket]:
        """The conversation's waiting or assigned ticket, if any."""
        with self._redis_errors():
            ticket_id = self.redis.get(k.OPEN_TICKET + conversation_id)
        if not ticket_id:
            return None
        try:
            ticket = self.get(ticket_id)
        except TicketNotFound:
            return None
        return ticket if ticket.state.is_open else None

    def history(self, ticket_id: str) -> List[t.HistoryEntry]:
        return list(self.get(ticket_id).history)

    def languages(self) -> List[str]:
        with self._redis_errors():
            return sorted(self.redis.smembers(k.LANGUAGES))

    def waiting_ids(self, language: str) -> List[str]:
        """Ticket ids waiting in a language queue, in the order they will be served."""
        with self._redis_errors():
            return list(self.redis.zrange(k.QUEUE + t.check_language(language), 0, -1))

    def waiting(self, languages: Optional[Iterable[str]] = None) -> List[Ticket]:
        """Waiting tickets of these languages (all by default), served first first."""
        found: List[Ticket] = []
        for language in (self.languages() if languages is None else languages):
            for ticket_id in self.waiting_ids(language):
                try:
                    found.append(self.get(ticket_id))
                except TicketNotFound:
                    continue
        return sorted(found, key=lambda x: t.queue_score(x.priority, x.seq))

    def agent_tickets(self, agent_id: str) -> List[Ticket]:
        with self._redis_errors():
            ids = sorted(self.redis.smembers(k.AGENT_TICKETS + agent_id))
        held = []
        for ticket_id in ids:
            try:
                held.append(self.get(ticket_id))
            except TicketNotFound:
                continue
        return held

    def position(self, ticket_id: str) -> Optional[int]:
        """1 for the next ticket served in its language queue; None if it is not waiting."""
        ticket = self.get(ticket_id)
        if ticket.state is not State.WAITING:
            return None
        with self._redis_errors():
            rank = self.redis.zrank(k.QUEUE + ticket.language, ticket_id)
        return None if rank is None else rank + 1

    def estimate(self, ticket_id: str) -> Optional[WaitEstimate]:
        """Position and expected wait of a waiting ticket (None if it is not waiting)."""
        position = self.position(ticket_id)
        if position is None:
            return None
        language = self.get(ticket_id).language
        with self._redis_errors():
            samples = [float(s) for s in self.redis.lrange(k.HANDLING_TIMES + language, 0, -1)]
        return t.estimate_wait(position=position, agents_online=self.agents_online(language),
                               handling_seconds=samples,
                               default_handling_seconds=self.settings.default_handling_seconds)

    def staffed(self, at: Optional[float] = None) -> bool:
        """Whether `at` (now by default) is within the configured staffed hours."""
        return self.settings.hours.is_open(self.clock() if at is None else at)

    # ----- changing tickets ---------------------------------------------------------------------

    def enqueue(self, *, conversation_id: str, channel: str, language: str, priority: Any,
                reason: str, brief: Mapping[str, Any], callback: Optional[CallbackRequest] = None,
                by: str = "bot", request_id: Optional[str] = None) -> Ticket:
        """A new waiting ticket; or, if the conversation already has an open ticket, that one
        (its priority raised if this request is more urgent). A callback ticket is not a live
        wait: it never counts as the conversation's open ticket.

        `request_id` (the claimant message that asked: its client id, or its event-stream entry):
        the same request made again (a turn or a stream entry handled again after a crash) gets
        the ticket it got the first time, unchanged, for REQUEST_DAYS."""
        t.check_conversation_id(conversation_id)
        if request_id is not None:
            known = self._request_ticket(conversation_id, request_id)
            if known is not None:
                return known
        ticket = self._enqueue(conversation_id=conversation_id, channel=channel, language=language,
                               priority=priority, reason=reason, brief=brief, callback=callback, by=by)
        if request_id is not None:
            with self._redis_errors():
                self.redis.set(k.REQUEST_TICKET + f"{conversation_id}:{request_id}", ticket.id,
                               nx=True, ex=REQUEST_DAYS * 86400)
        return ticket

    def _request_ticket(self, conversation_id: str, request_id: str) -> Optional[Ticket]:
        with self._redis_errors():
            ticket_id = self.redis.get(k.REQUEST_TICKET + f"{conversation_id}:{request_id}")
        if not ticket_id:
            return None
        try:
            return self.get(ticket_id)
        except TicketNotFound:  # erased or purged since: treat the request as new
            return None

    def _enqueue(self, *, conversation_id: str, channel: str, language: str, priority: Any,
                 reason: str, brief: Mapping[str, Any], callback: Optional[CallbackRequest],
                 by: str) -> Ticket:
        for _ in range(MAX_RETRIES):
            if callback is None:
                existing = self.open_ticket(conversation_id)
                if existing is not None:
                    return self.raise_priority(existing.id, priority=priority, by=by,
                                               evidence={"reason": reason})
            now = self.clock()
            with self._redis_errors():
                seq = int(self.redis.incr(k.SEQUENCE))
            ticket = t.new_ticket(ticket_id=uuid.uuid4().hex, conversation_id=conversation_id,
                                  channel=channel, language=language, priority=priority,
                                  reason=reason, brief=brief, at=now, seq=seq, callback=callback, by=by)
            if self._store(None, "0", ticket, open_pointer=callback is None):
                return ticket
        raise QueueUnavailable("the conversation's ticket kept changing; try again")

    def claim(self, ticket_id: str, *, agent: str) -> Optional[Ticket]:
        """The ticket assigned to `agent`, or None if it is no longer waiting (someone else
        claimed it first, or it was returned or closed). Raises TicketNotFound, and AtCapacity
        when the agent already holds as many tickets as they may (checked in the same Lua
        script that assigns, so concurrent claims cannot go past it)."""
        try:
            return self._apply(ticket_id, lambda x: t.claim(x, agent=agent, at=self.clock()), capacity_of=agent)
        except InvalidTransition:
            return None

    def claim_next(self, *, agent: str, languages: Sequence[str]) -> Optional[Ticket]:
        """The first waiting ticket of these languages, assigned to `agent`; None if none.
        Raises AtCapacity (the head ticket stays where it was: nothing is skipped)."""
        for _ in range(MAX_RETRIES):
            heads = []
            with self._redis_errors():
                for language in languages:
                    head = self.redis.zrange(k.QUEUE + t.check_language(language), 0, 0, withscores=True)
                    heads.extend((score, ticket_id) for ticket_id, score in head)
            if not heads:
                return None
            try:
                claimed = self.claim(min(heads)[1], agent=agent)
            except TicketNotFound:
                self._drop_stale(min(heads)[1], languages)
                continue
            if claimed is not None:
                return claimed
        return None

    def release(self, ticket_id: str, *, agent: str) -> Ticket:
        """Back to waiting in its old place. Raises NotHolder unless `agent` holds it."""
        return self._apply(ticket_id, lambda x: t.release(x, agent=agent, at=self.clock()))

    def transfer_to_agent(self, ticket_id: str, *, to_agent: str, by: str,
                          holder: Optional[str] = None) -> Ticket:
        """Assigned to `to_agent` (who must have come online). With `holder`, only if they hold it."""
        if not self._agent(to_agent):
            raise UnknownAgent(to_agent)
        return self._apply(ticket_id, lambda x: t.transfer_to_agent(
            x, to_agent=to_agent, by=by, at=self.clock(), holder=holder))

    def transfer_to_language(self, ticket_id: str, *, language: str, by: str,
                             holder: Optional[str] = None) -> Ticket:
        return self._apply(ticket_id, lambda x: t.transfer_to_language(
            x, language=language, by=by, at=self.clock(), holder=holder))

    def return_to_bot(self, ticket_id: str, *, by: str, holder: Optional[str] = None,
                      ending: Optional[Callable[[Ticket], Tuple[Mapping[str, Any], float]]] = None) -> Ticket:
        """Returned: the caller must resume the bot for the conversation and tell the claimant.
        `ending(the returned ticket)`: the record of that (handoff/rasa_writes.py) and when it is
        first due, stored in the same Lua step as the change."""
        return self._apply(ticket_id, lambda x: t.return_to_bot(x, by=by, at=self.clock(), holder=holder),
                           ending=ending)

    def close(self, ticket_id: str, *, by: str, reason_code: str, note: str = "",
              holder: Optional[str] = None,
              ending: Optional[Callable[[Ticket], Tuple[Mapping[str, Any], float]]] = None) -> Ticket:
        """Closed; `ending` as for `return_to_bot`."""
        return self._apply(ticket_id, lambda x: t.close(
            x, by=by, at=self.clock(), reason_code=reason_code, note=note, holder=holder), ending=ending)

    def add_note(self, ticket_id: str, *, by: str, text: str, holder: Optional[str] = None) -> Ticket:
        """A private note in the ticket's history (tickets.add_note). With `holder`, only while
        that agent holds it; raises NotHolder, InvalidRequest (empty or too long)."""
        return self._apply(ticket_id, lambda x: t.add_note(x, by=by, at=self.clock(), text=text, holder=holder))

    def raise_priority(self, ticket_id: str, *, priority: Any, by: str,
                       evidence: Optional[Mapping[str, Any]] = None) -> Ticket:
        """The ticket at `priority` if that is higher (never lower). A waiting ticket moves to
        the new band at once, keeping its arrival order."""
        return self._apply(ticket_id, lambda x: t.raise_priority(
            x, priority=priority, by=by, at=self.clock(), evidence=evidence))

    def update_brief(self, ticket_id: str, change: Callable[[Mapping[str, Any]], Optional[Mapping[str, Any]]]) -> Ticket:
        """The ticket with `change(its brief)` stored as its brief (None: unchanged). Not a change
        consoles hear of: nothing is published on the updates channel."""
        def brought_up_to_date(ticket: Ticket) -> Ticket:
            brief = change(ticket.brief)
            return ticket if brief is None else t.with_brief(ticket, brief)
        return self._apply(ticket_id, brought_up_to_date, announce=False)

    def capacity(self, agent_id: str) -> int:
        """The most tickets the agent may hold at once (their account's, else the default)."""
        with self._redis_errors():
            stored = self.redis.hget(k.AGENT_CAPACITY, agent_id)
        return int(stored) if stored else self.settings.default_capacity

    def held_count(self, agent_id: str) -> int:
        with self._redis_errors():
            return int(self.redis.scard(k.AGENT_TICKETS + agent_id))

    # ----- presence -----------------------------------------------------------------------------

    def agent_online(self, agent_id: str, *, languages: Sequence[str], role: str = "agent",
                     status: str = "available") -> None:
        """Record a connection of the agent. Call `agent_disconnected` when it ends."""
        t.check_agent_id(agent_id)
        languages = [t.check_language(language) for language in languages]
        if status not in AGENT_STATUSES[:2]:
            raise InvalidRequest(f"status must be 'available' or 'away', not {status!r}")
        now = self.clock()
        with self._redis_errors():
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(k.AGENT + agent_id, mapping={"languages": ",".join(languages), "role": role,
                                                    "status": status, "last_seen": now})
            pipe.hincrby(k.AGENT + agent_id, "connections", 1)
            pipe.zadd(k.AGENTS_SEEN, {agent_id: now})
            for language in languages:
                pipe.sadd(k.AGENTS_BY_LANGUAGE + language, agent_id)
            pipe.execute()

    def agent_status(self, agent_id: str, status: str) -> None:
        """available or away. Raises UnknownAgent if the agent never came online."""
        if status not in AGENT_STATUSES[:2]:
            raise InvalidRequest(f"status must be 'available' or 'away', not {status!r}")
        if not self._agent(agent_id):
            raise UnknownAgent(agent_id)
        with self._redis_errors():
            self.redis.hset(k.AGENT + agent_id, mapping={"status": status, "last_seen": self.clock()})

    def heartbeat(self, agent_ids: Iterable[str]) -> None:
        """Mark connected agents as seen now; the desk calls it every sweep."""
        now = self.clock()
        with self._redis_errors():
            pipe = self.redis.pipeline(transaction=False)
            for agent_id in agent_ids:
                pipe.hset(k.AGENT + agent_id, "last_seen", now)
                pipe.zadd(k.AGENTS_SEEN, {agent_id: now})
            pipe.execute()

    def agent_disconnected(self, agent_id: str) -> None:
        """One connection of the agent ended. With none left the agent is offline; their
        tickets go back to the queue if they do not return within the grace period."""
        now = self.clock()
        with self._redis_errors():
            left = self.redis.hincrby(k.AGENT + agent_id, "connections", -1)
            if left <= 0:
                self.redis.hset(k.AGENT + agent_id, mapping={"status": "offline", "connections": 0,
                                                              "last_seen": now})
                self.redis.zadd(k.AGENTS_SEEN, {agent_id: now})

    def agent(self, agent_id: str) -> Dict[str, str]:
        """The presence record (languages, role, status, last_seen); UnknownAgent if none."""
        found = self._agent(agent_id)
        if not found:
            raise UnknownAgent(agent_id)
        return found

    def agents_online(self, language: str) -> int:
        """Agents of this language whose status is available."""
        with self._redis_errors():
            members = sorted(self.redis.smembers(k.AGENTS_BY_LANGUAGE + language))
            pipe = self.redis.pipeline(transaction=False)
            for agent_id in members:
                pipe.hget(k.AGENT + agent_id, "status")
            return sum(status == "available" for status in pipe.execute())

    def sweep_presence(self) -> List[Ticket]:
        """Put back the tickets of agents gone past the grace period, each at the head of its
        priority; returns them. Agents still connected are never swept: the desk heartbeats
        them every sweep interval."""
        now = self.clock()
        stale_before = now - self.settings.grace_seconds
        requeued: List[Ticket] = []
        with self._redis_errors():
            candidates = self.redis.zrangebyscore(k.AGENTS_SEEN, "-inf", stale_before)
        for agent_id in candidates:
            record = self._agent(agent_id)
            last_seen = float(record.get("last_seen") or 0)
            crashed = last_seen <= stale_before - 3 * self.settings.sweep_interval_seconds
            if record.get("status") != "offline" and not crashed:
                continue
            for ticket in self.agent_tickets(agent_id):
                if ticket.state is State.ASSIGNED and ticket.agent == agent_id:
                    requeued.append(self._requeue_at_head(ticket.id, agent_id))
            with self._redis_errors():
                pipe = self.redis.pipeline(transaction=True)
                for language in filter(None, (record.get("languages") or "").split(",")):
                    pipe.srem(k.AGENTS_BY_LANGUAGE + language, agent_id)
                pipe.zrem(k.AGENTS_SEEN, agent_id)
                pipe.hset(k.AGENT + agent_id, "status", "offline")
                pipe.execute()
        return requeued

    def _requeue_at_head(self, ticket_id: str, agent_id: str) -> Ticket:
        def at_head(ticket: Ticket) -> Ticket:
            low, high = t.band(ticket.priority)
            with self._redis_errors():
                head = self.redis.zrangebyscore(k.QUEUE + ticket.language, low, f"({high}",
                                                start=0, num=1, withscores=True)
            seq = min(t.seq_of_score(ticket.priority, head[0][1]), ticket.seq) - 1 if head else ticket.seq
            return t.requeue(ticket, by="desk", at=self.clock(), seq=seq,
                             why=f"{agent_id} disconnected past the grace period")
        return self._apply(ticket_id, at_head)

    # ----- alerts -------------------------------------------------------------------------------

    def check_waits(self) -> List[Alert]:
        """Alerts for waiting tickets past their priority's threshold, each raised once per
        wait and priority; stored in renben:alerts and published on the updates channel."""
        now = self.clock()
        raised = []
        for ticket in self.waiting():
            alert = t.overdue(ticket, now=now, thresholds=self.settings.thresholds)
            if alert is None or t.already_alerted(ticket):
                continue
            try:
                self._apply(ticket.id, lambda x, threshold=alert.threshold_seconds:
                            t.record_alert(x, at=now, threshold=threshold))
            except (InvalidTransition, TicketNotFound):
                continue
            with self._redis_errors():
                pipe = self.redis.pipeline(transaction=True)
                pipe.lpush(k.ALERTS, json.dumps(alert.as_dict()))
                pipe.ltrim(k.ALERTS, 0, 999)
                pipe.publish(k.UPDATES_CHANNEL, json.dumps({"event": "alert", "alert": alert.as_dict()}))
                pipe.execute()
            raised.append(alert)
        return raised

    def alerts(self, limit: int = 50) -> List[Alert]:
        with self._redis_errors():
            return [Alert.from_dict(json.loads(a)) for a in self.redis.lrange(k.ALERTS, 0, limit - 1)]

    # ----- the commit ---------------------------------------------------------------------------

    def _apply(self, ticket_id: str, change: Callable[[Ticket], Ticket], *,
               capacity_of: Optional[str] = None, announce: bool = True,
               ending: Optional[Callable[[Ticket], Tuple[Mapping[str, Any], float]]] = None) -> Ticket:
        for _ in range(MAX_RETRIES):
            old, version = self._load(ticket_id)
            new = change(old)
            if new is old:
                return old
            if self._store(old, version, new, open_pointer=new.state.is_open and new.callback is None,
                           capacity_of=capacity_of, announce=announce,
                           ending=ending(new) if ending is not None else None):
                return new
        raise QueueUnavailable(f"ticket {ticket_id!r} kept changing; try again")

    def _store(self, old: Optional[Ticket], version: str, new: Ticket, *, open_pointer: bool,
               capacity_of: Optional[str] = None, announce: bool = True,
               ending: Optional[Tuple[Mapping[str, Any], float]] = None) -> bool:
        """True when stored; False when the ticket moved since `version` (re-read and retry).
        With `capacity_of`, raises AtCapacity when that agent holds as many tickets as they may."""
        data = new.as_dict()
        del data["history"]
        added = new.history[len(old.history):] if old else new.history
        waiting = new.state is State.WAITING
        keys = [
            k.TICKET + new.id, k.TICKET_HISTORY + new.id,
            k.QUEUE + (old.language if old else new.language), k.QUEUE + new.language,
            k.OPEN_TICKET + new.conversation_id,
            k.AGENT_TICKETS + ((old.agent if old else None) or "-"),
            k.AGENT_TICKETS + (new.agent or "-"),
            k.CONVERSATION_TICKETS + new.conversation_id, k.LANGUAGES, k.AGENT_CAPACITY,
            k.RASA_WRITE + new.id, k.RASA_WRITES_DUE,
        ]
        args = [version, json.dumps(data, ensure_ascii=False), new.id,
                str(t.queue_score(new.priority, new.seq)) if waiting else "",
                "1" if open_pointer else "0", new.language,
                "1" if new.state is State.ASSIGNED and new.agent else "0",
                capacity_of or "", str(self.settings.default_capacity),
                json.dumps(ending[0], ensure_ascii=False) if ending else "", str(ending[1]) if ending else "0"]
        args += [json.dumps(entry.as_dict(), ensure_ascii=False) for entry in added]
        with self._redis_errors():
            done, *found = self._commit(keys=keys, args=args)
            if done == -1:
                raise AtCapacity(capacity_of or "", int(found[0]), int(found[1]))
            if not done:
                return False
            pipe = self.redis.pipeline(transaction=False)
            if old is None:  # a new ticket: one more handoff (handoff/monitoring.py reports them)
                pipe.hincrby(k.HANDOFF_COUNTS, handoff_count_field(new), 1)
            if (old is not None and old.state is State.ASSIGNED and old.assigned_at is not None
                    and new.state in (State.RETURNED, State.CLOSED)):
                pipe.lpush(k.HANDLING_TIMES + old.language, round(self.clock() - old.assigned_at, 3))
                pipe.ltrim(k.HANDLING_TIMES + old.language, 0, self.settings.handling_samples - 1)
            if announce:
                pipe.publish(k.UPDATES_CHANNEL, json.dumps(update_message(new)))
            pipe.execute()
        return True

    def _drop_stale(self, ticket_id: str, languages: Sequence[str]) -> None:
        """A queue member whose ticket is gone (erased) is removed so it cannot block the head."""
        with self._redis_errors():
            for language in languages:
                self.redis.zrem(k.QUEUE + language, ticket_id)

    def _agent(self, agent_id: str) -> Dict[str, str]:
        with self._redis_errors():
            return self.redis.hgetall(k.AGENT + agent_id)

    def _redis_errors(self) -> "_RedisErrors":
        return _RedisErrors()


class _RedisErrors:
    """Turns redis-py errors into QueueUnavailable at the queue's edge."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, trace) -> bool:  # noqa: ANN001
        if error is not None and isinstance(error, redis.RedisError):
            raise QueueUnavailable(f"Redis: {error}") from error
        return False


def handoff_count_field(ticket: Ticket) -> str:
    """The field of HANDOFF_COUNTS a new ticket is counted under: its reason's kind and priority."""
    return f"{t.reason_kind(ticket.reason)}|{ticket.priority.value}"


def update_message(ticket: Ticket) -> Dict[str, Any]:
    """What every desk process hears on the updates channel about a changed ticket."""
    last = ticket.history[-1] if ticket.history else None
    return {"event": last.event if last else "changed", "ticket_id": ticket.id,
            "conversation_id": ticket.conversation_id, "language": ticket.language,
            "priority": ticket.priority.value, "state": ticket.state.value, "agent": ticket.agent,
            "at": last.at if last else None}
