"""Every error the web channel raises, under one root.

    WebChannelError
    ├── ConfigError           a setting is missing or unusable (raised when the channel is built)
    └── FrameRejected         one client frame cannot be processed; `code` is sent to the client
        │                     in an `error` frame and the connection stays open
        ├── FrameTooLarge     over MAX_FRAME_BYTES                          code frame_too_large
        ├── BinaryFrame       a binary frame (the protocol is JSON text)    code binary_frame
        ├── InvalidJson       not JSON, or not a JSON object                code invalid_json
        ├── InvalidShape      a field is missing, of the wrong type or size code invalid_message
        ├── UnknownType       `type` is not a client message type          code unknown_type
        ├── HelloRequired     anything but `hello` before the session       code hello_required
        └── RateLimited       the session sends faster than allowed         code rate_limited

Errors become `error` frames or close codes only at the edge (`channel.py`).
"""
from __future__ import annotations

from typing import Optional


class WebChannelError(Exception):
    """Root of every error in bot.channels.web."""


class ConfigError(WebChannelError):
    """A setting is missing or unusable; the message names it."""


class FrameRejected(WebChannelError):
    """One frame is refused. Send `error(code, message, id)` and keep reading."""

    code = "invalid_message"

    def __init__(self, message: str, *, message_id: Optional[str] = None) -> None:
        super().__init__(message)
        self.message, self.message_id = message, message_id


class FrameTooLarge(FrameRejected):
    code = "frame_too_large"


class BinaryFrame(FrameRejected):
    code = "binary_frame"


class InvalidJson(FrameRejected):
    code = "invalid_json"


class InvalidShape(FrameRejected):
    code = "invalid_message"


class UnknownType(FrameRejected):
    code = "unknown_type"


class HelloRequired(FrameRejected):
    code = "hello_required"


class RateLimited(FrameRejected):
    """`retry_after` seconds until one more frame would be accepted."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, message_id: Optional[str] = None) -> None:
        super().__init__(message, message_id=message_id)
        self.retry_after = retry_after
