"""Purge and erasure leave nothing of a conversation anywhere: a real SQLite tracker store written by
Rasa's own SQLTrackerStore, a real Redis filled by the desk's own queue and outbox code, and the
review inbox files. The PostgreSQL tracker store is checked too when TEST_POSTGRES_URL is set."""
from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path
from typing import List

import pytest
import redis

from bot.channels.wechat.inbox import Job, encode_job
from core.settings import SettingsError
from core.privacy import audit, retention
from core.redis_keys import AUDIT_STREAM
from core.privacy.identity import conversation_ref
from core import redis_keys as keys
from handoff.csat import Survey
from handoff.csat_store import CsatStore
from handoff.outbox import Outbox, message
from handoff import rasa_writes
from handoff.queue import Queue
from handoff.settings import DeskSettings
from handoff.tickets import CallbackRequest
from core.privacy import identity
from tooling import embedded_redis


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A Redis of this module's own: a stack another module left running on the shared one copies
    desk messages out of its outbox, and a copy made while a purge runs would read as data the
    purge left behind (seen once in a full run)."""
    server = embedded_redis.start(tmp_path_factory.mktemp("retention-redis"), persist=False)
    yield server
    server.stop()


DAY = 86400.0
NOW = time.time()
POSTGRES = os.environ.get("TEST_POSTGRES_URL")


def settings_for(tmp_path: Path, redis_url: str, tracker_url: str = "", days: float = 90) -> retention.RetentionSettings:
    return retention.RetentionSettings(retention_days=days,
                                       tracker_url=tracker_url or f"sqlite:///{tmp_path / 'tracker.db'}",
                                       redis_url=redis_url, var_dir=tmp_path / "var",
                                       review_dirs=(tmp_path / "review",))


def save_conversation(tracker_url: str, conversation_id: str, words: str, at: float) -> None:
    """Stores a short conversation with Rasa's own SQL tracker store, its events dated `at`."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    if tracker_url.startswith("sqlite:///"):
        store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=tracker_url[len("sqlite:///"):])
    else:
        from urllib.parse import urlparse
        parsed = urlparse(tracker_url)
        store = SQLTrackerStore(Domain.empty(), dialect="postgresql", host=parsed.hostname,
                                port=parsed.port or 5432, db=parsed.path.lstrip("/"),
                                username=parsed.username, password=parsed.password)
    tracker = DialogueStateTracker.from_events(conversation_id, [
        ActionExecuted("action_listen", timestamp=at),
        UserUttered(words, intent={"name": "inform", "confidence": 0.9}, timestamp=at + 1),
        BotUttered(f"noted: {words}", timestamp=at + 2),
    ])
    asyncio.run(store.save(tracker))
    store.engine.dispose()


