"""The widget's wire protocol, without I/O (docs/widget-protocol.md).

Frames are JSON objects in WebSocket text frames. The channel (`channel.py`) feeds each received
frame to `parse_frame`, asks `dedupe_action` what to do with a client message given its state in
Redis, meters frames with `take_token`, and sends what the `*_frame` builders return through
`encode`. Nothing here touches a socket, Redis or a clock: time and state are arguments.

Client -> server: hello, message, ack, resend.
Server -> client: session, ack, bot, export, agent_message, agent_joined, agent_left, typing,
queue_position, bot_resumed, notice, error.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from bot.channels.web.exceptions import (BinaryFrame, ConfigError, FrameTooLarge, HelloRequired,
                                         InvalidJson, InvalidShape, RateLimited, UnknownType)
from core.language_codes import LANGUAGES

#: Largest client frame accepted, in UTF-8 bytes. Larger frames get error `frame_too_large`.
MAX_FRAME_BYTES = 16 * 1024
#: Longest message text, in characters. Longer texts get error `invalid_message`.
MAX_TEXT_CHARS = 2000
#: A client message id: 1-64 of A-Z a-z 0-9 _ - (the widget uses random base-36 strings).
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: A server sequence number: a Redis stream id ("<ms>-<n>").
SEQ = re.compile(r"^\d{1,20}-\d{1,20}$")
TOKEN_VERSION = "v1"
CONVERSATION_PREFIX = "web-"


# --- client frames ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Hello:
    """Opens (or resumes) a session. `token` None: a new session. `last_seq` None: the page was
    (re)loaded and wants the conversation's history; otherwise the server replays its messages
    after `last_seq`."""

    token: Optional[str]
    language: str
    last_seq: Optional[str]


@dataclass(frozen=True)
class Message:
    """A claimant message. `resend` is true when the widget sends it again after a reconnect."""

    id: str
    text: str
    resend: bool = False
    language: Optional[str] = None


@dataclass(frozen=True)
class Ack:
    """The widget has every server message up to and including `seq`."""

    seq: str


@dataclass(frozen=True)
class Resend:
    """Send again every server message after `after` (None: everything kept)."""

    after: Optional[str]


ClientFrame = Union[Hello, Message, Ack, Resend]


def parse_frame(data: Union[str, bytes], *, in_session: bool = True) -> ClientFrame:
    """The client frame in one WebSocket message; raises a FrameRejected subclass.

    `in_session` False: the connection has no session yet and only `hello` is accepted."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raise BinaryFrame("binary frames are not accepted: send JSON text frames")
    if len(data) > MAX_FRAME_BYTES or len(data.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"a frame may be at most {MAX_FRAME_BYTES} bytes")
    try:
        body = json.loads(data)
    except (json.JSONDecodeError, RecursionError) as error:
        raise InvalidJson(f"the frame is not JSON: {getattr(error, 'msg', 'too deeply nested')}") from None
    if not isinstance(body, dict):
        raise InvalidJson("the frame must be a JSON object")
    kind = body.get("type")
    message_id = body.get("id") if isinstance(body.get("id"), str) and MESSAGE_ID.match(body["id"]) else None
    if not in_session and kind != "hello":
        raise HelloRequired("send hello first", message_id=message_id)
    if kind == "hello":
        return Hello(token=_optional_str(body, "token", 512), language=_language(body.get("language")) or "zh",
                     last_seq=_optional_seq(body, "last_seq"))
    if kind == "message":
        if message_id is None:
            raise InvalidShape("'id' must be 1-64 characters of A-Z a-z 0-9 _ -")
        text = body.get("text")
        if not isinstance(text, str):
            raise InvalidShape("'text' must be a string", message_id=message_id)
        if not text.strip():
            raise InvalidShape("'text' is empty", message_id=message_id)
        if len(text) > MAX_TEXT_CHARS:
            raise InvalidShape(f"'text' may be at most {MAX_TEXT_CHARS} characters", message_id=message_id)
        resend = body.get("resend", False)
        if not isinstance(resend, bool):
            raise InvalidShape("'resend' must be true or false", message_id=message_id)
        return Message(id=message_id, text=text, resend=resend, language=_language(body.get("language")))
    if kind == "ack":
        seq = _optional_seq(body, "seq")
        if seq is None:
            raise InvalidShape("'seq' must be a server sequence number")
        return Ack(seq=seq)
    if kind == "resend":
        return Resend(after=_optional_seq(body, "after"))
    raise UnknownType(f"unknown type {kind!r}: expected hello, message, ack or resend", message_id=message_id)


