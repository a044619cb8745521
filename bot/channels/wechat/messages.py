"""Inbound WeChat XML messages and passive reply XML. Pure functions: no I/O.

`parse_message(body)` reads what WeChat POSTs (plaintext mode, or the XML opened by
crypto.MessageCrypto in safe mode) into an `Inbound`; the caller then looks at `kind`:

    text      `text` is the claimant's words
    voice     `text` is WeChat's speech recognition, or None (ask the claimant to type)
    subscribe / unsubscribe / event   follow, unfollow, any other event (menu click, scan ...)
    image, video, shortvideo, location, link   media the bot cannot read
    unknown   any other MsgType: answer politely, never fail

XML is parsed with defusedxml: a DTD, an entity declaration or an external reference raises
XmlRejected before anything is expanded; anything else that is not a WeChat message raises
MessageError.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional
from xml.etree.ElementTree import ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from bot.channels.wechat.constants import MAX_BODY_BYTES
from bot.channels.wechat.exceptions import MessageError, XmlRejected

MEDIA_KINDS = ("image", "video", "shortvideo", "location", "link")
EVENT_KINDS = ("subscribe", "unsubscribe", "event")


@dataclass(frozen=True)
class Inbound:
    kind: str
    from_user: str  # the claimant's OpenID
    to_user: str  # the Official Account's original id (gh_...)
    create_time: int
    msg_type: str
    msg_id: Optional[str] = None
    text: Optional[str] = None
    event: Optional[str] = None
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        """MsgId for messages; FromUserName + CreateTime for events (which have no MsgId)."""
        if self.msg_id:
            return self.msg_id
        return f"event:{self.from_user}:{self.create_time}"


def parse_xml(body: bytes | str) -> Dict[str, str]:
    """The child elements of the root `<xml>` as name -> text. Raises XmlRejected, MessageError."""
    if len(body) > MAX_BODY_BYTES:
        raise MessageError(f"the body is over {MAX_BODY_BYTES} bytes")
    if not body or not body.strip():
        raise MessageError("the body is empty")
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden,
            defusedxml.ExternalReferenceForbidden, defusedxml.NotSupportedError) as error:
        raise XmlRejected(f"XML with a DTD, entity or external reference is refused: {type(error).__name__}") from None
    except (ParseError, ValueError) as error:
        raise MessageError(f"the body is not XML: {error}") from None
    if root.tag != "xml":
        raise MessageError(f"the root element must be <xml>, not <{root.tag}>")
    return {child.tag: (child.text or "") for child in root}


def parse_message(body: bytes | str) -> Inbound:
    """The message in a plaintext body. Raises XmlRejected or MessageError."""
    return message_from_fields(parse_xml(body))


def message_from_fields(fields: Mapping[str, str]) -> Inbound:
    """An Inbound from parsed fields. Raises MessageError when a required field is missing."""
    missing = [name for name in ("FromUserName", "ToUserName", "MsgType") if not fields.get(name, "").strip()]
    if missing:
        raise MessageError(f"missing {', '.join(missing)}")
    try:
        create_time = int(fields.get("CreateTime", "").strip() or 0)
    except ValueError:
        raise MessageError("CreateTime is not a number") from None
    msg_type = fields["MsgType"].strip().lower()
    base = dict(from_user=fields["FromUserName"].strip(), to_user=fields["ToUserName"].strip(),
                create_time=create_time, msg_type=msg_type,
                msg_id=(fields.get("MsgId") or "").strip() or None, fields=dict(fields))
    if msg_type == "text":
        return Inbound(kind="text", text=fields.get("Content", ""), **base)
    if msg_type == "voice":
        recognition = (fields.get("Recognition") or "").strip()
        return Inbound(kind="voice", text=recognition or None, **base)
    if msg_type == "event":
        event = (fields.get("Event") or "").strip()
        kind = event.lower() if event.lower() in ("subscribe", "unsubscribe") else "event"
        return Inbound(kind=kind, event=event, **base)
    if msg_type in MEDIA_KINDS:
        return Inbound(kind=msg_type, **base)
    return Inbound(kind="unknown", **base)


def _cdata(text: str) -> str:
    # "]]>" would end the section early: split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(inbound: Inbound, content: str, *, now: Optional[int] = None) -> str:
    """The passive reply XML carrying `content` to the claimant who sent `inbound`.

    Keep `content` within constants.TEXT_LIMIT_BYTES (render.split_text); in safe mode, seal
    the result with crypto.MessageCrypto.encrypt_reply before answering."""
    created = int(time.time()) if now is None else now
    return ("<xml>"
            f"<ToUserName>{_cdata(inbound.from_user)}</ToUserName>"
            f"<FromUserName>{_cdata(inbound.to_user)}</FromUserName>"
            f"<CreateTime>{created}</CreateTime>"
            "<MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{_cdata(content)}</Content>"
            "</xml>")
