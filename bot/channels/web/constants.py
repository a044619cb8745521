"""Every Redis key the web channel uses. All start with `renben:web:`, except the desk's outbox
stream, which is read here and written by handoff/outbox.py (docs/claimant-outbox.md).
`<cid>` is a Rasa conversation id, `<mid>` a client message id.
"""
from __future__ import annotations

from handoff.constants import OUTBOX

PREFIX = "renben:web:"

#: String: the state of one client message: "pending:<instance>" while handled, "done" after.
#: renben:web:msg:<cid>:<mid>, expires after MESSAGE_STATE_TTL (done) or PENDING_TTL (pending).
MESSAGE_STATE = PREFIX + "msg:"
#: Stream: the server messages of one conversation, in order; their ids are the `seq` the widget
#: acknowledges. renben:web:out:<cid>, capped at SESSION_STREAM_MAXLEN, expires after SESSION_STREAM_TTL.
SESSION_STREAM = PREFIX + "out:"
#: String: an outbox entry already copied into its conversation's stream. renben:web:copied:<entry id>
OUTBOX_COPIED = PREFIX + "copied:"
#: String: the last outbox entry id any web process has copied, where a starting process resumes.
OUTBOX_CURSOR = PREFIX + "outbox-cursor"
#: Counter: messages from one client address in one minute. renben:web:address:<ip>:<minute>
ADDRESS_LIMIT = PREFIX + "address:"
#: Stream the agent desk writes claimant messages to (docs/claimant-outbox.md).
OUTBOX_STREAM = OUTBOX + "web"

MESSAGE_STATE_TTL = 7 * 24 * 3600
PENDING_TTL = 15  # seconds; renewed every PENDING_REFRESH by the process's one renewer while handled
PENDING_REFRESH = 5
SESSION_STREAM_MAXLEN = 1000
SESSION_STREAM_TTL = 7 * 24 * 3600
OUTBOX_COPIED_TTL = 24 * 3600
