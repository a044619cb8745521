"""WeChat's HTTP API, the two calls the channel makes: the access token and the customer-service
text message. `error_for(body)` (pure) turns WeChat's JSON answer into a typed error.

    GET  {base}/cgi-bin/token?grant_type=client_credential&appid=APPID&secret=APPSECRET
         -> {"access_token": "...", "expires_in": 7200}
    POST {base}/cgi-bin/message/custom/send?access_token=TOKEN
         {"touser": OPENID, "msgtype": "text", "text": {"content": "..."}} -> {"errcode": 0, ...}

`send_text` refreshes the token at once and tries again when WeChat says it is invalid or
expired (40001, 40014, 42001); it raises ReplyWindowClosed (45015) and QuotaExceeded (45047),
which the caller logs and reports to the desk (delivery.py), never retries.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, Mapping, Optional, Tuple

import aiohttp

from bot.channels.wechat.exceptions import (ApiError, ApiUnavailable, QuotaExceeded, ReplyWindowClosed,
                                            TokenError)
from bot.channels.wechat.token import Tokens

logger = logging.getLogger(__name__)

TOKEN_REFUSED = (40001, 40014, 42001)  # invalid credential, invalid token, token expired
WINDOW_CLOSED, QUOTA_EXCEEDED = 45015, 45047
TIMEOUT_SECONDS = 10


def error_for(body: Any) -> Optional[ApiError]:
    """The error WeChat's JSON answer stands for, None for success (errcode absent or 0)."""
    if not isinstance(body, Mapping):
        return ApiUnavailable(f"the answer is not a JSON object: {str(body)[:200]}")
    code = body.get("errcode", 0)
    if code in (0, None):
        return None
    message = str(body.get("errmsg", ""))
    if code == WINDOW_CLOSED:
        return ReplyWindowClosed(code, message)
    if code == QUOTA_EXCEEDED:
        return QuotaExceeded(code, message)
    return ApiError(code, message)


class WeChatApi:
    """Create on the server's event loop; `close()` when the server stops."""

    def __init__(self, redis: Any, *, base_url: str, app_id: str, app_secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id, self.app_secret = app_id, app_secret
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS))
        self.tokens = Tokens(redis, self.fetch_token)

    async def close(self) -> None:
        await self.session.close()

    async def _call(self, method: str, path: str, *, params: Dict[str, str],
                    body: Optional[Dict[str, Any]] = None) -> Any:
        url = self.base_url + path
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            async with self.session.request(method, url, params=params, data=data,
                                            headers={"Content-Type": "application/json"}) as reply:
                raw = await reply.read()
                if reply.status != 200:
                    raise ApiUnavailable(f"{path} answered HTTP {reply.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise ApiUnavailable(f"{path}: {type(error).__name__} {error}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiUnavailable(f"{path} answered something that is not JSON") from None

    async def fetch_token(self) -> Tuple[str, int]:
        """A new access token and its lifetime. Raises TokenError, ApiUnavailable."""
        body = await self._call("GET", "/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret})
        error = error_for(body)
        if error is not None:
            if isinstance(error, ApiUnavailable):
                raise error
            raise TokenError(error.errcode, error.errmsg)
        token, expires_in = body.get("access_token"), body.get("expires_in", 7200)
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise TokenError(None, "the token endpoint's answer has no access_token")
        logger.info("wechat: fetched a new access token (valid %s s)", expires_in)
        return token, expires_in

    async def send_text(self, openid: str, content: str) -> None:
        """Sends one customer-service text. Raises ReplyWindowClosed, QuotaExceeded, TokenError,
        ApiUnavailable or ApiError; keep `content` within the length limit (render.split_text)."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        for attempt in range(2):
            token = await self.tokens.get()
            answer = await self._call("POST", "/cgi-bin/message/custom/send",
                                      params={"access_token": token}, body=body)
            error = error_for(answer)
            if error is None:
                return
            if error.errcode in TOKEN_REFUSED and attempt == 0:
                logger.warning("wechat: access token refused (%s); fetching a new one", error.errcode)
                await self.tokens.invalid(token)
                continue
            raise error
