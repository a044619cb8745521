"""Agent accounts for the desk: a thin layer over the project's one access store
(`core.privacy.access`), so that desk logins, roles, revocation and the audit log are the same
everywhere (docs/privacy.md).

A token is shown once by `add_agent` (or `python -m core.privacy add-user`); Redis keeps only a
salted hash of it, and `revoke` ends it at once. Trainers have accounts in the same store but may
not log in to the desk: they see only the redacted review inbox. Errors of the access store come
out as the desk's own (handoff/exceptions.py).
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence

import redis

from core.privacy import access
from core.privacy import exceptions as privacy_errors
from core import redis_keys as k
from handoff.exceptions import AuthenticationFailed, InvalidRequest, QueueUnavailable
from handoff.tickets import check_agent_id, check_capacity, check_language

#: The roles that may use the desk; `trainer` accounts exist but are refused here.
ROLES = ("agent", "supervisor")
#: An authenticated desk user: `agent_id`, `languages`, `role`, `name`, `is_supervisor`, `may()`.
Account = access.Principal


@contextmanager
def _as_desk_errors() -> Iterator[None]:
    try:
        yield
    except privacy_errors.AuthenticationFailed as error:
        raise AuthenticationFailed(str(error)) from None
    except privacy_errors.InvalidRequest as error:
        raise InvalidRequest(str(error)) from None
    except privacy_errors.StoreUnavailable as error:
        raise QueueUnavailable(str(error)) from None


def add_agent(client: "redis.Redis[str]", agent_id: str, *, languages: Sequence[str],
              role: str = "agent", name: str = "", capacity: Optional[int] = None,
              mirror: Optional[Path] = None) -> str:
    """Creates the account, or replaces it and ends its earlier tokens. Returns the new token.
    `capacity`: the most tickets they may hold at once (None: the desk's default)."""
    check_agent_id(agent_id)
    if capacity is not None:
        check_capacity(capacity)
    languages = tuple(check_language(language.strip()) for language in languages if language.strip())
    if not languages:
        raise InvalidRequest("an agent needs at least one language")
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {ROLES}, not {role!r}")
    with _as_desk_errors():
        token = access.add_user(client, agent_id, role=role, languages=languages, name=name,
                                by="handoff add-agent", mirror=mirror)
    set_capacity(client, agent_id, capacity)
    return token


def set_capacity(client: "redis.Redis[str]", agent_id: str, capacity: Optional[int]) -> None:
    """The most tickets the agent may hold at once (1 to tickets.MAX_CAPACITY); None: the desk's
    default (DESK_DEFAULT_CAPACITY). Takes effect at their next claim; tickets held are kept."""
    check_agent_id(agent_id)
    try:
        if capacity is None:
            client.hdel(k.AGENT_CAPACITY, agent_id)
        else:
            client.hset(k.AGENT_CAPACITY, agent_id, check_capacity(capacity))
    except redis.RedisError as error:
        raise QueueUnavailable(f"Redis: {error}") from error


def account(client: "redis.Redis[str]", agent_id: str) -> Optional[Account]:
    """The desk account `agent_id`, or None (no such account, or not a desk role)."""
    with _as_desk_errors():
        stored = access.users(client).get(agent_id)
    if not stored or stored.get("role") not in ROLES:
        return None
    return Account(agent_id, stored["role"], tuple(stored.get("languages") or ()), stored.get("name", ""))


def authenticate(client: "redis.Redis[str]", token: str) -> Account:
    """The account of this token; raises AuthenticationFailed (unknown, revoked, or a role that
    may not use the desk)."""
    with _as_desk_errors():
        principal = access.authenticate(client, token)
    if principal.role not in ROLES:
        raise AuthenticationFailed(f"a {principal.role} account may not use the agent desk")
    return principal


def revoke(client: "redis.Redis[str]", agent_id: str, *, mirror: Optional[Path] = None) -> int:
    """Ends every token of the agent and removes the account; returns how many tokens ended."""
    with _as_desk_errors():
        ended = access.revoke_user(client, agent_id, by="handoff revoke-agent", mirror=mirror)
    set_capacity(client, agent_id, None)
    return ended
