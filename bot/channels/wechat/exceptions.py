"""Every error the WeChat channel raises, under one root.

    WeChatError
    ├── ConfigError            a setting is missing or unusable (raised at start)
    ├── RequestRejected        an inbound request that must not be processed
    │   ├── SignatureError     signature or msg_signature does not match        -> HTTP 403
    │   ├── DecryptError       Encrypt opens with neither the current nor the
    │   │                      previous EncodingAESKey, or names another AppID  -> HTTP 403
    │   └── MessageError       the body is not a WeChat XML message             -> HTTP 400
    │       └── XmlRejected    a DTD, entity or external reference (defusedxml) -> HTTP 400
    └── ApiError               WeChat's HTTP API answered with an error code
        ├── TokenError         the token endpoint refused (AppID/secret, IP allow-list)
        ├── ReplyWindowClosed  45015: the claimant last wrote over 48 hours ago, or unfollowed
        ├── QuotaExceeded      45047: too many messages since the claimant last wrote
        └── ApiUnavailable     no answer from the API (network, HTTP status, not JSON)

Errors become HTTP statuses only at the edge (`webhook.py`). ReplyWindowClosed and
QuotaExceeded mean the claimant must write again before anything more can reach them: callers
log them and, during a handoff, show them to the agent.
"""
from __future__ import annotations

from typing import Optional


class WeChatError(Exception):
    """Root of every error in bot.channels.wechat."""


class ConfigError(WeChatError):
    """A setting is missing or unusable; the message names it."""


class RequestRejected(WeChatError):
    """The inbound request must not be processed; `status` is the HTTP status to answer."""

    status = 400


class SignatureError(RequestRejected):
    status = 403


class DecryptError(RequestRejected):
    status = 403


class MessageError(RequestRejected):
    status = 400


class XmlRejected(MessageError):
    """The XML carries a DTD, an entity declaration or an external reference."""


class ApiError(WeChatError):
    """WeChat answered `errcode` (0 never raises); `errmsg` is WeChat's own text."""

    def __init__(self, errcode: Optional[int], errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class TokenError(ApiError):
    pass


class ReplyWindowClosed(ApiError):
    """45015: nothing can be sent until the claimant writes again."""


class QuotaExceeded(ApiError):
    """45047: the messages allowed since the claimant last wrote are used up."""


class ApiUnavailable(ApiError):
    """The API could not be reached or answered something that is not its JSON."""

    def __init__(self, errmsg: str) -> None:
        super().__init__(None, errmsg)
