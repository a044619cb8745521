"""The WeChat channel's fixed limits and lifetimes. Its Redis keys are in core/redis_keys.py
(`WECHAT_*`, the desk's outbox stream and the stream of delivery errors the desk reads,
docs/wechat.md); a WeChat conversation id is core/privacy/identity.py `wechat_conversation_id`.
"""
from __future__ import annotations

DELIVERY_ERRORS_MAXLEN = 100_000
SEEN_TTL = 24 * 3600  # WeChat retries within ~15 s; a day covers clock skew and slow queues
OPTIONS_TTL = 24 * 3600  # a digit answers the options shown within the last day
LANGUAGE_TTL = 30 * 24 * 3600  # erased with the conversation (core/privacy/retention.py)
TURN_TTL = 3600  # WeChat's retries come within ~15 s; a late Rasa side finds it gone and sends
#: Seconds after the gateway's passive deadline (4.5 s after WeChat sent the message) when
#: WeChat's last try is over (three tries, 5 s apart, each waiting 5 s): an offered answer no
#: gateway collected by then is taken back and sent through the API (handshake.py).
UNCOLLECTED_AFTER = 12.0
TOKEN_MARGIN = 300  # seconds before WeChat's expiry that a token is refreshed
TOKEN_LOCK_MS = 10_000

#: WeChat truncates or refuses a text over 2048 bytes of UTF-8 (passive reply and
#: customer-service message alike: errcode 45002); parts are kept under this, with a margin.
TEXT_LIMIT_BYTES = 2000
#: Largest request body accepted from WeChat.
MAX_BODY_BYTES = 64 * 1024
