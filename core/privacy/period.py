"""The retention period: how long a conversation is kept after its last event.

One setting, `RETENTION_DAYS` (default 90), read only here: the purge job applies it
(`retention.RetentionSettings`) and both privacy notices promise it (the bot's, in
`actions/privacy.py`, and the widget's, sent in the web channel's session frame), so the period
a claimant is told is the period the purge applies.
"""
from __future__ import annotations

import os
from typing import Mapping, Union

from core.privacy.exceptions import InvalidRequest

DEFAULT_RETENTION_DAYS = 90
ENV_NAME = "RETENTION_DAYS"


def retention_days(env: Mapping[str, str] = os.environ) -> float:
    """RETENTION_DAYS from `env` (90 when unset or empty); raises InvalidRequest when it is not a
    number of days above 0."""
    text = env.get(ENV_NAME) or str(DEFAULT_RETENTION_DAYS)
    try:
        days = float(text)
    except ValueError:
        raise InvalidRequest(f"{ENV_NAME}={text!r} is not a number of days") from None
    if not days > 0:
        raise InvalidRequest(f"{ENV_NAME}={text!r} must be more than 0")
    return days


def as_number(days: float) -> Union[int, float]:
    """The period as people write it: 90, not 90.0 (for wire frames and JSON payloads)."""
    return int(days) if float(days).is_integer() else days