def fill_redis(client: "redis.Redis[str]", redis_url: str, conversation_id: str, words: str, at: float) -> None:
    """Everything the desk and the channels keep of a conversation, written by their own code
    where it is importable without a running server."""
    callback = CallbackRequest.create(contact_kind="phone", contact="13812345678", language="zh")
    Queue(client, DeskSettings(redis_url=redis_url), clock=lambda: at).enqueue(
        conversation_id=conversation_id, channel="web", language="zh", priority="callback",
        reason="callback", brief={"summary": words}, callback=callback)  # stays in the queue
    queue = Queue(client, DeskSettings(redis_url=redis_url), clock=lambda: at + 20)
    old = queue.enqueue(conversation_id=conversation_id, channel="web", language="zh",
                        priority="requested", reason="asked for a person", brief={"summary": words})
    queue.agent_online("agent-1", languages=["zh"])
    queue.claim(old.id, agent="agent-1")
    queue.add_note(old.id, by="agent-1", text=f"private note: {words}", holder="agent-1")
    # the end of the handoff as the desk records it, its write to Rasa still due
    queue.return_to_bot(old.id, by="agent-1", holder="agent-1", ending=lambda ticket: (rasa_writes.record(
        conversation_id=conversation_id, events=[{"event": "resume", "ticket": ticket.id}], channel="web",
        then=[{"text": f"the bot is back {words}"}], survey=None), at + 40))
    surveys = CsatStore(client)
    surveys.ask(Survey(ticket_id=old.id, conversation_id=conversation_id, agent="agent-1", topic="none",
                       language="zh", channel="web", ending="closed", asked_at=at + 30))
    surveys.comment(old.id, conversation_id=conversation_id, text=f"comment: {words}", at=at + 31)
    later = Queue(client, DeskSettings(redis_url=redis_url), clock=lambda: at + 10 * DAY)
    later.check_waits()
    client.hset(keys.ANNOUNCED_POSITIONS, old.id, 1)
    Outbox(client).send("web", message("agent_message", conversation_id=conversation_id,
                                       language="zh", text=f"agent says {words}", at=at))
    client.xadd(keys.EVENTS_STREAM, {"sender_id": conversation_id, "event": "bot",
                                          "data": json.dumps({"text": words})})
    client.xadd(keys.REVIEW_FLAGS, {"conversation_id": conversation_id, "text": words,
                                         "agent_id": "agent-1", "language": "zh"})
    client.xadd(keys.WEB_SESSION_STREAM + conversation_id, {"f": json.dumps({"text": words})})
    client.set(f"{keys.WEB_MESSAGE_STATE}{conversation_id}:m1", "done")
    openid = identity.openid_of(conversation_id)
    if openid:
        client.set(keys.WECHAT_OPTIONS + openid, json.dumps([words]))
        client.set(f"{keys.WECHAT_SEEN}event:{openid}:1700000000", "async")
        client.xadd(keys.WECHAT_DELIVERY_ERRORS, {"data": json.dumps(
            {"conversation_id": conversation_id, "errcode": 45015, "errmsg": words})})
        client.set(keys.WECHAT_LANGUAGE + openid, "zh")
        client.xadd(keys.WECHAT_INBOX_STREAM, encode_job(Job(key="1", openid=openid, text=words, msg_type="text",
                                                            msg_id="1", deadline=0.0)))


def write_review(directory: Path, conversation_ids: List[str], name: str = "zh-2030-01-01-1200.yml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    items = [{"text": f"row of {cid}", "intent": "inform", "decision": "undecided",
              "from": f"conversation {conversation_ref(cid)}, 2030-01-01 12:00"} for cid in conversation_ids]
    path = directory / name
    path.write_text("# review inbox\n" + json.dumps({"language": "zh", "items": items}, ensure_ascii=False))
    return path


def everything_in_redis(client: "redis.Redis[str]") -> str:
    """Every key, and every value of every key, as one text (audit stream left out)."""
    parts = []
    for key in client.scan_iter("*"):
        if key == AUDIT_STREAM:
            continue
        parts.append(key)
        kind = client.type(key)
        if kind == "string":
            parts.append(client.get(key) or "")
        elif kind == "hash":
            parts.append(json.dumps(client.hgetall(key)))
        elif kind == "list":
            parts.extend(client.lrange(key, 0, -1))
        elif kind == "set":
            parts.extend(client.smembers(key))
        elif kind == "zset":
            parts.extend(client.zrange(key, 0, -1))
        elif kind == "stream":
            parts.extend(json.dumps(fields) for _, fields in client.xrange(key))
    return "\n".join(parts)


