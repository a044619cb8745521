"""The web channel's fixed limits and lifetimes. Its Redis keys are in core/redis_keys.py
(`WEB_*`, and the desk's outbox stream it reads, docs/claimant-outbox.md).
"""
from __future__ import annotations

MESSAGE_STATE_TTL = 7 * 24 * 3600
PENDING_TTL = 15  # seconds; renewed every PENDING_REFRESH by the process's one renewer while handled
PENDING_REFRESH = 5
SESSION_STREAM_MAXLEN = 1000
SESSION_STREAM_TTL = 7 * 24 * 3600
OUTBOX_COPIED_TTL = 24 * 3600
OUTBOX_CLAIM_IDLE_MS = 15_000  # an outbox entry a dead web process had read is copied by another after this
