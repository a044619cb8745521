"""Every Redis key and fixed limit of the WeChat channel. Keys start with `renben:wechat:`, except
the desk's outbox stream (written by handoff/outbox.py, docs/claimant-outbox.md) and the stream of
delivery errors the desk reads (docs/wechat.md). `<openid>` is a claimant's OpenID.
"""
from __future__ import annotations

from handoff.constants import OUTBOX

PREFIX = "renben:wechat:"

#: String: one inbound message's state, "pending", "async" or "reply:<json texts>".
#: renben:wechat:seen:<MsgId | event:<FromUserName>:<CreateTime>>, expires after SEEN_TTL.
SEEN = PREFIX + "seen:"
#: String: the access token shared by every process; expires before WeChat's own expiry.
ACCESS_TOKEN = PREFIX + "access-token"
#: String: held (SET NX PX) by the one process fetching a new access token.
ACCESS_TOKEN_LOCK = PREFIX + "access-token-lock"
#: String (JSON): the numbered options last shown to a claimant. renben:wechat:options:<openid>
OPTIONS = PREFIX + "options:"

#: String: the language ("zh", "en") the bot last answered a claimant in, written by the Rasa
#: side for the gateway's own answers (media, please type, slow down). renben:wechat:language:<openid>
LANGUAGE = PREFIX + "language:"

#: Stream from the gateway to the Rasa processes: one entry per message for the bot (field
#: `data`, JSON, inbox.py), read in the consumer group INBOX_GROUP, deleted once handled.
INBOX_STREAM = PREFIX + "inbox"
INBOX_GROUP = "rasa"
#: String: who answers one message (handshake.py): "passive:<json texts>" (the gateway replies),
#: "async" (the Rasa side sends through the API) or "sent". renben:wechat:turn:<dedupe key>
TURN = PREFIX + "turn:"
#: Pub/sub channel: the dedupe key of a message whose passive answer is ready (wakes the gateway).
ANSWERS_CHANNEL = PREFIX + "answers"

#: Counters: messages in one minute from one claimant (OpenID), and from one client address.
USER_LIMIT = PREFIX + "user:"
ADDRESS_LIMIT = PREFIX + "address:"
#: Stream the agent desk writes claimant messages to; read with consumer group OUTBOX_GROUP.
OUTBOX_STREAM = OUTBOX + "wechat"
OUTBOX_GROUP = "wechat"
#: Stream of messages the customer-service API refused (45015, 45047, ...), for the agent desk.
DELIVERY_ERRORS = "renben:wechat-delivery-errors"
DELIVERY_ERRORS_MAXLEN = 100_000

SEEN_TTL = 24 * 3600  # WeChat retries within ~15 s; a day covers clock skew and slow queues
OPTIONS_TTL = 24 * 3600  # a digit answers the options shown within the last day
LANGUAGE_TTL = 30 * 24 * 3600  # erased with the conversation (bot/privacy/retention.py)
TURN_TTL = 3600  # WeChat's retries come within ~15 s; a late Rasa side finds it gone and sends
TOKEN_MARGIN = 300  # seconds before WeChat's expiry that a token is refreshed
TOKEN_LOCK_MS = 10_000

#: WeChat truncates or refuses a text over 2048 bytes of UTF-8 (passive reply and
#: customer-service message alike: errcode 45002); parts are kept under this, with a margin.
TEXT_LIMIT_BYTES = 2000
#: Largest request body accepted from WeChat.
MAX_BODY_BYTES = 64 * 1024

#: Rasa conversation ids of WeChat claimants are this prefix + OpenID.
CONVERSATION_PREFIX = "wx-"


def conversation_id(openid: str) -> str:
    return CONVERSATION_PREFIX + openid


def openid_of(conversation_id: str) -> str | None:
    """The OpenID of a WeChat conversation id, None for another channel's id."""
    if conversation_id.startswith(CONVERSATION_PREFIX) and len(conversation_id) > len(CONVERSATION_PREFIX):
        return conversation_id[len(CONVERSATION_PREFIX):]
    return None
