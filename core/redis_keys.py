"""Every Redis key, stream, pub/sub channel and consumer group of every Renben process, each
spelled once: the agent desk's, the claimant channels' (web, WeChat), the privacy library's and
Rasa's lock store's. All start with `renben:`; no other module spells one
(tests/test_package_shape.py checks). `<lang>` is a language code (`zh`, `en`), `<id>` a ticket id,
`<cid>` a Rasa conversation id, `<openid>` a WeChat claimant's OpenID.

The desk's Lua commit script touches several of its keys at once, so the desk needs one Redis
primary (standalone or Sentinel). On Redis Cluster, give every desk key below one hash tag (for
example `renben:{desk}:`) so that they share a slot.
"""

from __future__ import annotations

PREFIX = "renben:"

# ----------------------------------------------------------------------------- the agent desk (handoff/)

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
#: renben:outbox:<channel>, channel = the tracker's latest_input_channel (web, wechat): the
#: channels' readers are WEB_OUTBOX_STREAM and WECHAT_OUTBOX_STREAM below.
OUTBOX = PREFIX + "outbox:"
#: Hash: how far an agent's message got (handoff/agent_messages.py: at, tracker, outbox), so a
#: console's resend writes it once.  renben:agent-message:<ticket_id>:<message id>, 24 h
AGENT_MESSAGE = PREFIX + "agent-message:"
#: Hash: the satisfaction survey after one ticket (handoff/csat.py `Survey`: ticket_id,
#: conversation_id, agent, topic, language, channel, ending, asked_at; score, rated_at, comment,
#: commented_at once answered).  renben:csat:<ticket_id>
CSAT = PREFIX + "csat:"
#: Sorted set: ticket id -> when its survey was asked (epoch seconds), for a period's surveys.
CSAT_ASKED = PREFIX + "csat-asked"
#: Stream of "the bot should have handled this" flags from agents, for the trainers' review inbox.
REVIEW_FLAGS = PREFIX + "review-flags"
# Agent accounts and tokens live in the access store (ACCESS_* below).
#: String: the desk process that currently sweeps presence, checks waits and announces queue
#: positions (SET NX with a short expiry, renewed by its holder).
DESK_LEADER = PREFIX + "desk-leader"
#: Hash: the end of one handoff as the desk recorded it with the ticket's change (handoff/rasa_writes.py):
#: `rasa_write` pending|done|failed, `attempts`, `error`, and `record` (JSON: the conversation, the
#: tracker events that resume the bot, what the claimant is then told, the survey). Written in the
#: same Lua step as the ticket's return or close; kept RASA_WRITE_DAYS once done.  renben:rasa-write:<id>
RASA_WRITE = PREFIX + "rasa-write:"
#: Sorted set: ticket id -> when its Rasa write is next tried (a pending or failed RASA_WRITE).
RASA_WRITES_DUE = PREFIX + "rasa-writes-due"
#: Hash: ticket id -> the last queue position announced to the claimant.
ANNOUNCED_POSITIONS = PREFIX + "announced-positions"
#: Consumer group of desk processes on EVENTS_STREAM that act on claimant messages (each once).
EVENTS_GROUP = "desk"

# ----------------------------------------------------------------------------- the web channel (bot/channels/web/)
WEB_PREFIX = PREFIX + "web:"
#: String: the state of one client message: "pending:<instance>" while handled, "done" after.
#: renben:web:msg:<cid>:<mid> (<mid> a client message id), expires after MESSAGE_STATE_TTL (done)
#: or PENDING_TTL (pending) (bot/channels/web/constants.py).
WEB_MESSAGE_STATE = WEB_PREFIX + "msg:"
#: Stream: the server messages of one conversation, in order; their ids are the `seq` the widget
#: acknowledges. renben:web:out:<cid>, capped at SESSION_STREAM_MAXLEN, expires after SESSION_STREAM_TTL.
WEB_SESSION_STREAM = WEB_PREFIX + "out:"
#: String: an outbox entry already copied into its conversation's stream. renben:web:copied:<entry id>
WEB_OUTBOX_COPIED = WEB_PREFIX + "copied:"
#: Pub/sub channel: the id of a conversation whose stream just got an outbox entry; every web
#: process flushes its sockets of that conversation.
WEB_WAKE_CHANNEL = WEB_PREFIX + "wake"
#: Counter: messages from one client address in one minute. renben:web:address:<ip>:<minute>
WEB_ADDRESS_LIMIT = WEB_PREFIX + "address:"
#: Stream the agent desk writes web claimants' messages to (docs/claimant-outbox.md).
WEB_OUTBOX_STREAM = OUTBOX + "web"
#: Consumer group of every web process reading WEB_OUTBOX_STREAM (core/stream_consumer.py).
WEB_OUTBOX_GROUP = "web"

