"""Which channel identity owns a conversation, and who may act on it.

A widget conversation (`web-…`) belongs to the holder of its signed session token and is reached
only through the web channel; a WeChat conversation (`wx-<OpenID>`) belongs to that OpenID and is
reached only through a correctly signed WeChat request, i.e. the `wechat` channel. Any other id
was made by an integration over the REST channel or the HTTP API, both behind the API token.
"""

from __future__ import annotations

import hashlib
from typing import Optional

#: Rasa conversation ids of WeChat claimants are this prefix + OpenID.
WECHAT_CONVERSATION_PREFIX = "wx-"
#: Conversation id prefix -> the only input channel that can prove that identity.
OWNING_CHANNELS = {"web-": "web", WECHAT_CONVERSATION_PREFIX: "wechat"}


def wechat_conversation_id(openid: str) -> str:
    return WECHAT_CONVERSATION_PREFIX + openid


def openid_of(conversation_id: str) -> Optional[str]:
    """The OpenID of a WeChat conversation id, None for another channel's id."""
    prefix = WECHAT_CONVERSATION_PREFIX
    if conversation_id.startswith(prefix) and len(conversation_id) > len(prefix):
        return conversation_id[len(prefix) :]
    return None


def conversation_ref(conversation_id: str) -> str:
    """A stable, non-identifying name for a conversation in files trainers see (the review inbox)."""
    return "c-" + hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:10]


def owning_channel(conversation_id: str) -> Optional[str]:
    """The channel that owns this conversation id, or None for an integration's id."""
    for prefix, channel in OWNING_CHANNELS.items():
        if conversation_id.startswith(prefix):
            return channel
    return None


def reachable_over_rest(conversation_id: str) -> bool:
    """False for ids a channel identity owns: the REST channel may never address them."""
    return owning_channel(conversation_id.strip()) is None


def verified(conversation_id: str, input_channel: Optional[str]) -> bool:
    """True when a message that came in on `input_channel` speaks for this conversation's owner.

    Data-rights actions (copy, erase, correct) run only when this holds for the latest message."""
    owner = owning_channel(conversation_id)
    if owner is None:
        return input_channel not in OWNING_CHANNELS.values()
    return input_channel == owner
