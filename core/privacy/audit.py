"""The audit log: who did what to which conversation, append-only.

Every entry goes to the Redis stream `renben:audit` (never trimmed, never edited: the code has no
delete path) and is mirrored, in stream order and with its stream id, to `var/audit/audit.jsonl`
(opened for append only). An entry holds names, never values: a reveal records *which field* was
revealed, never the identifier itself; the free-text `detail` is redacted before it is written.

The desk calls, when an agent reveals a masked identifier in the brief:

    audit.record_reveal(redis, agent_id, conversation_id, field, role=role, mirror=path)

and, when an agent opens a transcript (the brief, or the full history):

    audit.record_transcript_read(redis, agent_id, conversation_id, role=role, mirror=path)

`mirror` is `mirror_path(var_dir)` (None: stream only; `sync_mirror` or `python -m core.privacy
export-audit` on a machine with the var directory copies what is missing). Both raise
StoreUnavailable when the stream cannot be written: do not reveal or show the transcript then.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import redis

from core.privacy.constants import AUDIT_FILE
from core.privacy.exceptions import InvalidRequest, StoreUnavailable
from core.privacy.redaction import redact
from core.redis_keys import AUDIT_STREAM

ACTIONS = (
    "reveal",  # an agent unmasked one identifier of a brief (field says which)
    "read_transcript",  # an agent or supervisor opened a conversation's transcript
    "erase",  # a conversation was erased at the claimant's request
    "purge",  # a conversation was deleted because its retention period ended
    "access_export",  # a claimant was sent a copy of their conversation
    "notice",  # the privacy notice was shown (counted, not per conversation content)
    "user_added",  # an access account was created or replaced
    "token_issued",
    "token_revoked",
    "forbidden",  # an authenticated user was refused (role or language)
)
ROLES = ("agent", "supervisor", "trainer", "claimant", "system")
_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log. `when` is ISO 8601 UTC; `id` the stream id ("" before writing)."""

    who: str
    role: str
    action: str
    conversation_id: str = ""
    field: str = ""
    when: str = ""
    detail: str = ""
    id: str = ""

    def as_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)


def mirror_path(var_dir: Path) -> Path:
    """Where the audit file of this var directory is."""
    return Path(var_dir) / AUDIT_FILE


def make_entry(
    *,
    who: str,
    role: str,
    action: str,
    conversation_id: str = "",
    field: str = "",
    detail: str = "",
    when: Optional[dt.datetime] = None,
) -> AuditEntry:
    """A checked entry (pure). Raises InvalidRequest for an unknown role or action, an empty
    `who`, or a field that is not a name (a value passed by mistake must not be logged)."""
    if action not in ACTIONS:
        raise InvalidRequest(f"audit action must be one of {ACTIONS}, not {action!r}")
    if role not in ROLES:
        raise InvalidRequest(f"audit role must be one of {ROLES}, not {role!r}")
    if not isinstance(who, str) or not who.strip():
        raise InvalidRequest("an audit entry needs who did it")
    if field and not _NAME.fullmatch(field):
        raise InvalidRequest(f"audit field must be a field name, not {redact(field)!r}")
    moment = (when or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return AuditEntry(
        who=who.strip(),
        role=role,
        action=action,
        conversation_id=str(conversation_id or ""),
        field=field,
        when=moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        detail=redact(str(detail or ""))[:500],
    )


def record(client: "redis.Redis[Any]", entry: AuditEntry, *, mirror: Optional[Path] = None) -> str:
    """Appends the entry to the stream (and the mirror file); returns its stream id.
    Raises StoreUnavailable when Redis refuses: the caller must not go on with the action."""
    fields = {key: value for key, value in asdict(entry).items() if key != "id"}
    try:
        entry_id = _text(client.xadd(AUDIT_STREAM, fields))
    except redis.RedisError as error:
        raise StoreUnavailable(f"audit log not written: {error}") from error
    if mirror is not None:
        sync_mirror(client, mirror)
    return entry_id


def record_reveal(
    client: "redis.Redis[Any]",
    agent_id: str,
    conversation_id: str,
    field: str,
    *,
    role: str = "agent",
    mirror: Optional[Path] = None,
) -> str:
    """Records that `agent_id` revealed the masked identifier `field` (e.g. "ID_NUMBER",
    "PHONE", or a slot name) of a conversation's brief. Call before sending the value."""
    return record(
        client,
        make_entry(who=agent_id, role=role, action="reveal", conversation_id=conversation_id, field=field),
        mirror=mirror,
    )


def record_transcript_read(
    client: "redis.Redis[Any]",
    agent_id: str,
    conversation_id: str,
    *,
    role: str = "agent",
    mirror: Optional[Path] = None,
) -> str:
    """Records that `agent_id` read a conversation's transcript. Call before sending it."""
    return record(
        client,
        make_entry(who=agent_id, role=role, action="read_transcript", conversation_id=conversation_id),
        mirror=mirror,
    )


def entries(
    client: "redis.Redis[Any]", *, after: str = "-", conversation_id: Optional[str] = None, batch: int = 1000
) -> Iterator[AuditEntry]:
    """The stream's entries in order, those after stream id `after` ("-": all)."""
    start = after if after == "-" else "(" + after
    try:
        while True:
            chunk = client.xrange(AUDIT_STREAM, min=start, count=batch)
            for entry_id, fields in chunk:
                entry = _entry(_text(entry_id), fields)
                if conversation_id is None or entry.conversation_id == conversation_id:
                    yield entry
            if len(chunk) < batch:
                return
            start = "(" + _text(chunk[-1][0])
    except redis.RedisError as error:
        raise StoreUnavailable(f"audit log not readable: {error}") from error


def sync_mirror(client: "redis.Redis[Any]", path: Path) -> int:
    """Appends to the file every stream entry it does not have yet; returns how many. Several
    processes may call it at once (an exclusive file lock orders them)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            last = last_mirrored_id(path)
            written = 0
            for entry in entries(client, after=last or "-"):
                handle.write(entry.as_json() + "\n")
                written += 1
            handle.flush()
            os.fsync(handle.fileno())
            return written
    except OSError as error:
        raise StoreUnavailable(f"audit file {path} not written: {error}") from error


def last_mirrored_id(path: Path) -> Optional[str]:
    """The stream id of the file's last entry, None for an empty or missing file."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 8192))
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        try:
            return json.loads(line)["id"]
        except (ValueError, KeyError):
            continue
    return None


def read_mirror(path: Path) -> List[AuditEntry]:
    """Every entry of the audit file (for export when Redis has lost its data)."""
    found = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                found.append(AuditEntry(**json.loads(line)))
    return found


def _entry(entry_id: str, fields: Dict[Any, Any]) -> AuditEntry:
    data = {_text(key): _text(value) for key, value in fields.items()}
    known = {key: data.get(key, "") for key in AuditEntry.__dataclass_fields__ if key != "id"}
    return AuditEntry(**known, id=entry_id)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
