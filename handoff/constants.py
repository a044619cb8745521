"""Every Redis key and channel the agent desk uses. All start with `renben:`; nothing else in
`handoff/` spells a key. `<lang>` is a language code (`zh`, `en`), `<id>` a ticket id.

The Lua commit script touches several of these keys at once, so the desk needs one Redis primary
(standalone or Sentinel). On Redis Cluster, give every key below one hash tag (for example
`renben:{desk}:`) so that they share a slot.
"""
from __future__ import annotations

PREFIX = "renben:"

#: Hash: one ticket's fields (see handoff/queue.py `_FIELDS`).  renben:ticket:<id>
TICKET = PREFIX + "ticket:"
#: List of JSON history entries, oldest first.                    renben:ticket-history:<id>
TICKET_HISTORY = PREFIX + "ticket-history:"
#: Sorted set: the waiting tickets of one language, served lowest score first.  renben:queue:<lang>
QUEUE = PREFIX + "queue:"
#: Set of every language that has ever had a queue.
LANGUAGES = PREFIX + "queue-languages"
#: String: the open (waiting or assigned) ticket of a conversation.  renben:open:<conversation_id>
OPEN_TICKET = PREFIX + "open:"
#: Set of every ticket id of a conversation, for erasure.  renben:conversation-tickets:<conversation_id>
CONVERSATION_TICKETS = PREFIX + "conversation-tickets:"
#: String: the ticket one claimant request got (a request made again gets the same ticket), kept
#: 7 days.  renben:request-ticket:<conversation_id>:<request id>
REQUEST_TICKET = PREFIX + "request-ticket:"
#: Counter: arrival order of tickets (a ticket's `seq`).
SEQUENCE = PREFIX + "ticket-sequence"

#: Hash: one agent's presence: languages, status, last_seen.  renben:agent:<agent_id>
AGENT = PREFIX + "agent:"
#: Sorted set: agent id -> last seen (epoch seconds); the grace-period sweep reads it.
AGENTS_SEEN = PREFIX + "agents-seen"
#: Set: agents who declared this language and have not been swept.  renben:agents-language:<lang>
AGENTS_BY_LANGUAGE = PREFIX + "agents-language:"
#: Set: ticket ids an agent holds.  renben:agent-tickets:<agent_id>
AGENT_TICKETS = PREFIX + "agent-tickets:"
#: Hash: agent id -> the most tickets they may hold at once (a claim past it is refused); an agent
#: without an entry has the desk's default (DESK_DEFAULT_CAPACITY, 3). Read by the claim's Lua script.
AGENT_CAPACITY = PREFIX + "agent-capacity"

#: Hash: "<reason kind>|<priority>" -> tickets queued so far (a ticket counted once, when it is
#: made): the metric renben_handoffs (handoff/monitoring.py). Counts only: no id, no words.
HANDOFF_COUNTS = PREFIX + "handoff-counts"
#: List: recent handling times in seconds (claim to return/close), newest first.  renben:handling:<lang>
HANDLING_TIMES = PREFIX + "handling:"
#: List: JSON wait-time alerts for supervisors, newest first.
ALERTS = PREFIX + "alerts"

#: Pub/sub channel: one JSON message per ticket change, for every desk process.
UPDATES_CHANNEL = PREFIX + "desk-updates"
#: Stream the Rasa event broker (bot/event_broker.py) writes conversation events to.
EVENTS_STREAM = PREFIX + "events"

#: Stream per claimant channel of everything the desk sends to claimants (docs/claimant-outbox.md).
#: renben:outbox:<channel>, channel = the tracker's latest_input_channel (web, wechat). The only
#: spelling: the channels' readers name their stream from it (bot/channels/*/constants.py).
OUTBOX = PREFIX + "outbox:"
#: Hash: the satisfaction survey after one ticket (handoff/csat.py `Survey`: ticket_id,
#: conversation_id, agent, topic, language, channel, ending, asked_at; score, rated_at, comment,
#: commented_at once answered).  renben:csat:<ticket_id>
CSAT = PREFIX + "csat:"
#: Sorted set: ticket id -> when its survey was asked (epoch seconds), for a period's surveys.
CSAT_ASKED = PREFIX + "csat-asked"
#: Stream of "the bot should have handled this" flags from agents, for the trainers' review inbox.
REVIEW_FLAGS = PREFIX + "review-flags"
# Agent accounts and tokens live in the access store (bot/privacy/constants.py: ACCESS_*).
#: String: the desk process that currently sweeps presence, checks waits and announces queue
#: positions (SET NX with a short expiry, renewed by its holder).
DESK_LEADER = PREFIX + "desk-leader"
#: Hash: ticket id -> the last queue position announced to the claimant.
ANNOUNCED_POSITIONS = PREFIX + "announced-positions"
#: Consumer group of desk processes on EVENTS_STREAM that act on claimant messages (each once).
EVENTS_GROUP = "desk"
