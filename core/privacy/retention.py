"""Deleting conversations: those whose retention period has ended (`purge`), and one a claimant
asked to erase (`erase_conversation`). Both use the same code and leave only the fact (when,
which conversation id, purge or erase) in the audit log.

What is deleted for a conversation (docs/privacy.md keeps the list for people):
    tracker store   every row of the `events` table with its sender_id (SQLite or PostgreSQL)
    Redis, desk     its tickets and their histories (private notes included), their satisfaction
                    surveys, its entries in the language queues, agents' ticket sets, announced
                    positions and wait alerts, its open-ticket pointer
    Redis, streams  its entries in renben:events, renben:outbox:*, renben:review-flags,
                    renben:wechat-delivery-errors and renben:wechat:inbox (and, on purge, every entry older than the
                    retention period: the streams are transport, the tracker store is the record)
    Redis, channels the web session stream and message states; WeChat's numbered options,
                    language and event dedupe keys; the web outbox "copied" markers of its outbox entries
    review inbox    rows that came from it in var/review/*.yml (and, on purge, inbox files
                    older than the retention period)
    files on disk   then the SQLite tracker file is vacuumed and Redis rewrites its append-only
                    file (core/privacy/disk.py), so the deleted bytes leave the disk too

A conversation's age is its newest event in the tracker store; conversations the tracker store
does not know (a ticket whose conversation is gone) are aged by their newest ticket time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import redis
import yaml

from core import redis_clients
from core import redis_keys as keys
from core.privacy import audit, disk, period
from core.privacy import constants as k
from core.privacy.exceptions import InvalidRequest, StoreUnavailable
from core.privacy.identity import conversation_ref, openid_of
from core.settings import ROOT, Settings, running_redis_url

logger = logging.getLogger(__name__)

SCAN_BATCH = 500


@dataclass(frozen=True)
class RetentionSettings:
    """Where conversations are kept and for how long, from the process's `Settings`."""

    retention_days: float = period.DEFAULT_RETENTION_DAYS
    tracker_url: str = f"sqlite:///{ROOT / 'var' / 'tracker.db'}"  # an SQLAlchemy URL
    redis_url: Optional[str] = None
    var_dir: Path = ROOT / "var"
    review_dirs: Tuple[Path, ...] = (ROOT / "var" / "review",)

    @classmethod
    def from_settings(cls, settings: Settings) -> "RetentionSettings":
        """From the process's settings: RETENTION_DAYS (90), TRACKER_STORE_URL (else
        var/tracker.db), REDIS_URL (else the embedded Redis of var/endpoints.yml), RENBEN_VAR_DIR,
        RENBEN_REVIEW_DIRS (os.pathsep-separated; default var/review)."""
        var_dir = settings.var_dir
        tracker = settings.tracker_store_url or f"sqlite:///{var_dir / 'tracker.db'}"
        return cls(
            retention_days=settings.retention_days,
            tracker_url=tracker.replace("postgres://", "postgresql://", 1),
            redis_url=settings.redis_url or running_redis_url(var_dir),
            var_dir=var_dir,
            review_dirs=settings.review_folders,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "RetentionSettings":
        """`from_settings` of the settings `env` gives; raises SettingsError."""
        return cls.from_settings(Settings.from_env(env))

    @property
    def audit_mirror(self) -> Path:
        return audit.mirror_path(self.var_dir)

    def connect(self) -> "redis.Redis[str]":
        if not self.redis_url:
            raise StoreUnavailable("no Redis: set REDIS_URL or start the stack (make run)")
        return redis_clients.connect(self.redis_url, socket_timeout=10)


@dataclass
class Deleted:
    """What one purge or erasure removed (counts only: a report must not hold content)."""

    conversations: List[str] = field(default_factory=list)
    tracker_rows: int = 0
    redis_keys: int = 0
    stream_entries: int = 0
    review_rows: int = 0
    review_files: int = 0

    def as_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


def cutoff(now: float, retention_days: float) -> float:
    """The epoch second before which a conversation's last event makes it expired."""
    return now - retention_days * 86400


# ----------------------------------------------------------------------------- entry points


def purge(
    settings: RetentionSettings, *, now: Optional[float] = None, client: Optional["redis.Redis[str]"] = None
) -> Deleted:
    """Deletes every conversation whose last event is older than the retention period, from
    every store; one audit entry ("purge") per conversation. Raises StoreUnavailable."""
    before = cutoff(time.time() if now is None else now, settings.retention_days)
    client = client or settings.connect()
    try:
        old_tickets = expired_in_redis(client, before)
    except redis.RedisError as error:
        raise StoreUnavailable(f"Redis: {error}") from error
    from_tickets = old_tickets - recent_in_tracker(settings.tracker_url, before)
    ids = set(expired_in_tracker(settings.tracker_url, before)) | from_tickets
    deleted = _delete(settings, client, ids, before=before)
    for conversation_id in deleted.conversations:
        audit.record(
            client,
            audit.make_entry(
                who="retention",
                role="system",
                action="purge",
                conversation_id=conversation_id,
                detail=f"last event before {_iso(before)}",
            ),
        )
    audit.sync_mirror(client, settings.audit_mirror)
    return deleted


def erase_conversation(
    conversation_id: str,
    settings: RetentionSettings,
    *,
    by: str = "claimant",
    role: str = "claimant",
    client: Optional["redis.Redis[str]"] = None,
    record: bool = True,
    request_id: Optional[str] = None,
) -> Deleted:
    """Deletes one conversation from every store and records the erasure (who asked, when,
    which conversation id) in the audit log (`record=False`: a repeat pass of an erasure already
    recorded; `request_id`, the claimant message that asked: recorded once however often that
    request runs). Raises InvalidRequest for an empty id,
    StoreUnavailable when a store fails (run it again: it is idempotent)."""
    if not isinstance(conversation_id, str) or not conversation_id.strip():
        raise InvalidRequest("erase_conversation needs a conversation id")
    client = client or settings.connect()
    deleted = _delete(settings, client, {conversation_id}, before=None)
    deleted.conversations = [conversation_id]
    if not record or (request_id is not None and not _first_time(client, conversation_id, request_id)):
        return deleted
    audit.record(
        client,
        audit.make_entry(who=by, role=role, action="erase", conversation_id=conversation_id),
        mirror=settings.audit_mirror,
    )
    return deleted


def _first_time(client: "redis.Redis[str]", conversation_id: str, request_id: str) -> bool:
    """True the first time this erasure request is seen (keys.ERASE_REQUEST); raises StoreUnavailable."""
    name = hashlib.sha256(f"{conversation_id}:{request_id}".encode()).hexdigest()
    try:
        return bool(client.set(keys.ERASE_REQUEST + name, "1", nx=True, ex=k.ERASE_REQUEST_TTL))
    except redis.RedisError as error:
        raise StoreUnavailable(f"Redis: {error}") from error


def _delete(
    settings: RetentionSettings, client: "redis.Redis[str]", ids: Set[str], *, before: Optional[float]
) -> Deleted:
    deleted = Deleted(conversations=sorted(ids))
    deleted.tracker_rows = delete_tracker_rows(settings.tracker_url, ids)
    try:
        deleted.redis_keys = delete_redis_keys(client, ids)
        deleted.stream_entries = delete_stream_entries(client, ids, before=before)
    except redis.RedisError as error:
        raise StoreUnavailable(f"Redis: {error}") from error
    rows, files = delete_review_rows(settings.review_dirs, ids, before=before)
    deleted.review_rows, deleted.review_files = rows, files
    if ids:  # deleted rows and keys stay in the files behind them until those are rewritten
        disk.vacuum_sqlite(settings.tracker_url)
        disk.rewrite_aof(client)
    return deleted


# ----------------------------------------------------------------------------- tracker store


def _engine(url: str) -> Any:
    import sqlalchemy as sa

    return sa.create_engine(url)


def expired_in_tracker(url: str, before: float) -> List[str]:
    """Conversation ids whose newest event in the tracker store is older than `before`."""
    import sqlalchemy as sa

    engine = _engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("events"):
                return []
            rows = connection.execute(
                sa.text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :before"),
                {"before": before},
            )
            return [row[0] for row in rows]
    except sa.exc.SQLAlchemyError as error:
        raise StoreUnavailable(f"tracker store: {error}") from error
    finally:
        engine.dispose()


def recent_in_tracker(url: str, before: float) -> Set[str]:
    """Conversation ids with an event at or after `before` (never to be purged)."""
    import sqlalchemy as sa

    engine = _engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("events"):
                return set()
            rows = connection.execute(
                sa.text("SELECT DISTINCT sender_id FROM events WHERE timestamp >= :before"), {"before": before}
            )
            return {row[0] for row in rows}
    except sa.exc.SQLAlchemyError as error:
        raise StoreUnavailable(f"tracker store: {error}") from error
    finally:
        engine.dispose()


def delete_tracker_rows(url: str, ids: Iterable[str]) -> int:
    """Deletes every event of these conversations; returns how many rows went."""
    import sqlalchemy as sa

    ids = sorted(ids)
    if not ids:
        return 0
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            if not sa.inspect(connection).has_table("events"):
                return 0
            total = 0
            for start in range(0, len(ids), 500):
                statement = sa.text("DELETE FROM events WHERE sender_id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                )
                total += connection.execute(statement, {"ids": ids[start : start + 500]}).rowcount or 0
            return total
    except sa.exc.SQLAlchemyError as error:
        raise StoreUnavailable(f"tracker store: {error}") from error
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------- Redis


def expired_in_redis(client: "redis.Redis[str]", before: float) -> Set[str]:
    """Conversations with desk tickets whose newest time is older than `before` (for those the
    tracker store no longer or never knew)."""
    found = set()
    prefix = keys.CONVERSATION_TICKETS
    for key in client.scan_iter(match=_glob(prefix) + "*", count=SCAN_BATCH):
        conversation_id = key[len(prefix) :]
        newest = max((_ticket_time(client, ticket_id) for ticket_id in client.smembers(key)), default=0.0)
        if newest < before:
            found.add(conversation_id)
    return found


def _ticket_time(client: "redis.Redis[str]", ticket_id: str) -> float:
    data = _json(client.hget(keys.TICKET + ticket_id, "data")) or {}
    times = [value for value in data.values() if isinstance(value, (int, float)) and value > 1e9]
    for entry in client.lrange(keys.TICKET_HISTORY + ticket_id, 0, -1):
        at = (_json(entry) or {}).get("at")
        if isinstance(at, (int, float)):
            times.append(at)
    return max(times, default=0.0)


def delete_redis_keys(client: "redis.Redis[str]", ids: Iterable[str]) -> int:
    """Deletes the desk's and the channels' keys of these conversations; returns how many keys
    were removed or changed."""
    count = 0
    languages = list(client.smembers(keys.LANGUAGES))
    agent_sets = list(client.scan_iter(match=_glob(keys.AGENT_TICKETS) + "*", count=SCAN_BATCH))
    ids = set(ids)
    for conversation_id in ids:
        tickets = set(client.smembers(keys.CONVERSATION_TICKETS + conversation_id))
        open_ticket = client.get(keys.OPEN_TICKET + conversation_id)
        if open_ticket:
            tickets.add(open_ticket)
        pipe = client.pipeline(transaction=False)
        for ticket_id in tickets:
            pipe.delete(
                keys.TICKET + ticket_id,
                keys.TICKET_HISTORY + ticket_id,
                keys.CSAT + ticket_id,
                keys.RASA_WRITE + ticket_id,
            )
            pipe.zrem(keys.CSAT_ASKED, ticket_id)
            pipe.zrem(keys.RASA_WRITES_DUE, ticket_id)
            for language in languages:
                pipe.zrem(keys.QUEUE + language, ticket_id)
            for agent_set in agent_sets:
                pipe.srem(agent_set, ticket_id)
            pipe.hdel(keys.ANNOUNCED_POSITIONS, ticket_id)
        doomed = [
            keys.OPEN_TICKET + conversation_id,
            keys.CONVERSATION_TICKETS + conversation_id,
            keys.WEB_SESSION_STREAM + conversation_id,
            keys.ERASE_PENDING + conversation_id,
        ]
        doomed += client.scan_iter(match=_glob(f"{keys.WEB_MESSAGE_STATE}{conversation_id}:") + "*", count=SCAN_BATCH)
        doomed += client.scan_iter(match=_glob(f"{keys.REQUEST_TICKET}{conversation_id}:") + "*", count=SCAN_BATCH)
        openid = openid_of(conversation_id)
        if openid:
            doomed += [keys.WECHAT_OPTIONS + openid, keys.WECHAT_LANGUAGE + openid]
            doomed += client.scan_iter(match=_glob(f"{keys.WECHAT_SEEN}event:{openid}:") + "*", count=SCAN_BATCH)
        pipe.delete(*doomed)
        count += sum(result for result in pipe.execute() if isinstance(result, int))
    for alert in client.lrange(keys.ALERTS, 0, -1):
        if (_json(alert) or {}).get("conversation_id") in ids:
            count += client.lrem(keys.ALERTS, 0, alert)
    return count


def _streams(client: "redis.Redis[str]") -> List[str]:
    """Every stream that carries conversation content (never the audit stream)."""
    names = [keys.EVENTS_STREAM, keys.REVIEW_FLAGS, keys.WECHAT_DELIVERY_ERRORS, keys.WECHAT_INBOX_STREAM]
    names += sorted(client.scan_iter(match=_glob(keys.OUTBOX) + "*", count=SCAN_BATCH))
    return [name for name in dict.fromkeys(names) if name != keys.AUDIT_STREAM]


def delete_stream_entries(client: "redis.Redis[str]", ids: Set[str], *, before: Optional[float]) -> int:
    """Deletes these conversations' entries from every content stream and, when `before` is
    given, every entry older than it. Returns how many entries went."""
    count = 0
    for stream in _streams(client):
        if client.type(stream) != "stream":
            continue
        if before is not None:
            count += client.xtrim(stream, minid=f"{int(before * 1000)}-0")
        doomed = [entry_id for entry_id, fields in _scan_stream(client, stream) if _conversation_of(fields) in ids]
        for start in range(0, len(doomed), SCAN_BATCH):
            count += client.xdel(stream, *doomed[start : start + SCAN_BATCH])
        if stream.startswith(keys.OUTBOX) and doomed:
            client.delete(*(keys.WEB_OUTBOX_COPIED + entry_id for entry_id in doomed))
    return count


def _scan_stream(client: "redis.Redis[str]", stream: str) -> Iterable[Tuple[str, Dict[str, str]]]:
    start = "-"
    while True:
        chunk = client.xrange(stream, min=start, count=SCAN_BATCH)
        yield from chunk
        if len(chunk) < SCAN_BATCH:
            return
        start = "(" + chunk[-1][0]


def _conversation_of(fields: Mapping[str, str]) -> Optional[str]:
    """The conversation id of a stream entry, whichever writer's shape it has."""
    for name in ("sender_id", "conversation_id"):
        if fields.get(name):
            return fields[name]
    data = _json(fields.get("data"))
    if isinstance(data, dict):
        return data.get("sender_id") or data.get("conversation_id")
    return None


# ----------------------------------------------------------------------------- review inbox


def delete_review_rows(directories: Sequence[Path], ids: Set[str], *, before: Optional[float]) -> Tuple[int, int]:
    """Removes inbox rows that came from these conversations and, when `before` is given,
    inbox files last written before it. Returns (rows removed, files removed)."""
    refs = {f"conversation {conversation_ref(cid)}" for cid in ids}
    rows = files = 0
    for directory in directories:
        for path in sorted(Path(directory).glob("*.yml")) if Path(directory).is_dir() else []:
            if before is not None and path.stat().st_mtime < before:
                path.unlink()
                files += 1
                continue
            rows += _drop_rows(path, refs)
    return rows, files


def _drop_rows(path: Path, refs: Set[str]) -> int:
    if not refs:
        return 0
    text = path.read_text(encoding="utf-8")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        logger.warning("review inbox %s is not YAML; left as it is", path)
        return 0
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        return 0
    kept = [
        item
        for item in document["items"]
        if not (isinstance(item, dict) and str(item.get("from", "")).split(",")[0] in refs)
    ]
    removed = len(document["items"]) - len(kept)
    if removed:
        document["items"] = kept
        header = "".join(line for line in text.splitlines(True) if line.startswith("#"))
        path.write_text(
            header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8"
        )
    return removed


# ----------------------------------------------------------------------------- helpers


def wait_until_unlocked(
    client: "redis.Redis[str]", conversation_id: str, *, timeout: float = 30.0, poll: float = 0.2
) -> bool:
    """Waits until Rasa holds no lock on the conversation (it has saved the turn); False on
    timeout. The erasure action erases again after this: Rasa re-saves the current turn."""
    deadline = time.monotonic() + timeout
    while client.exists(keys.RASA_LOCK + conversation_id):
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def _glob(text: str) -> str:
    """`text` with Redis glob characters escaped, for SCAN MATCH."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _json(text: Optional[str]) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="seconds")
