"""Rasa's SQL tracker store (SQLite or PostgreSQL), saving a turn with one read instead of two.

Rasa 3.6's `SQLTrackerStore.save` streams the new events to the event broker by reading the
whole tracker back from the database and replaying it (`stream_events`: a second `retrieve` per
turn) only to count the events already stored, then counts them again with a query to know which
rows to insert. This store counts once and streams and inserts the same events: the rows, the
broker's events and their order (streamed, then written) are Rasa's.

endpoints.yml (bot/settings.py writes it): `tracker_store: {type: bot.tracker_store.SQLTrackerStore,
dialect: ..., ...}` with SQLTrackerStore's own options.
"""
from __future__ import annotations

import json
from typing import List

from rasa.core import tracker_store as rasa_stores
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY


class SQLTrackerStore(rasa_stores.SQLTrackerStore):
    async def save(self, tracker: DialogueStateTracker) -> None:
        """Streams, then stores, the events of `tracker` not yet stored."""
        with self.session_scope() as session:
            events: List[Event] = list(self._additional_events(session, tracker))
            if self.event_broker is not None:
                await self._stream_new_events(self.event_broker, events, tracker.sender_id)
            for event in events:
                data = event.as_dict()
                session.add(self.SQLEvent(
                    sender_id=tracker.sender_id,
                    type_name=event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    action_name=data.get("name"),
                    data=json.dumps(data),
                ))
            session.commit()
