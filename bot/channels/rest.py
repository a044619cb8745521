"""Rasa's REST channel: the door for integrations, behind the API token.

It needs the Rasa API token (`Authorization: Bearer <token>` or `?token=<token>`, as Rasa's HTTP
API) and can never address a conversation a channel identity owns (`web-…`, `wx-…`,
core/privacy/identity.py): those belong to a widget session or a WeChat OpenID. Without a
configured token (RASA_AUTH_TOKEN, which the launcher always sets) the channel refuses every call.

Rasa's own RestInput answers a body that is not JSON, or not UTF-8, with an error page and a
stack trace in the log. Here a body is decoded leniently (invalid UTF-8 becomes U+FFFD, which
the normaliser drops), so a claimant's message is never lost for a stray byte; a body that is
not a JSON object gets a typed error (HTTP 400, {"error": {"code": ..., "message": ...}}).
"""
from __future__ import annotations

import hmac
import json
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from core.privacy.identity import reachable_over_rest
from core.settings import current

logger = logging.getLogger(__name__)

#: Largest request body accepted, in bytes; larger bodies get HTTP 413.
MAX_BODY_BYTES = 256 * 1024
#: Deepest nesting of arrays and objects accepted in `metadata` (and in the body as a whole).
MAX_DEPTH = 16


class RequestError(Exception):
    """The request cannot be processed; `code` is stable for programs, `message` for people."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def parse_body(raw: bytes) -> Dict[str, Any]:
    """The JSON object in a request body; raises RequestError when there is none."""
    if len(raw) > MAX_BODY_BYTES:
        raise RequestError("body_too_large", f"the body is over {MAX_BODY_BYTES} bytes", 413)
    try:
        body = json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as error:
        raise RequestError("invalid_json", f"the body is not JSON: {error.msg}") from None
    except RecursionError:
        raise RequestError("too_deep", "the body nests arrays or objects too deeply") from None
    if _depth(body) > MAX_DEPTH:  # Rasa would store and re-serialise it with every event
        raise RequestError("too_deep", f"the body nests arrays or objects deeper than {MAX_DEPTH} levels")
    if not isinstance(body, dict):
        raise RequestError("invalid_body", "the body must be a JSON object")
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > 128:
        raise RequestError("invalid_sender", "'sender' must be a non-empty string of at most 128 characters")
    if not reachable_over_rest(sender):
        raise RequestError("sender_reserved", "this conversation belongs to a widget or WeChat identity; "
                           "the REST channel cannot reach it", 403)
    message = body.get("message")
    if message is None:
        body["message"] = ""
    elif not isinstance(message, str):
        raise RequestError("invalid_message", "'message' must be a string")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise RequestError("invalid_metadata", "'metadata' must be a JSON object")
    return body


def _depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep arrays and objects nest in a parsed JSON value (counting stops past `limit`)."""
    if limit < 0 or not isinstance(value, (dict, list)):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


def authorised(request: Request, token: Optional[str]) -> bool:
    """True when the request carries the API token, as a bearer header or `?token=`."""
    if not token:
        return False
    given = request.args.get("token") or ""
    header = request.headers.get("authorization") or ""
    if header.lower().startswith("bearer "):
        given = header[7:].strip()
    return hmac.compare_digest(given.encode(), token.encode())


class RestChannel(RestInput):
    """POST /webhooks/rest/webhook {"sender": ..., "message": ...} -> the bot's replies."""

    def __init__(self, token: Optional[str] = None) -> None:
        self.token = token

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "RestChannel":
        """The token is Rasa's API token, RASA_AUTH_TOKEN (never from a file in the repo)."""
        return cls(current().auth_token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        hook = Blueprint("renben_rest", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not authorised(request, self.token):
                return response.json({"error": {"code": "unauthorised", "message":
                                                "the REST channel needs the API token (Authorization: Bearer ...)"}},
                                     status=401)
            try:
                body = parse_body(request.body or b"")
            except RequestError as error:
                return response.json({"error": {"code": error.code, "message": error.message}},
                                     status=error.status)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(body["message"], collector, body["sender"], input_channel=self.name(),
                                metadata=body.get("metadata"))
                )
            except Exception:  # the claimant gets a typed error, the log gets the cause
                logger.exception("rest channel: handling a message failed")
                return response.json(
                    {"error": {"code": "unavailable", "message": "the message could not be handled; try again"}},
                    status=503,
                )
            return response.json(collector.messages)

        return hook