# ----------------------------------------------------------------------------- WeChat (bot/channels/wechat/)
WECHAT_PREFIX = PREFIX + "wechat:"
#: String: one inbound message's state, "pending", "async" or "reply:<json texts>".
#: renben:wechat:seen:<MsgId | event:<FromUserName>:<CreateTime>>, expires after SEEN_TTL.
WECHAT_SEEN = WECHAT_PREFIX + "seen:"
#: String: the access token shared by every process; expires before WeChat's own expiry.
WECHAT_ACCESS_TOKEN = WECHAT_PREFIX + "access-token"
#: String: held (SET NX PX) by the one process fetching a new access token.
WECHAT_ACCESS_TOKEN_LOCK = WECHAT_PREFIX + "access-token-lock"
#: String (JSON): the numbered options last shown to a claimant. renben:wechat:options:<openid>
WECHAT_OPTIONS = WECHAT_PREFIX + "options:"
#: String: the language ("zh", "en") the bot last answered a claimant in, written by the Rasa
#: side for the gateway's own answers (media, please type, slow down). renben:wechat:language:<openid>
WECHAT_LANGUAGE = WECHAT_PREFIX + "language:"
#: Stream from the gateway to the Rasa processes: one entry per message for the bot (field
#: `data`, JSON, inbox.py), read in the consumer group WECHAT_INBOX_GROUP, deleted once handled.
WECHAT_INBOX_STREAM = WECHAT_PREFIX + "inbox"
WECHAT_INBOX_GROUP = "rasa"
#: String: who answers one message (handshake.py): "passive:<json texts>" (offered for the
#: gateway's reply), "collected:<json texts>" (a gateway took it), "async" (the Rasa side sends
#: through the API) or "sent". renben:wechat:turn:<dedupe key>
WECHAT_TURN = WECHAT_PREFIX + "turn:"
#: Pub/sub channel: the dedupe key of a message whose passive answer is ready (wakes the gateway).
WECHAT_ANSWERS_CHANNEL = WECHAT_PREFIX + "answers"
#: Counters: messages in one minute from one claimant (OpenID), and from one client address.
WECHAT_USER_LIMIT = WECHAT_PREFIX + "user:"
WECHAT_ADDRESS_LIMIT = WECHAT_PREFIX + "address:"
#: Stream the agent desk writes WeChat claimants' messages to; read with consumer group WECHAT_OUTBOX_GROUP.
WECHAT_OUTBOX_STREAM = OUTBOX + "wechat"
WECHAT_OUTBOX_GROUP = "wechat"
#: Stream of messages the customer-service API refused (45015, 45047, ...), for the agent desk.
WECHAT_DELIVERY_ERRORS = PREFIX + "wechat-delivery-errors"

# ----------------------------------------------------------------------------- privacy (core/privacy/)
#: Stream: the audit log, append-only (never trimmed); mirrored to var/audit/audit.jsonl.
AUDIT_STREAM = PREFIX + "audit"
#: Hash: token id -> JSON record (user, role, languages, name, salt, hash, created, revoked).
ACCESS_TOKENS = PREFIX + "access:tokens"
#: Hash: user id -> JSON account (role, languages, name, created).
ACCESS_USERS = PREFIX + "access:users"
#: Set: the token ids of one user, for revoking them all.  renben:access:user-tokens:<user>
ACCESS_USER_TOKENS = PREFIX + "access:user-tokens:"
#: String: a claimant asked to erase their conversation and has not confirmed yet (expires).
#: renben:privacy:erase-pending:<cid>
ERASE_PENDING = PREFIX + "privacy:erase-pending:"
#: String: this erasure request (a claimant message) is already in the audit log, so the same
#: message's turn run again (bot/turn_guard.py) is not audited twice. The name is a SHA-256 of
#: "<cid>:<message id>", so no identifier outlives the erasure in Redis.
#: renben:privacy:erase-request:<sha256 hex>
ERASE_REQUEST = PREFIX + "privacy:erase-request:"

# ----------------------------------------------------------------------------- Rasa's lock store (bot/lock_store.py)
#: The lock store's `key_prefix` in endpoints.yml (bot/settings.py); Rasa adds ":lock:".
RASA_LOCK_KEY_PREFIX = PREFIX.rstrip(":")
#: String: Rasa's lock on one conversation while a turn runs.  renben:lock:<cid>
RASA_LOCK = PREFIX + "lock:"
