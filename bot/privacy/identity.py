"""Which channel identity owns a conversation, and who may act on it.

A widget conversation (`web-…`) belongs to the holder of its signed session token and is reached
only through the web channel; a WeChat conversation (`wx-<OpenID>`) belongs to that OpenID and is
reached only through a correctly signed WeChat request, i.e. the `wechat` channel. Any other id
was made by an integration over the REST channel or the HTTP API, both behind the API token.
"""
from __future__ import annotations

from typing import Optional

#: Conversation id prefix -> the only input channel that can prove that identity.
OWNING_CHANNELS = {"web-": "web", "wx-": "wechat"}


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
