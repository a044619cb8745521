"""The review inbox: conversations saved by Rasa's own SQLTrackerStore (SQLite), agent flags in a
real Redis stream, the real redaction, and applying a reviewed file to the training data."""
from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from pathlib import Path
from typing import Any, Dict

import pytest
import redis
import yaml

from tooling import model_store
from core.settings import ROOT
from tooling.trainers import review
from tooling.trainers import review_sources as sources
from tooling.trainers.__main__ import main as trainers_main


@pytest.fixture
def real_redaction():
    """These tests use the project's real redaction (core/privacy, the privacy issue)."""
    pytest.importorskip("core.privacy.redaction", reason="core.privacy.redaction has not landed yet")

ID_NUMBER = "44030419900307123X"  # valid check digit, made up
MOBILE = "13812345678"
BANK_CARD = "6222021234567890128"  # passes the Luhn check, made up
IDENTIFIERS = (ID_NUMBER, MOBILE, BANK_CARD)

FALLBACK = f"我的卡号{BANK_CARD}那个钱怎么一直没下来手机{MOBILE}身份证{ID_NUMBER}"
HANDOFF = f"my ID is {ID_NUMBER}, card {BANK_CARD}, phone {MOBILE} and my claim for carers money vanished"
FLAGGED = f"帮我查下{ID_NUMBER}名下失业金停发原因 电话{MOBILE} 卡{BANK_CARD}"


def parse(intent: str, confidence: float, lang: str) -> Dict[str, Any]:
    return {"intent": {"name": intent, "confidence": confidence}, "entities": [],
            "language": {"code": lang, "explicit": False, "weak": False}}


def said(text: str, intent: str, confidence: float, lang: str):
    from rasa.shared.core.events import UserUttered

    data = parse(intent, confidence, lang)
    return UserUttered(text, intent=data["intent"], entities=[], parse_data=data)


def save_conversations(db: Path) -> None:
    """Two conversations, stored the way `rasa run` stores them."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db))
    fallback = DialogueStateTracker.from_events("claimant-wechat-o6_abc", [
        ActionExecuted("action_session_start"), ActionExecuted("action_listen"),
        said(FALLBACK, "nlu_fallback", 0.21, "zh"),
        ActionExecuted("action_clarify"), BotUttered("我不太确定您的意思"), ActionExecuted("action_listen"),
        said("你好", "greet", 0.98, "zh"), ActionExecuted("action_listen"),
    ])
    handoff = DialogueStateTracker.from_events("web-5f2c", [
        ActionExecuted("action_session_start"), ActionExecuted("action_listen"),
        said(HANDOFF, "ask_payment_status", 0.81, "en"), ActionExecuted("action_listen"),
        said("talk to a person", "request_human", 0.99, "en"),
        ActionExecuted("action_handoff"), ActionExecuted("action_listen"),
    ])
    asyncio.run(store.save(fallback))
    asyncio.run(store.save(handoff))
    store.engine.dispose()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's domain and training data, so applying never touches the real one."""
    for folder in ("bot/domain", "data/nlu"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "config.yml").write_text((ROOT / "config.yml").read_text())
    return tmp_path


