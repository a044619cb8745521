"""Agent accounts: who may log in to the console, with which languages and role.

Tokens are random (32 bytes, URL-safe) and stored only as their SHA-256: high-entropy secrets
need no slow hash, and a leaked Redis dump does not let anyone log in. `add_agent` returns the
token once; print it and forget it.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import redis

from handoff import constants as k
from handoff.exceptions import AuthenticationFailed, InvalidRequest
from handoff.tickets import check_agent_id, check_language

ROLES = ("agent", "supervisor")


@dataclass(frozen=True)
class Account:
    agent_id: str
    languages: Tuple[str, ...]
    role: str = "agent"
    name: str = ""

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_agent(client: "redis.Redis[str]", agent_id: str, *, languages: Sequence[str],
              role: str = "agent", name: str = "") -> str:
    """Creates the account, or replaces it and its token. Returns the new token."""
    check_agent_id(agent_id)
    languages = tuple(check_language(language.strip()) for language in languages if language.strip())
    if not languages:
        raise InvalidRequest("an agent needs at least one language")
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {ROLES}, not {role!r}")
    token = secrets.token_urlsafe(32)
    old = client.hget(k.AGENT_ACCOUNTS, agent_id)
    pipe = client.pipeline(transaction=True)
    if old:
        pipe.hdel(k.AGENT_TOKENS, json.loads(old)["token_hash"])
    pipe.hset(k.AGENT_ACCOUNTS, agent_id, json.dumps({"languages": list(languages), "role": role,
                                                      "name": name or agent_id,
                                                      "token_hash": token_hash(token)}))
    pipe.hset(k.AGENT_TOKENS, token_hash(token), agent_id)
    pipe.execute()
    return token


def account(client: "redis.Redis[str]", agent_id: str) -> Optional[Account]:
    stored = client.hget(k.AGENT_ACCOUNTS, agent_id)
    if not stored:
        return None
    data = json.loads(stored)
    return Account(agent_id, tuple(data["languages"]), data.get("role", "agent"), data.get("name", ""))


def authenticate(client: "redis.Redis[str]", token: str) -> Account:
    """The account of this token; raises AuthenticationFailed."""
    agent_id = client.hget(k.AGENT_TOKENS, token_hash(token)) if isinstance(token, str) else None
    found = account(client, agent_id) if agent_id else None
    if found is None:
        raise AuthenticationFailed("unknown token")
    return found
