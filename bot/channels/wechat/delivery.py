"""Texts sent through the customer-service API, and refusals reported to the agent desk.

Every text that cannot be delivered is logged and appended to the stream
`renben:wechat-delivery-errors` (docs/wechat.md), one JSON `data` field per entry:

    {"conversation_id": "wx-<openid>", "errcode": 45015, "errmsg": "...",
     "reason": "reply_window_closed" | "quota_exceeded" | "token" | "unavailable" | "api_error",
     "source": "bot" | "outbox", "entry_id": "<outbox entry id or null>",
     "undelivered": <number of texts not sent>, "at": <epoch seconds>}

so that during a handoff the desk can tell the agent that the claimant must write again
(45015: the 48-hour window has passed; 45047: the messages allowed since the claimant's last
message are used up). The texts themselves are not copied there.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Dict, Optional, Sequence

from bot.channels.wechat.api import WeChatApi
from core.redis_keys import WECHAT_DELIVERY_ERRORS as DELIVERY_ERRORS
from bot.channels.wechat.constants import DELIVERY_ERRORS_MAXLEN
from core.privacy.identity import wechat_conversation_id as conversation_id
from bot.channels.wechat.exceptions import (ApiError, ApiUnavailable, QuotaExceeded, ReplyWindowClosed,
                                            TokenError)

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 2.0)  # when the API cannot be reached; refusals are never retried


def reason_of(error: ApiError) -> str:
    if isinstance(error, ReplyWindowClosed):
        return "reply_window_closed"
    if isinstance(error, QuotaExceeded):
        return "quota_exceeded"
    if isinstance(error, TokenError):
        return "token"
    if isinstance(error, ApiUnavailable):
        return "unavailable"
    return "api_error"


def error_entry(openid: str, error: ApiError, *, source: str, undelivered: int,
                entry_id: Optional[str] = None, at: Optional[float] = None) -> Dict[str, Any]:
    """One delivery-error entry (pure)."""
    return {"conversation_id": conversation_id(openid), "errcode": error.errcode, "errmsg": error.errmsg,
            "reason": reason_of(error), "source": source, "entry_id": entry_id,
            "undelivered": undelivered, "at": time.time() if at is None else at}


class Delivery:
    def __init__(self, api: WeChatApi, redis: Any) -> None:
        self.api, self.redis = api, redis

    async def send(self, openid: str, texts: Sequence[str], *, source: str,
                   entry_id: Optional[str] = None) -> bool:
        """Sends `texts` in order; True when all went out. On a refusal the rest are not sent,
        the error is logged and reported to the desk, and False is returned."""
        texts = [text for text in texts if text.strip()]
        for index, text in enumerate(texts):
            try:
                await self._send_one(openid, text)
            except ApiError as error:
                level = logging.WARNING if isinstance(error, (ReplyWindowClosed, QuotaExceeded)) else logging.ERROR
                logger.log(level, "wechat: %d text(s) for %s not delivered: %s", len(texts) - index,
                           conversation_id(openid), error)
                await self.report(error_entry(openid, error, source=source, entry_id=entry_id,
                                              undelivered=len(texts) - index))
                return False
        return True

    async def _send_one(self, openid: str, text: str) -> None:
        for delay in (*RETRY_DELAYS, None):
            try:
                await self.api.send_text(openid, text)
                return
            except ApiUnavailable:
                if delay is None:
                    raise
                await asyncio.sleep(delay)

    async def report(self, entry: Dict[str, Any]) -> None:
        try:
            await self.redis.xadd(DELIVERY_ERRORS, {"data": json.dumps(entry, ensure_ascii=False)},
                                  maxlen=DELIVERY_ERRORS_MAXLEN, approximate=True)
        except Exception:
            logger.exception("wechat: could not report a delivery error to %s", DELIVERY_ERRORS)