@pytest.fixture
def flags(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    client.delete(sources.REVIEW_FLAGS)
    client.xadd(sources.REVIEW_FLAGS, {"conversation_id": "web-77aa", "text": FLAGGED,
                                       "suggested_intent": "ask_unemployment", "agent_id": "agent-7",
                                       "language": "zh"})
    yield redis_server.url
    client.delete(sources.REVIEW_FLAGS)
    client.close()


def exported(project: Path, tmp_path: Path, flags_url: str) -> Dict[str, Dict[str, Any]]:
    save_conversations(tmp_path / "tracker.db")
    events = list(sources.read_events(f"sqlite:///{tmp_path / 'tracker.db'}"))
    written = sources.export(project, project / "var/review", events=events,
                             flags=sources.read_flags(flags_url), redactor=sources.load_redactor(),
                             now=dt.datetime(2026, 11, 22, 9, 30))
    files = {w.lang: w.path for w in written}
    assert set(files) == {"zh", "en"}
    return {lang: {"text": path.read_text(encoding="utf-8"), "path": path,
                   "items": yaml.safe_load(path.read_text(encoding="utf-8"))["items"]}
            for lang, path in files.items()}


def test_a_fallback_a_handoff_and_a_flag_reach_the_inbox_with_identifiers_redacted(project, tmp_path, flags, real_redaction):
    inbox = exported(project, tmp_path, flags)
    zh = {i["why"].split(",")[0]: i for i in inbox["zh"]["items"]}
    en = {i["why"]: i for i in inbox["en"]["items"]}
    assert set(zh) == {"fallback", "flagged by an agent"} and set(en) == {"handoff"}
    assert zh["flagged by an agent"]["intent"] == "ask_unemployment"  # the agent's suggestion
    assert en["handoff"]["intent"] == "ask_payment_status"  # the message before "talk to a person"
    assert "钱怎么一直没下来" in zh["fallback"]["text"] and "carers money" in en["handoff"]["text"]
    for lang in ("zh", "en"):
        written = inbox[lang]["text"]
        for identifier in IDENTIFIERS:
            assert identifier not in written
        assert "claimant-wechat-o6_abc" not in written and "web-5f2c" not in written
    assert all(i["decision"] == "undecided" for lang in inbox for i in inbox[lang]["items"])


def test_apply_adds_kept_rows_with_their_origin_and_the_next_training_uses_them(project, tmp_path, flags, real_redaction):
    inbox = exported(project, tmp_path, flags)
    path = inbox["zh"]["path"]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    kept_text = ""
    for item in data["items"]:
        if item["why"] == "fallback":
            item["decision"], item["intent"] = "keep", "ask_payment_status"
            kept_text = item["text"]
        else:
            item["decision"] = "discard"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    before = model_store.fingerprint(project)

    plan, changed = sources.apply(project, path, redactor=sources.load_redactor(), today=dt.date(2026, 11, 22))

    assert [a.text for a in plan.accepted] == [kept_text] and plan.discarded == 1
    target = project / "data/nlu/zh/ask_payment_status.yml"
    assert changed == [target]
    added = target.read_text(encoding="utf-8")
    assert "# From the review inbox" in added and "accepted 2026-11-22: fallback; conversation c-" in added
    assert model_store.fingerprint(project) != before  # so `make run` retrains on its next start
    # What the next training reads (Rasa's own loader) holds the new example under the intent.
    from rasa.shared.nlu.training_data.loading import load_data
    training = load_data(str(project / "data/nlu"))
    assert any(m.get("text") == kept_text and m.get("intent") == "ask_payment_status"
               for m in training.intent_examples)
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["items"] == []  # nothing left undecided


def test_a_row_with_an_unknown_intent_or_an_identifier_is_refused_and_nothing_changes(project, tmp_path, flags, real_redaction):
    inbox = exported(project, tmp_path, flags)
    path = inbox["en"]["path"]
    target = project / "data/nlu/en/ask_payment_status.yml"
    original = target.read_text(encoding="utf-8")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["items"][0].update(decision="keep", intent="ask_payments")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(review.ReviewFileError, match="intent 'ask_payments' does not exist"):
        sources.apply(project, path, redactor=sources.load_redactor())
    data["items"][0].update(intent="ask_payment_status", text=f"call me on {MOBILE} about my claim")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(review.ReviewFileError, match="still holds an identifier"):
        sources.apply(project, path, redactor=sources.load_redactor())
    assert target.read_text(encoding="utf-8") == original


def test_the_command_line_refuses_a_broken_file_politely(tmp_path, capsys, real_redaction):
    broken = tmp_path / "zh.yml"
    broken.write_text("language: zh\nitems:\n  - text: [unclosed\n", encoding="utf-8")
    assert trainers_main(["review", "apply", str(broken)]) == 1
    assert "Nothing was changed" in capsys.readouterr().out


def user(cid: str, text: str, intent: str, confidence: float, at: float = 1.7e9) -> review.Event:
    return review.Event(cid, "user", at, {"event": "user", "text": text,
                                          "parse_data": parse(intent, confidence, "en")})


def action(cid: str, name: str, at: float = 1.7e9) -> review.Event:
    return review.Event(cid, "action", at, {"event": "action", "name": name})


def test_collect_picks_the_unresolved_question_before_a_handoff_and_skips_buttons_and_known_text():
    events = [
        action("a", "action_session_start"),
        user("a", "my benefit letter makes no sense", "ask_payment_status", 0.9),
        user("a", "/request_human", "request_human", 1.0),  # a button press, not words
        user("a", "agent please", "request_human", 0.97),
        action("a", "action_handoff"),
        action("b", "action_session_start"),
        user("b", "hello", "greet", 0.3),  # low confidence, but already a training example
        user("b", "zzzz qqq", "out_of_scope", 0.31),
        action("b", "action_session_start"),  # a new session forgets the old messages
        action("b", "action_handoff"),
    ]
    rows = review.collect(events, [], redactor=str.upper, known={("en", "HELLO")})
    assert [(r.text, r.reasons, r.intent) for r in rows["en"]] == [
        ("MY BENEFIT LETTER MAKES NO SENSE", ["handoff"], "ask_payment_status"),
        ("ZZZZ QQQ", ["low confidence (0.31)"], "out_of_scope")]


def test_the_same_message_in_two_conversations_is_one_row_counted_twice():
    events = [user("a", "pension??", "nlu_fallback", 0.2), user("b", "pension ??", "nlu_fallback", 0.1)]
    rows = review.collect(events, [], redactor=lambda t: t, normalise=lambda t: t.replace(" ", ""))
    assert len(rows["en"]) == 1 and rows["en"][0].count == 2
    assert "(2 times)" in review.inbox_yaml(rows["en"], lang="en", path="x.yml", exported="now")


@pytest.mark.stack
def test_a_real_conversation_feeds_the_inbox(stack, client, sender, tmp_path, real_redaction):
    """Through the running bot: a message it cannot place, then a question and a request for a
    person; the inbox reads them from the stack's own SQLite tracker store, redacted."""
    client.say(sender, f"qzx vvrp {MOBILE} blorft")
    client.say(sender, f"my carers money stopped and nobody answers, card {BANK_CARD} id {ID_NUMBER}")
    client.say(sender, "talk to a person")
    actions = [e.get("name") for e in client.tracker(sender)["events"] if e["event"] == "action"]
    assert "action_handoff" in actions
    events = [e for e in sources.read_events(f"sqlite:///{stack.settings.var_dir / 'tracker.db'}")
              if e.conversation_id == sender]
    rows = review.collect(events, [], redactor=sources.load_redactor())["en"]
    whys = {row.text: row.reasons for row in rows}
    assert any("[PHONE]" in text and ("fallback" in why or why[0].startswith("low confidence"))
               for text, why in whys.items()), whys
    assert any("carers money" in text and "handoff" in why for text, why in whys.items()), whys
    written = "".join(review.inbox_yaml(rows, lang="en", path="x", exported="now"))
    assert not any(identifier in written for identifier in IDENTIFIERS) and sender not in written


def test_only_what_happened_since_the_last_export_counts_but_a_handoff_finds_its_older_question():
    events = [
        user("a", "old gibberish qq", "nlu_fallback", 0.1, at=100.0),  # exported last time
        user("a", "why was my pension cut", "ask_pension", 0.9, at=150.0),
        user("a", "a person please", "request_human", 0.99, at=250.0),
        action("a", "action_handoff", at=250.5),
    ]
    rows = review.collect(events, [], redactor=lambda t: t, since=200.0)
    assert [(r.text, r.reasons) for r in rows["en"]] == [("why was my pension cut", ["handoff"])]
