"""The language each claimant was last answered in, for the answers the gateway gives without
the bot (media, please type, slow down): written by the Rasa side from the tracker's `language`
slot after every turn, read by the gateway. A claimant the bot has not met has none (the gateway
then answers in Chinese and English)."""
from __future__ import annotations

from typing import Any, Optional

from core.redis_keys import WECHAT_LANGUAGE as LANGUAGE
from bot.channels.wechat.constants import LANGUAGE_TTL
from core.language_codes import LANGUAGES


class ClaimantLanguages:
    def __init__(self, redis: Any, *, ttl: int = LANGUAGE_TTL) -> None:
        self.redis, self.ttl = redis, ttl

    async def remember(self, openid: str, language: Optional[str]) -> None:
        if language in LANGUAGES:
            await self.redis.set(LANGUAGE + openid, language, ex=self.ttl)

    async def of(self, openid: str) -> Optional[str]:
        language = await self.redis.get(LANGUAGE + openid)
        return language if language in LANGUAGES else None
