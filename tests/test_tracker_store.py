"""bot/tracker_store.py saves what Rasa's SQLTrackerStore saves and streams what it streams,
without reading the tracker back."""
from __future__ import annotations

import asyncio
import sqlite3
from typing import Any, Dict, List

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore as RasaSQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from bot.tracker_store import SQLTrackerStore

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet, thank]
slots:
  language: {type: text, influence_conversation: false, mappings: [{type: custom}]}
""")


class Recording(EventBroker):
    def __init__(self) -> None:
        self.events: List[Dict[str, Any]] = []

    def publish(self, event: Dict[str, Any]) -> None:
        self.events.append(event)


def turn(n: int, intent: str) -> list:
    return [UserUttered(f"message {n}", {"name": intent, "confidence": 1.0}, timestamp=100.0 + n),
            SlotSet("language", "en", timestamp=100.1 + n),
            ActionExecuted("utter_x", timestamp=100.2 + n),
            BotUttered(f"answer {n}", timestamp=100.3 + n),
            ActionExecuted("action_listen", timestamp=100.4 + n)]


async def conversation(store: Any) -> None:
    tracker = store.init_tracker("someone")
    tracker.update(ActionExecuted("action_listen", timestamp=99.0))
    await store.save(tracker)
    for n, intent in enumerate(["greet", "thank", "greet"]):
        tracker = await store.retrieve("someone")
        for event in turn(n, intent):
            tracker.update(event)
        await store.save(tracker)
    tracker = await store.retrieve("someone")  # a new session, then one more turn
    tracker.update(ActionExecuted("action_session_start", timestamp=200.0))
    tracker.update(SessionStarted(timestamp=200.1))
    tracker.update(ActionExecuted("action_listen", timestamp=200.2))
    await store.save(tracker)
    tracker = await store.retrieve("someone")
    for event in turn(200, "thank"):
        tracker.update(event)
    await store.save(tracker)


def rows(path) -> list:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
                          "FROM events ORDER BY id").fetchall()


def test_the_same_rows_and_stream_as_rasa_s_store_without_reading_the_tracker_back(tmp_path, monkeypatch):
    theirs, ours = Recording(), Recording()
    rasa_store = RasaSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa.db"), event_broker=theirs)
    our_store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "ours.db"), event_broker=ours)
    asyncio.run(conversation(rasa_store))

    reads = []
    retrieve = SQLTrackerStore.retrieve

    async def counted(self, sender_id):
        reads.append(sender_id)
        return await retrieve(self, sender_id)

    monkeypatch.setattr(SQLTrackerStore, "retrieve", counted)
    asyncio.run(conversation(our_store))

    assert rows(tmp_path / "ours.db") == rows(tmp_path / "rasa.db")
    assert len(rows(tmp_path / "ours.db")) == 1 + 3 * 5 + 3 + 5
    assert ours.events == theirs.events
    assert len(reads) == 3 + 1 + 1  # the test's own reads only: none inside save


def test_without_a_broker_it_stores_the_events(tmp_path):
    store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    asyncio.run(conversation(store))
    tracker = asyncio.run(store.retrieve("someone"))
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["message 200"]
