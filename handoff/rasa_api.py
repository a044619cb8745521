"""The few calls the desk makes to the Rasa HTTP API (`rasa run --enable-api --auth-token`).

Agent messages and the return to the bot are appended to the conversation's tracker, so the
tracker stays the one record of the conversation whoever spoke. Raises RasaUnavailable.
"""
from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import quote

import aiohttp

from handoff.exceptions import RasaUnavailable


class RasaAPI:
    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0):
        self.base_url, self.token = base_url.rstrip("/"), token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _url(self, conversation_id: str, suffix: str = "") -> str:
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/tracker{suffix}"

    async def tracker(self, conversation_id: str) -> Dict[str, Any]:
        try:
            async with self._client().get(self._url(conversation_id), params={"token": self.token}) as reply:
                if reply.status != 200:
                    raise RasaUnavailable(f"Rasa answered {reply.status} for the tracker")
                return await reply.json()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaUnavailable(f"Rasa: {error}") from error

    async def append(self, conversation_id: str, events: List[Dict[str, Any]]) -> None:
        """Appends events to the tracker (without running any action)."""
        try:
            async with self._client().post(self._url(conversation_id, "/events"), json=events,
                                           params={"token": self.token}) as reply:
                if reply.status != 200:
                    raise RasaUnavailable(f"Rasa answered {reply.status}: {(await reply.text())[:200]}")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaUnavailable(f"Rasa: {error}") from error


#: The metadata field of a `resume` event naming the ticket whose ending wrote it.
MARKER = "desk_write"


def written(tracker: Dict[str, Any], marker: str) -> bool:
    """Whether the tracker has the `resume` event of `marker`'s ending."""
    return any(isinstance(e, dict) and e.get("event") == "resume" and (e.get("metadata") or {}).get(MARKER) == marker
               for e in tracker.get("events") or [])


def agent_message_event(text: str, agent_id: str, at: Optional[float] = None, *,
                        message_id: Optional[str] = None) -> Dict[str, Any]:
    """`message_id`: the console's id for it (handoff/agent_messages.py finds it by this)."""
    metadata = {"agent_id": agent_id, **({"message_id": message_id} if message_id else {})}
    return {"event": "bot", "text": text, "timestamp": time.time() if at is None else at, "metadata": metadata}


def resume_events(text: Optional[str], at: Optional[float] = None, *,
                  then: Sequence[Dict[str, Any]] = (), marker: Optional[str] = None) -> List[Dict[str, Any]]:
    """`resume`, the bot's line to the claimant if any, the events `then` (a survey's slot and
    question), then `action_listen`.

    The listen closes the turn the handoff opened: without it the claimant's messages written
    while a person held the conversation are a turn with no action, and RulePolicy answers the
    next question with the core fallback (which hands off again)."""
    now = time.time() if at is None else at
    events: List[Dict[str, Any]] = [{"event": "resume", "timestamp": now}]
    if marker:
        events[0]["metadata"] = {MARKER: marker}
    if text:
        events.append({"event": "bot", "text": text, "timestamp": now, "metadata": {"desk": True}})
    events.extend(then)
    events.append({"event": "action", "name": "action_listen", "timestamp": now, "policy": None,
                   "confidence": 1.0})
    return events


def survey_events(ticket_id: str, text: str, buttons: List[Dict[str, str]],
                  at: Optional[float] = None) -> List[Dict[str, Any]]:
    """The slot naming the ticket a rating is for (actions/csat.py reads it; a payload never names
    a ticket), and the question with its buttons as the bot's message (so the transcript, the
    widget's history and the claimant's copy have it)."""
    now = time.time() if at is None else at
    return [{"event": "slot", "name": "csat_ticket", "value": ticket_id, "timestamp": now},
            {"event": "bot", "text": text, "timestamp": now, "data": {"buttons": buttons},
             "metadata": {"desk": True}}]