def _optional_str(body: Mapping[str, Any], name: str, limit: int) -> Optional[str]:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidShape(f"'{name}' must be a string of at most {limit} characters")
    return value


def _optional_seq(body: Mapping[str, Any], name: str) -> Optional[str]:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not SEQ.match(value):
        raise InvalidShape(f"'{name}' must be a server sequence number such as \"1700000000000-0\"")
    return value


def _language(value: Any) -> Optional[str]:
    return value if value in LANGUAGES else None


# --- server frames ---------------------------------------------------------------------------

def encode(frame: Mapping[str, Any]) -> str:
    """The text to send for a server frame."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def ack_frame(message_id: str, *, duplicate: bool = False) -> Dict[str, Any]:
    return {"type": "ack", "id": message_id, "duplicate": duplicate}


def error_frame(code: str, message: str, *, message_id: Optional[str] = None,
                retry_after: Optional[float] = None) -> Dict[str, Any]:
    frame: Dict[str, Any] = {"type": "error", "code": code, "message": message}
    if message_id:
        frame["id"] = message_id
    if retry_after is not None:
        frame["retry_after"] = round(retry_after, 2)
    return frame


#: Notices the channel itself gives, by code, in each language.
NOTICES: Dict[str, Dict[str, str]] = {
    "session_new": {
        "zh": "已开始新的对话。",
        "en": "A new conversation has started.",
    },
    "session_unknown": {
        "zh": "我们找不到您之前的对话(可能已过期或无效),已为您开始新的对话。之前的内容不会显示在这里。",
        "en": "We could not find your earlier conversation (it may have expired or be invalid), "
              "so a new one has started. Earlier messages are not shown here.",
    },
    "session_restored": {
        "zh": "已恢复您之前的对话。",
        "en": "Your earlier conversation has been restored.",
    },
    "unavailable": {
        "zh": "系统暂时无法处理您的消息,我们会自动重试,请稍候。",
        "en": "We could not handle your message just now. It will be sent again automatically; please wait.",
    },
    "not_answered": {
        "zh": "抱歉,刚才这条消息没能得到回答,请您再发送一次。",
        "en": "Sorry, your last message could not be answered just now. Please send it again.",
    },
    "slow_down": {
        "zh": "您发送得太快了,请稍等几秒再发。",
        "en": "You are sending messages very quickly. Please wait a few seconds before sending more.",
    },
}


def notice_frame(code: str, language: str, *, text: Optional[str] = None) -> Dict[str, Any]:
    """A notice for the claimant; `text` None: the channel's own text for `code` in `language`."""
    if text is None:
        text = NOTICES[code]["en" if language == "en" else "zh"]
    return {"type": "notice", "code": code, "text": text}


def session_frame(*, token: str, conversation_id: str, language: str, restored: bool,
                  history: List[Dict[str, Any]], last_seq: Optional[str],
                  retention_days: Union[int, float]) -> Dict[str, Any]:
    """Sent once after every hello. The widget keeps `token`, shows `history` when it asked for it,
    and acknowledges from `last_seq` on."""
    return {"type": "session", "token": token, "conversation_id": conversation_id,
            "language": language, "restored": restored, "history": history,
            "last_seq": last_seq, "retention_days": retention_days}


def bot_frame(text: str, buttons: Iterable[Mapping[str, Any]] = ()) -> Dict[str, Any]:
    """A bot reply, before it gets its `seq` from the conversation's stream."""
    return {"type": "bot", "text": text, "buttons": clean_buttons(buttons)}


#: Largest JSON copy of a conversation sent as one `export` frame (its text copy is always sent).
MAX_EXPORT_BYTES = 2 * 1024 * 1024


