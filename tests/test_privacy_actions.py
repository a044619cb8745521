"""The data-rights actions with CollectingDispatcher, a real Redis and a real SQLite tracker store."""
from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis
import sqlalchemy as sa
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import privacy
from core.privacy import audit, rights
from core.settings import ROOT
from core.redis_keys import RASA_LOCK
from tests.test_retention import save_conversation

CID = "web-rights-1"


@pytest.fixture
def env(redis_server, tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("RENBEN_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    monkeypatch.setenv("RETENTION_DAYS", "90")
    privacy.settings.cache_clear()
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    privacy.settings.cache_clear()


def tracker(text="", *, events=None, slots=None, sender=CID, channel="web") -> Tracker:
    """A tracker whose user messages came in on `channel` (the widget's, for a web- id)."""
    events = [dict(e, input_channel=e.get("input_channel", channel)) if e.get("event") == "user" else e
              for e in (events or [{"event": "user", "text": text, "timestamp": time.time()}])]
    return Tracker(sender, slots or {"language": "zh"},
                   {"text": text, "intent": {"name": "data_rights", "confidence": 0.9}},
                   events, False, None, None, "action_listen")


DOMAIN_RESPONSES = yaml.safe_load((ROOT / "bot" / "domain" / "privacy.yml").read_text(encoding="utf-8"))["responses"]


def run(action, current) -> tuple:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, current, {"session_config": {}, "responses": DOMAIN_RESPONSES}))
    return dispatcher.messages, events


def tracker_rows(tmp_path, sender=CID):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT COUNT(*) FROM events WHERE sender_id = :s"),
                                      {"s": sender}).scalar()
    finally:
        engine.dispose()


@pytest.mark.parametrize("text, kind", [
    ("你们保存了我的什么信息", "access"),
    ("你們保存了我哪些信息", "access"),
    ("what do you keep about me", "access"),
    ("What information do you have on me?", "access"),
    ("导出我的聊天记录", "export"),
    ("can I download a copy of this chat", "export"),
    ("删除我的数据", "erase"),
    ("請刪除我的對話", "erase"),
    ("please erase everything I told you", "erase"),
    ("我的名字写错了,要更正", "rectify"),
    ("my date of birth is wrong", "rectify"),
    ("我反对由机器决定,要人工复核", "object"),
    ("I want a human review of that result", "object"),
    ("don't delete anything, who can see my messages?", "info"),
    ("不要删除,这些信息谁能看到", "info"),
    ("is this chat private", "info"),
    ("", "info"),
])
def test_which_right_is_asked_for(text, kind):
    assert rights.classify_request(text) == kind


def test_notice_at_session_start_once(env):
    messages, events = run(privacy.ActionSessionStart(), tracker(slots={"language": None, "city": "广州"}))
    # The text itself (not a response name): Rasa cannot render a response for a session
    # started over the HTTP API, where there is no output channel.
    assert len(messages) == 1 and messages[0]["response"] is None
    assert "保存90天" in messages[0]["text"] and "kept for 90 days" in messages[0]["text"]
    names = [e["event"] for e in events]
    assert names[0] == "session_started" and names[-1] == "action"
    assert {"event": "slot", "name": "privacy_notice", "value": "shown", "timestamp": None} in events
    assert any(e.get("name") == "city" and e.get("value") == "广州" for e in events)
    messages, events = run(privacy.ActionSessionStart(), tracker(slots={"privacy_notice": "shown"}))
    assert messages == []


def test_access_sends_text_and_json_copy_and_audits(env):
    now = time.time()
    events = [{"event": "user", "text": "我的电话是13812345678", "timestamp": now - 60},
              {"event": "bot", "text": "好的,已记下", "timestamp": now - 59},
              {"event": "bot", "text": "I am the agent", "timestamp": now - 30, "metadata": {"agent_id": "a1"}},
              {"event": "user", "text": "你保存了我的什么信息", "timestamp": now}]
    messages, returned = run(privacy.ActionDataRights(),
                             tracker("你保存了我的什么信息", events=events, slots={"language": "zh", "city": "广州"}))
    intro, text, payload = messages
    assert intro["response"] == "utter_privacy_access_intro" and intro["turns"] == 4
    assert "你: 我的电话是138****5678" in text["text"] and "工作人员: I am the agent" in text["text"]
    assert "13812345678" not in text["text"]
    data = payload["custom"]["data"]
    assert payload["custom"]["type"] == "data_export" and payload["custom"]["filename"].endswith(".json")
    assert data["conversation_id"] == CID and data["retention_days"] == 90
    assert [t["speaker"] for t in data["turns"]] == ["claimant", "assistant", "agent", "claimant"]
    assert data["turns"][0]["text"] == "我的电话是13812345678"  # the claimant's own copy is whole
    assert data["details_remembered"] == {"language": "zh", "city": "广州"}
    json.dumps(payload)  # it travels as JSON
    assert returned == []
    assert [(e.action, e.conversation_id) for e in audit.entries(env)] == [("access_export", CID)]


def test_access_with_nothing_kept(env):
    messages, _ = run(privacy.ActionDataRights(), tracker(
        "what do you keep about me", events=[{"event": "user", "text": "what do you keep about me",
                                               "timestamp": time.time()}], slots={"language": "en"}))
    assert [m["response"] for m in messages] == ["utter_privacy_nothing_kept"]


