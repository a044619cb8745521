"""The retention period: how long a conversation is kept after its last event.

One setting, `Settings.retention_days` (RETENTION_DAYS, default 90; read in core/settings.py):
the purge job applies it (`retention.RetentionSettings`) and both privacy notices promise it (the
bot's, in `actions/privacy.py`, and the widget's, sent in the web channel's session frame), so the
period a claimant is told is the period the purge applies.
"""

from __future__ import annotations

from typing import Union

from core.settings import DEFAULT_RETENTION_DAYS
from core.settings import RETENTION_ENV as ENV_NAME

__all__ = ["DEFAULT_RETENTION_DAYS", "ENV_NAME", "as_number"]


def as_number(days: float) -> Union[int, float]:
    """The period as people write it: 90, not 90.0 (for wire frames and JSON payloads)."""
    return int(days) if float(days).is_integer() else days