def export_frame(payload: Any) -> Optional[Dict[str, Any]]:
    """The claimant's copy of their conversation (`core.privacy.rights.export_payload`) as JSON,
    for the widget to offer as a download; None for any other custom payload, or one too large
    (the readable copy went as a bot message either way)."""
    if not isinstance(payload, Mapping) or payload.get("type") != "data_export" \
            or not isinstance(payload.get("data"), Mapping):
        return None
    data = json.dumps(payload["data"], ensure_ascii=False, indent=1)
    if len(data.encode("utf-8")) > MAX_EXPORT_BYTES:
        return None
    name = payload.get("filename")
    filename = name if isinstance(name, str) and re.fullmatch(r"[\w.\-]{1,80}\.json", name) else "conversation.json"
    return {"type": "export", "filename": filename, "data": data}


def clean_buttons(buttons: Iterable[Mapping[str, Any]]) -> List[Dict[str, str]]:
    """Quick replies as {title, payload} strings; anything else is dropped."""
    cleaned = []
    for button in buttons or ():
        if isinstance(button, Mapping):
            title, payload = button.get("title"), button.get("payload")
            if isinstance(title, str) and title and isinstance(payload, str) and payload:
                cleaned.append({"title": title[:200], "payload": payload[:MAX_TEXT_CHARS]})
    return cleaned


#: Outbox entry types (docs/claimant-outbox.md) and the fields each carries to the widget.
OUTBOX_TYPES: Dict[str, Tuple[str, ...]] = {
    "agent_message": ("text", "agent_name"),
    "agent_joined": ("agent_name", "text"),
    "agent_left": ("agent_name", "text"),
    "typing": (),
    "queue_position": ("position", "estimate_seconds", "text"),
    "bot_resumed": ("text",),
    "notice": ("text",),
    "question": ("text", "buttons"),  # sent to the widget as a `bot` frame with quick replies
}