def everything_in_tracker(tracker_url: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(tracker_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT sender_id, data FROM events")).fetchall()
    finally:
        engine.dispose()
    return "\n".join(f"{sender} {data}" for sender, data in rows)


def ticket_ids(client, conversation_id):
    return set(client.smembers(keys.CONVERSATION_TICKETS + conversation_id))


def check_purge(tmp_path: Path, client, redis_url: str, tracker_url: str) -> None:
    old_id, new_id = f"wx-old{uuid.uuid4().hex[:8]}", f"web-new{uuid.uuid4().hex[:8]}"
    old_words, new_words = f"oldsecret{uuid.uuid4().hex[:6]}", f"newsecret{uuid.uuid4().hex[:6]}"
    settings = settings_for(tmp_path, redis_url, tracker_url)
    save_conversation(tracker_url, old_id, old_words, NOW - 100 * DAY)
    save_conversation(tracker_url, new_id, new_words, NOW - 2 * DAY)
    for cid, words, at in ((old_id, old_words, NOW - 100 * DAY), (new_id, new_words, NOW - 2 * DAY)):
        # stream entries dated when they were written (ids are milliseconds), oldest first
        client.xadd(keys.EVENTS_STREAM, {"sender_id": cid, "event": "user",
                                              "data": json.dumps({"text": words})}, id=f"{int(at * 1000)}-1")
    fill_redis(client, redis_url, old_id, old_words, NOW - 100 * DAY)
    fill_redis(client, redis_url, new_id, new_words, NOW - 2 * DAY)
    old_tickets = ticket_ids(client, old_id)
    inbox = write_review(tmp_path / "review", [old_id, new_id])
    stale = write_review(tmp_path / "review", [new_id], name="en-2020-01-01-1200.yml")
    os.utime(stale, (NOW - 100 * DAY, NOW - 100 * DAY))
    assert old_words in everything_in_redis(client) and old_words in everything_in_tracker(tracker_url)

    deleted = retention.purge(settings, now=NOW, client=client)

    assert old_id in deleted.conversations and new_id not in deleted.conversations
    redis_text, tracker_text = everything_in_redis(client), everything_in_tracker(tracker_url)
    for trace in [old_id, old_words, identity.openid_of(old_id), *old_tickets]:
        assert trace not in redis_text
        assert trace not in tracker_text
    assert conversation_ref(old_id) not in inbox.read_text()
    assert conversation_ref(new_id) in inbox.read_text()
    assert not stale.exists()
    # the recent conversation is untouched
    assert new_words in redis_text and new_words in tracker_text
    assert ticket_ids(client, new_id)
    # only the fact remains
    facts = [(e.action, e.conversation_id) for e in audit.entries(client) if e.action == "purge"]
    assert ("purge", old_id) in facts and ("purge", new_id) not in facts
    mirrored = settings.audit_mirror.read_text()
    assert old_id in mirrored and old_words not in mirrored
    # a second purge finds nothing more
    assert old_id not in retention.purge(settings, now=NOW, client=client).conversations


def test_purge_deletes_expired_conversations_everywhere(tmp_path, r, redis_server):
    check_purge(tmp_path, r, redis_server.url, f"sqlite:///{tmp_path / 'tracker.db'}")


@pytest.mark.skipif(not POSTGRES, reason="TEST_POSTGRES_URL is not set")
def test_purge_with_postgresql_tracker_store(tmp_path, r, redis_server):
    check_purge(tmp_path, r, redis_server.url, POSTGRES.replace("postgres://", "postgresql://", 1))


def test_erase_one_conversation_keeps_only_the_fact(tmp_path, r, redis_server):
    settings = settings_for(tmp_path, redis_server.url)
    target, other = "web-erase-me", "web-keep-me"
    for cid in (target, other):
        save_conversation(settings.tracker_url, cid, f"words of {cid} 13812345678", NOW - 60)
        fill_redis(r, redis_server.url, cid, f"words of {cid}", NOW - 60)
    inbox = write_review(tmp_path / "review", [target, other])

    deleted = retention.erase_conversation(target, settings, client=r)

    assert deleted.tracker_rows == 3 and deleted.redis_keys > 0 and deleted.stream_entries == 3
    assert deleted.review_rows == 1
    assert target not in everything_in_redis(r) and target not in everything_in_tracker(settings.tracker_url)
    assert other in everything_in_redis(r) and other in everything_in_tracker(settings.tracker_url)
    assert conversation_ref(target) not in inbox.read_text() and conversation_ref(other) in inbox.read_text()
    (entry,) = [e for e in audit.entries(r) if e.conversation_id == target]
    assert (entry.action, entry.who, entry.role) == ("erase", "claimant", "claimant")
    assert entry.when and not entry.detail
    # idempotent: erasing again is harmless
    again = retention.erase_conversation(target, settings, client=r)
    assert again.tracker_rows == 0 and again.stream_entries == 0


def test_an_erasure_request_run_again_is_audited_once_and_leaves_no_identifier(tmp_path, r, redis_server):
    """The confirming message's turn may run again after the action server died (bot/turn_guard.py)."""
    settings = settings_for(tmp_path, redis_server.url)
    target = "web-erase-twice"
    save_conversation(settings.tracker_url, target, "please erase", NOW - 60)
    for _ in range(2):
        retention.erase_conversation(target, settings, client=r, request_id="msg-1")
    assert len([e for e in audit.entries(r) if e.conversation_id == target]) == 1
    assert not [key for key in r.scan_iter("*") if target in key or "msg-1" in key]
    retention.erase_conversation(target, settings, client=r, request_id="msg-2")  # asked again: audited
    assert len([e for e in audit.entries(r) if e.conversation_id == target]) == 2


def test_conversation_with_old_ticket_but_recent_events_is_kept(tmp_path, r, redis_server):
    settings = settings_for(tmp_path, redis_server.url)
    cid = "wx-returning"
    save_conversation(settings.tracker_url, cid, "came back", NOW - 3600)
    fill_redis(r, redis_server.url, cid, "first visit", NOW - 200 * DAY)
    deleted = retention.purge(settings, now=NOW, client=r)
    assert cid not in deleted.conversations
    assert "came back" in everything_in_tracker(settings.tracker_url)


def test_tickets_without_tracker_events_are_aged_by_their_times(tmp_path, r, redis_server):
    settings = settings_for(tmp_path, redis_server.url)
    fill_redis(r, redis_server.url, "web-orphan", "orphan words", NOW - 120 * DAY)
    deleted = retention.purge(settings, now=NOW, client=r)
    assert deleted.conversations == ["web-orphan"]
    assert "orphan words" not in everything_in_redis(r)


def test_empty_stores_and_bad_settings(tmp_path, r, redis_server):
    settings = settings_for(tmp_path, redis_server.url)
    assert retention.purge(settings, now=NOW, client=r).conversations == []
    with pytest.raises(SettingsError, match="RETENTION_DAYS"):
        retention.RetentionSettings.from_env({"RETENTION_DAYS": "ninety"})
    with pytest.raises(SettingsError, match="RETENTION_DAYS"):
        retention.RetentionSettings.from_env({"RETENTION_DAYS": "0"})
    with pytest.raises(retention.InvalidRequest):
        retention.erase_conversation(" ", settings, client=r)
    env = retention.RetentionSettings.from_env({"RETENTION_DAYS": "30", "RENBEN_VAR_DIR": str(tmp_path),
                                                "REDIS_URL": redis_server.url})
    assert env.retention_days == 30 and env.tracker_url == f"sqlite:///{tmp_path / 'tracker.db'}"
    assert env.review_dirs == (tmp_path / "review",)
    assert retention.cutoff(1000 * DAY, 90) == 910 * DAY


def test_audit_stream_is_never_trimmed_by_a_purge(tmp_path, r, redis_server):
    settings = settings_for(tmp_path, redis_server.url)
    r.xadd(AUDIT_STREAM, {"who": "x", "role": "agent", "action": "reveal", "conversation_id": "c",
                          "field": "PHONE", "when": "2000-01-01T00:00:00Z", "detail": ""}, id="1000-0")
    retention.purge(settings, now=NOW, client=r)
    assert r.xrange(AUDIT_STREAM, min="1000-0", max="1000-0")


def test_unreachable_redis_is_a_typed_error(tmp_path):
    settings = settings_for(tmp_path, "redis://127.0.0.1:1/0")
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, decode_responses=True)
    with pytest.raises(retention.StoreUnavailable):
        retention.purge(settings, now=NOW, client=dead)
    with pytest.raises(retention.StoreUnavailable):
        retention.erase_conversation("web-x", settings, client=dead)
