"""Bot replies as WeChat text: joined, split to WeChat's length limit, buttons as numbered options.

WeChat shows plain text only and allows one passive reply per message, while every
customer-service message counts against a small quota (5 per claimant message since 2023):
so all of a turn's bot messages are joined into as few texts as the limit allows. Buttons become
"1. ..." lines; `Options` keeps the payloads per claimant in Redis (with expiry) so that a reply
"1" (or "１", "①") is sent to Rasa as the first button's payload.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional

from core.redis_keys import WECHAT_OPTIONS as OPTIONS
from bot.channels.wechat.constants import OPTIONS_TTL, TEXT_LIMIT_BYTES

# Characters XML 1.0 cannot carry: a reply containing one is refused by WeChat.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BREAKS = ("\n\n", "\n", "。", "！", "？", "；", ". ", "! ", "? ", "; ", "，", ", ", " ")


@dataclass(frozen=True)
class Rendered:
    texts: List[str]  # each within the byte limit, in order
    options: Dict[str, str] = field(default_factory=dict)  # "1" -> payload


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> List[str]:
    """`text` in parts of at most `limit` UTF-8 bytes, cut at a paragraph, line, sentence or
    word boundary where one falls in the second half of a part, else between characters."""
    text = _NOT_XML.sub("", text).strip()
    parts: List[str] = []
    while text:
        if _size(text) <= limit:
            parts.append(text)
            break
        # the longest prefix within the limit, in characters
        cut, used = 0, 0
        for ch in text:
            used += _size(ch)
            if used > limit:
                break
            cut += 1
        head = text[:cut]
        best = -1
        for mark in _BREAKS:
            at = head.rfind(mark)
            if at >= cut // 2:
                best = at + len(mark.rstrip()) if mark.strip() else at
                break
        if best > 0:
            cut = best
        parts.append(text[:cut].rstrip())
        text = text[cut:].strip()
    return [part for part in parts if part]


def render(messages: Iterable[Mapping[str, Any]], *, limit: int = TEXT_LIMIT_BYTES) -> Rendered:
    """Rasa's bot messages (CollectingOutputChannel form) as WeChat texts and numbered options."""
    blocks: List[str] = []
    options: Dict[str, str] = {}
    for message in messages:
        lines = []
        text = message.get("text")
        if isinstance(text, str) and text.strip():
            lines.append(text.strip())
        for extra in ("image", "attachment"):
            if isinstance(message.get(extra), str) and message[extra].strip():
                lines.append(message[extra].strip())
        for button in message.get("buttons") or message.get("quick_replies") or []:
            if not isinstance(button, Mapping):
                continue
            title = str(button.get("title") or button.get("payload") or "").strip()
            payload = str(button.get("payload") or title).strip()
            if not title:
                continue
            number = str(len(options) + 1)
            options[number] = payload
            lines.append(f"{number}. {title}")
        if lines:
            blocks.append("\n".join(lines))
    return Rendered(split_text("\n\n".join(blocks), limit), options)


def chosen_option(text: str, options: Mapping[str, str]) -> Optional[str]:
    """The payload of the option the claimant answered with a number, else None.

    Full-width and circled digits count ("１", "①"), and "1." or "1、" too."""
    folded = unicodedata.normalize("NFKC", text or "").strip().rstrip(".。、)）").strip()
    return options.get(folded) if folded.isdigit() else None


class Options:
    """The numbered options last shown to each claimant, in Redis (asyncio client)."""

    def __init__(self, redis: Any, *, ttl: int = OPTIONS_TTL) -> None:
        self.redis, self.ttl = redis, ttl

    async def remember(self, openid: str, options: Mapping[str, str]) -> None:
        """Keeps `options` for the claimant; an empty mapping forgets the previous ones, so a
        digit after a reply without buttons is read as the claimant's own words."""
        if options:
            await self.redis.set(OPTIONS + openid, json.dumps(dict(options), ensure_ascii=False), ex=self.ttl)
        else:
            await self.redis.delete(OPTIONS + openid)

    async def resolve(self, openid: str, text: str) -> Optional[str]:
        """The payload for a digit reply, or None when `text` is not one of the options."""
        if not unicodedata.normalize("NFKC", text or "").strip().rstrip(".。、)）").strip().isdigit():
            return None
        raw = await self.redis.get(OPTIONS + openid)
        if not raw:
            return None
        try:
            options = json.loads(raw)
        except ValueError:
            return None
        return chosen_option(text, options) if isinstance(options, dict) else None