def test_erase_asks_first_then_deletes_everything_and_says_so(env, tmp_path):
    save_conversation(f"sqlite:///{tmp_path / 'tracker.db'}", CID, "删除我的数据 13812345678", time.time() - 30)
    save_conversation(f"sqlite:///{tmp_path / 'tracker.db'}", "web-other", "someone else", time.time() - 30)
    env.xadd("renben:events", {"sender_id": CID, "event": "user", "data": "{}"})
    messages, events = run(privacy.ActionDataRights(), tracker("删除我的数据"))
    assert [m["response"] for m in messages] == ["utter_privacy_erase_confirm"]
    assert events == [{"event": "slot", "name": "pending_offer", "value": "erase_data", "timestamp": None}]
    assert tracker_rows(tmp_path) == 3  # nothing deleted before the claimant confirms

    env.set(RASA_LOCK + CID, "held")  # Rasa is still handling this turn
    messages, events = run(privacy.ActionEraseData(), tracker("是"))
    assert [m["response"] for m in messages] == ["utter_privacy_erased"]
    assert events == [{"event": "slot", "name": "pending_offer", "value": None, "timestamp": None}]
    assert tracker_rows(tmp_path) == 0 and env.xlen("renben:events") == 0
    assert tracker_rows(tmp_path, "web-other") == 3
    # Rasa now saves this turn, then releases the lock: the second pass erases it too
    save_conversation(f"sqlite:///{tmp_path / 'tracker.db'}", CID, "是", time.time())
    assert tracker_rows(tmp_path) == 3
    env.delete(RASA_LOCK + CID)
    deadline = time.time() + 20
    while tracker_rows(tmp_path) and time.time() < deadline:
        time.sleep(0.1)
    assert tracker_rows(tmp_path) == 0
    erasures = [(e.action, e.conversation_id, e.who) for e in audit.entries(env)]
    assert erasures == [("erase", CID, "claimant")]  # one fact, not one per pass
    assert CID in (tmp_path / "audit" / "audit.jsonl").read_text()


def test_keep_data_on_no(env):
    messages, events = run(privacy.ActionKeepData(), tracker("不"))
    assert [m["response"] for m in messages] == ["utter_privacy_erase_kept"]
    assert events[0]["name"] == "pending_offer" and events[0]["value"] is None


def test_erase_failure_is_said_politely(env, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    privacy.settings.cache_clear()
    messages, events = run(privacy.ActionEraseData(), tracker("yes", slots={"language": "en"}))
    assert [m["response"] for m in messages] == ["utter_privacy_erase_failed"]


@pytest.mark.parametrize("text, kind", [("我的信息有误,请更正", "rectify"), ("I object to the automated decision", "object")])
def test_rectify_and_object_go_to_a_person_with_the_reason(env, text, kind):
    messages, events = run(privacy.ActionDataRights(), tracker(text))
    assert [m["response"] for m in messages] == [f"utter_privacy_{kind}"]
    assert events[0]["name"] == "handoff_reason" and events[0]["value"] == privacy.HANDOFF_REASONS[kind]
    assert events[1] == {"event": "followup", "name": "action_handoff", "timestamp": None}


def test_other_questions_get_the_knowledge_base_answer(env):
    _, events = run(privacy.ActionDataRights(), tracker("is this conversation private?"))
    assert events == [{"event": "followup", "name": "action_answer_topic", "timestamp": None}]


def test_a_channel_that_shows_the_notice_itself_gets_it_recorded_not_repeated(env):
    started = tracker(slots={"language": None, "session_started_metadata": {"privacy_notice_shown_by_channel": True}})
    messages, events = run(privacy.ActionSessionStart(), started)
    assert messages == []  # the widget showed it from the session frame
    assert {"event": "slot", "name": "privacy_notice", "value": "shown", "timestamp": None} in events


# ----------------------------------------------------------------------------- identity (issue 14)

@pytest.mark.parametrize("sender, channel", [("web-rights-1", "rest"), ("web-rights-1", None),
                                             ("wx-oABCDEF", "rest"), ("wx-oABCDEF", "web"),
                                             ("web-rights-1", "wechat")])
@pytest.mark.parametrize("text", ["你保存了我的什么信息", "导出我的对话", "删除我的数据", "我的信息有误,请更正"])
def test_a_data_rights_request_from_another_channel_is_refused(env, sender, channel, text):
    messages, events = run(privacy.ActionDataRights(), tracker(text, sender=sender, channel=channel))
    assert [m.get("response") for m in messages] == ["utter_privacy_not_verified"]
    assert not any(e.get("event") == "followup" for e in events)


def test_an_erasure_from_another_channel_erases_nothing(env):
    from core.redis_keys import AUDIT_STREAM
    from core.redis_keys import OPEN_TICKET

    env.set(OPEN_TICKET + CID, "t1")
    messages, _ = run(privacy.ActionEraseData(), tracker("是", channel="rest"))
    assert [m.get("response") for m in messages] == ["utter_privacy_not_verified"]
    assert env.get(OPEN_TICKET + CID) == "t1"
    assert env.xlen(AUDIT_STREAM) == 0


def test_an_integration_conversation_keeps_its_rights_over_rest(env):
    messages, _ = run(privacy.ActionDataRights(), tracker("删除我的数据", sender="crm-42", channel="rest"))
    assert [m.get("response") for m in messages] == ["utter_privacy_erase_confirm"]