def outbox_frame(entry: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The frame for one desk outbox entry, or None when the entry is not one to show.

    Only the documented fields pass, each of its documented type: the desk's internal fields
    (agent ids) never reach the claimant."""
    kind = entry.get("type")
    if kind not in OUTBOX_TYPES or not isinstance(entry.get("conversation_id"), str):
        return None
    if kind == "question":  # the desk's question with quick replies (a satisfaction rating)
        text, buttons = entry.get("text"), clean_buttons(entry.get("buttons") or [])
        return bot_frame(text[:4 * MAX_TEXT_CHARS], buttons) if isinstance(text, str) and text and buttons else None
    frame: Dict[str, Any] = {"type": kind}
    for name in OUTBOX_TYPES[kind]:
        value = entry.get(name)
        if name in ("position", "estimate_seconds"):
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                frame[name] = int(value)
            elif name == "estimate_seconds":
                frame[name] = None
        elif isinstance(value, str) and value:
            frame[name] = value[:4 * MAX_TEXT_CHARS]
    if kind in ("agent_message", "bot_resumed", "notice") and "text" not in frame:
        return None
    if kind == "queue_position" and "position" not in frame:
        return None
    if kind == "notice":
        frame["code"] = "desk"
    return frame


#: Server frames that are kept in the conversation's stream and carry a `seq`; the rest
#: (ack, error, session, and notices about the connection itself) are sent once.
SEQUENCED_TYPES = frozenset({"bot", "export", *OUTBOX_TYPES})


# --- history ---------------------------------------------------------------------------------

def history_from_events(events: Iterable[Mapping[str, Any]], *, limit: int = 200) -> List[Dict[str, Any]]:
    """The conversation so far, from tracker events (Rasa's JSON form), oldest first.

    Each item is {"role": "user" | "bot" | "agent", "text", "at", "buttons"?, "id"?}; the last
    `limit` items are kept. Bot events whose metadata names an agent are the agent's words."""
    items: List[Dict[str, Any]] = []
    for event in events:
        kind, text = event.get("event"), event.get("text")
        if kind not in ("user", "bot") or not isinstance(text, str) or not text:
            continue
        metadata = event.get("metadata") or {}
        item: Dict[str, Any] = {"role": kind, "text": text, "at": event.get("timestamp")}
        if kind == "user":
            if isinstance(metadata.get("client_message_id"), str):
                item["id"] = metadata["client_message_id"]
        else:
            if metadata.get("agent_id") or metadata.get("agent_name"):
                item["role"] = "agent"
                if isinstance(metadata.get("agent_name"), str):
                    item["agent_name"] = metadata["agent_name"]
            buttons = clean_buttons((event.get("data") or {}).get("buttons") or [])
            if buttons:
                item["buttons"] = buttons
        items.append(item)
    return items[-limit:] if limit else items


def committed_ids(events: Iterable[Mapping[str, Any]]) -> set:
    """Client message ids of the user events in a tracker: the messages already committed."""
    return {
        (event.get("metadata") or {}).get("client_message_id")
        for event in events
        if event.get("event") == "user" and (event.get("metadata") or {}).get("client_message_id")
    }


# --- dedupe ----------------------------------------------------------------------------------

class DedupeAction(Enum):
    """What to do with a client message, given the state its claim found in Redis (see
    core/redis_keys.py WEB_MESSAGE_STATE; delivery.Store.claim claims a message that has none)."""

    PROCESS = "process"  # new (and now claimed): hand it to the bot
    ACK_DUPLICATE = "ack_duplicate"  # committed before: acknowledge again, do not process
    WAIT = "wait"  # being handled now (here or in another process): wait until done, then ack
    CHECK_TRACKER = "check_tracker"  # a resend with no state (now claimed): committed iff the tracker has its id


def dedupe_action(state: Optional[str], *, resend: bool) -> DedupeAction:
    """`state` is the message's Redis value (None, "pending:<instance>" or "done").

    A resend whose state is gone may have been committed by a process that died before writing
    "done" (or whose pending lease expired), so the tracker decides."""
    if state == "done":
        return DedupeAction.ACK_DUPLICATE
    if state is not None and state.startswith("pending:"):
        return DedupeAction.WAIT
    return DedupeAction.CHECK_TRACKER if resend else DedupeAction.PROCESS


# --- session tokens --------------------------------------------------------------------------

class SessionTokens:
    """Issues and checks session tokens: "v1.<session id>.<HMAC-SHA256 signature>".

    The session id is 128 random bits; the conversation id is "web-<session id>". A token whose
    signature does not match (forged, or signed with another secret) is refused in constant time.
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ConfigError("the web session secret must be at least 16 bytes")
        self._secret = secret

    def _sign(self, session_id: str) -> str:
        digest = hmac.new(self._secret, f"{TOKEN_VERSION}.{session_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self) -> Tuple[str, str]:
        """A new (token, session id)."""
        session_id = secrets.token_urlsafe(16)
        return f"{TOKEN_VERSION}.{session_id}.{self._sign(session_id)}", session_id

    def verify(self, token: Optional[str]) -> Optional[str]:
        """The session id `token` was issued for, or None when it is not one of ours."""
        if not token or len(token) > 200:
            return None
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_VERSION or not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", parts[1]):
            return None
        if not hmac.compare_digest(self._sign(parts[1]).encode(), parts[2].encode()):
            return None
        return parts[1]


def conversation_id(session_id: str) -> str:
    return CONVERSATION_PREFIX + session_id


# --- rate limit ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bucket:
    """A token bucket's state: `tokens` left at time `at` (seconds, any monotonic clock)."""

    tokens: float
    at: float


@dataclass(frozen=True)
class RateLimit:
    """`capacity` frames at once, refilled at `per_second`."""

    capacity: float = 20.0
    per_second: float = 1.0

    def full(self, now: float) -> Bucket:
        return Bucket(self.capacity, now)


def take_token(limit: RateLimit, bucket: Bucket, now: float, cost: float = 1.0) -> Tuple[Bucket, float]:
    """The bucket after taking `cost` at `now`, and 0.0; or, when there is not enough, the bucket
    refilled to `now` (nothing taken) and the seconds until there would be."""
    elapsed = max(0.0, now - bucket.at)
    tokens = min(limit.capacity, bucket.tokens + elapsed * limit.per_second)
    if tokens >= cost:
        return Bucket(tokens - cost, now), 0.0
    wait = (cost - tokens) / limit.per_second if limit.per_second > 0 else float("inf")
    return Bucket(tokens, now), wait


def check_rate(limit: RateLimit, bucket: Bucket, now: float, *, message_id: Optional[str] = None) -> Bucket:
    """The bucket after one frame; raises RateLimited (carrying the unchanged bucket's wait)."""
    after, wait = take_token(limit, bucket, now)
    if wait:
        raise RateLimited(f"too many frames: wait {wait:.1f} s", retry_after=wait, message_id=message_id)
    return after
