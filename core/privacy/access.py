"""Who may see what: roles, tokens (stored salted and hashed, revocable), queue languages, and the
audit of every transcript read.

Roles:
    agent       the queues and transcripts of their own languages; may reveal a masked identifier
    supervisor  every queue and transcript; may reveal; may read and export the audit log
    trainer     the redacted review inbox only: no queue, no transcript, no reveal

A token is `<token id>.<secret>`, given once by `issue_token` (or `add_user`) and never stored:
Redis keeps the token id, a random salt and SHA-256(salt + secret). A leaked Redis dump lets no
one log in; `revoke_token`/`revoke_user` end a token at once (the next `authenticate` fails).

The desk uses it so (the `Principal` has the attributes of `handoff.agents.Account`):

    principal = access.authenticate(redis, token)                 # AuthenticationFailed -> 4001
    access.can_see_queue(principal, "zh")                         # filter queues shown
    access.open_transcript(redis, principal, conversation_id, language, mirror=path)
                                                                  # Forbidden, or audited: show it
    access.reveal(redis, principal, conversation_id, field, mirror=path)  # Forbidden, or audited
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

import redis

from core import redis_keys
from core.privacy import audit
from core.privacy.exceptions import AuthenticationFailed, Forbidden, InvalidRequest, StoreUnavailable

ROLES = ("agent", "supervisor", "trainer")
PERMISSIONS: Dict[str, FrozenSet[str]] = {
    "agent": frozenset({"queue", "transcript", "reveal"}),
    "supervisor": frozenset({"queue", "transcript", "reveal", "all_languages", "audit"}),
    "trainer": frozenset({"review"}),
}
_USER_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_TOKEN = re.compile(r"([0-9a-f]{16})\.([A-Za-z0-9_\-]{20,100})")


@dataclass(frozen=True)
class Principal:
    """An authenticated user. Same attributes as handoff.agents.Account (agent_id, languages,
    role, name, is_supervisor), so the desk can take either."""

    user_id: str
    role: str
    languages: Tuple[str, ...]
    name: str = ""
    token_id: str = ""

    @property
    def agent_id(self) -> str:
        return self.user_id

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


# ------------------------------------------------------------------------- pure decisions


def can_see_queue(principal: Principal, language: str) -> bool:
    """True when the user may see the queue (and the transcripts) of this language."""
    if not principal.may("queue"):
        return False
    return principal.may("all_languages") or language in principal.languages


def visible_languages(principal: Principal, languages: Sequence[str]) -> List[str]:
    """The languages of `languages` whose queues the user may see, in the given order."""
    return [language for language in languages if can_see_queue(principal, language)]


def check_user(user_id: str, role: str, languages: Sequence[str]) -> Tuple[str, ...]:
    """The cleaned languages; raises InvalidRequest for a bad id, role or language."""
    if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
        raise InvalidRequest("a user id is 1-64 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {ROLES}, not {role!r}")
    cleaned = tuple(dict.fromkeys(language.strip().lower() for language in languages if language.strip()))
    for language in cleaned:
        if not _LANGUAGE.fullmatch(language):
            raise InvalidRequest(f"{language!r} is not a language code (zh, en)")
    if role == "agent" and not cleaned:
        raise InvalidRequest("an agent needs at least one language")
    return cleaned


def hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------- Redis storage


def add_user(
    client: "redis.Redis[Any]",
    user_id: str,
    *,
    role: str,
    languages: Sequence[str] = (),
    name: str = "",
    by: str = "admin",
    mirror: Optional[Path] = None,
) -> str:
    """Creates or replaces the account, revokes its earlier tokens, and returns a new token.
    Print the token once; it cannot be read back."""
    cleaned = check_user(user_id, role, languages)
    account = {"role": role, "languages": list(cleaned), "name": name or user_id, "created": _now()}
    _call(client.hset, redis_keys.ACCESS_USERS, user_id, json.dumps(account, ensure_ascii=False))
    revoke_user(client, user_id, by=by, mirror=mirror, keep_account=True)
    audit.record(
        client,
        audit.make_entry(who=by, role="system", action="user_added", detail=f"{user_id} as {role}"),
        mirror=mirror,
    )
    return issue_token(client, user_id, by=by, mirror=mirror)


def issue_token(client: "redis.Redis[Any]", user_id: str, *, by: str = "admin", mirror: Optional[Path] = None) -> str:
    """A new token for an existing user (they may hold several: one per device)."""
    if _account(client, user_id) is None:
        raise InvalidRequest(f"no user {user_id!r}: add_user first")
    token_id, secret, salt = secrets.token_hex(8), secrets.token_urlsafe(32), secrets.token_hex(16)
    record = {"user": user_id, "salt": salt, "hash": hash_secret(salt, secret), "created": _now()}
    pipe = client.pipeline(transaction=True)
    pipe.hset(redis_keys.ACCESS_TOKENS, token_id, json.dumps(record))
    pipe.sadd(redis_keys.ACCESS_USER_TOKENS + user_id, token_id)
    _call(pipe.execute)
    audit.record(
        client,
        audit.make_entry(who=by, role="system", action="token_issued", detail=f"{token_id} for {user_id}"),
        mirror=mirror,
    )
    return f"{token_id}.{secret}"


def authenticate(client: "redis.Redis[Any]", token: Any) -> Principal:
    """The user of this token. Raises AuthenticationFailed (malformed, unknown or revoked)."""
    match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
    if not match:
        raise AuthenticationFailed("unknown token")
    token_id, secret = match.groups()
    stored = _call(client.hget, redis_keys.ACCESS_TOKENS, token_id)
    if not stored:
        raise AuthenticationFailed("unknown token")
    record = json.loads(stored)
    if not hmac.compare_digest(record["hash"], hash_secret(record["salt"], secret)):
        raise AuthenticationFailed("unknown token")
    account = _account(client, record["user"])
    if account is None:
        raise AuthenticationFailed("unknown token")
    return Principal(record["user"], account["role"], tuple(account["languages"]), account.get("name", ""), token_id)


def revoke_token(
    client: "redis.Redis[Any]", token_id: str, *, by: str = "admin", mirror: Optional[Path] = None
) -> bool:
    """Ends one token; False when there was no such token."""
    stored = _call(client.hget, redis_keys.ACCESS_TOKENS, token_id)
    if not stored:
        return False
    user_id = json.loads(stored)["user"]
    pipe = client.pipeline(transaction=True)
    pipe.hdel(redis_keys.ACCESS_TOKENS, token_id)
    pipe.srem(redis_keys.ACCESS_USER_TOKENS + user_id, token_id)
    _call(pipe.execute)
    audit.record(
        client,
        audit.make_entry(who=by, role="system", action="token_revoked", detail=f"{token_id} of {user_id}"),
        mirror=mirror,
    )
    return True


def revoke_user(
    client: "redis.Redis[Any]",
    user_id: str,
    *,
    by: str = "admin",
    mirror: Optional[Path] = None,
    keep_account: bool = False,
) -> int:
    """Ends every token of the user (and removes the account unless `keep_account`); returns
    how many tokens were ended."""
    token_ids = [_text(t) for t in _call(client.smembers, redis_keys.ACCESS_USER_TOKENS + user_id)]
    for token_id in token_ids:
        revoke_token(client, token_id, by=by, mirror=mirror)
    if not keep_account:
        _call(client.hdel, redis_keys.ACCESS_USERS, user_id)
    return len(token_ids)


def users(client: "redis.Redis[Any]") -> Dict[str, Dict[str, Any]]:
    """Every account (role, languages, name, created), by user id. No secrets."""
    return {_text(key): json.loads(value) for key, value in _call(client.hgetall, redis_keys.ACCESS_USERS).items()}


# ------------------------------------------------------------------- audited operations


def open_transcript(
    client: "redis.Redis[Any]",
    principal: Principal,
    conversation_id: str,
    language: str,
    *,
    mirror: Optional[Path] = None,
) -> str:
    """Checks that the user may read this conversation's transcript and records the read.
    Returns the audit entry id; raises Forbidden (itself audited). Show the transcript after."""
    if not (principal.may("transcript") and can_see_queue(principal, language)):
        _refuse(client, principal, conversation_id, f"transcript in {language}", mirror)
    return audit.record_transcript_read(client, principal.user_id, conversation_id, role=principal.role, mirror=mirror)


def reveal(
    client: "redis.Redis[Any]",
    principal: Principal,
    conversation_id: str,
    field: str,
    *,
    language: Optional[str] = None,
    mirror: Optional[Path] = None,
) -> str:
    """Checks that the user may reveal a masked identifier and records it. Returns the audit
    entry id; raises Forbidden (itself audited). Send the unmasked value only after."""
    allowed = principal.may("reveal") and (language is None or can_see_queue(principal, language))
    if not allowed:
        _refuse(client, principal, conversation_id, f"reveal {field}", mirror)
    return audit.record_reveal(client, principal.user_id, conversation_id, field, role=principal.role, mirror=mirror)


def _refuse(
    client: "redis.Redis[Any]", principal: Principal, conversation_id: str, what: str, mirror: Optional[Path]
) -> None:
    role = principal.role if principal.role in audit.ROLES else "system"
    audit.record(
        client,
        audit.make_entry(
            who=principal.user_id, role=role, action="forbidden", conversation_id=conversation_id, detail=what
        ),
        mirror=mirror,
    )
    raise Forbidden(f"{principal.user_id} ({principal.role}) may not {what}")


def _account(client: "redis.Redis[Any]", user_id: str) -> Optional[Dict[str, Any]]:
    stored = _call(client.hget, redis_keys.ACCESS_USERS, user_id)
    return json.loads(stored) if stored else None


def _call(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except redis.RedisError as error:
        raise StoreUnavailable(f"access store unavailable: {error}") from error


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
