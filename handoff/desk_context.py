"""What every part of one desk process works with (the server, the request handlers, the stream
workers, the leader's duties): the settings, the queue, the claimant outbox, Rasa's API, the
phrases, the knowledge base, the asyncio Redis client, the consoles connected to this process;
and the few acts they share: run a blocking queue call in a thread, tell a claimant something,
send a frame to the consoles that may see it, offer a knowledge-base answer.

The queue is synchronous redis-py; `io` runs its calls in worker threads.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Set

import redis.asyncio as aioredis

from handoff import kb
from handoff import suggestion as suggestions
from handoff.agent_messages import AgentMessages
from handoff.csat_store import CsatStore
from handoff.outbox import Outbox, message as outbox_message
from handoff.phrases import Phrases
from handoff.queue import Queue
from handoff.rasa_api import RasaAPI
from handoff.rasa_writes import RasaWrites
from handoff.session import Session
from handoff.settings import DeskSettings
from handoff.tickets import Ticket


@dataclass
class DeskContext:
    settings: DeskSettings
    queue: Queue
    outbox: Outbox
    rasa: RasaAPI
    phrases: Phrases
    events: "aioredis.Redis[str]"
    knowledge: kb.KnowledgeBase
    kb_words: Phrases
    #: agent id -> this process's sessions of that agent
    sessions: Dict[str, Set[Session]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.titles = self.knowledge.titles()
        self.csat = CsatStore(self.queue.redis)
        self.agent_messages = AgentMessages(self.queue.redis, maxlen=self.settings.stream_maxlen)
        self.rasa_writes = RasaWrites(self.queue.redis, self.rasa, self.outbox)

    async def io(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(function, *args, **kwargs)

    async def to_claimant(self, ticket: Ticket, kind: str, **fields: Any) -> None:
        entry = outbox_message(kind, conversation_id=ticket.conversation_id, language=ticket.language, **fields)
        await self.io(self.outbox.send, ticket.channel, entry)

    async def back_in_queue(self, ticket: Ticket, agent_id: Optional[str],
                            phrase: str = "utter_handoff_requeued") -> None:
        """The claimant is told the person left and that they are waiting again."""
        await self.to_claimant(ticket, "agent_left", **({"agent_id": agent_id} if agent_id else {}))
        await self.to_claimant(ticket, "notice", text=self.phrases.say(phrase, ticket.language))

    async def broadcast(self, who: Callable[[Session], bool], frame: str) -> None:
        sessions = [s for group in self.sessions.values() for s in group if who(s)]
        await asyncio.gather(*(s.send(frame) for s in sessions))

    def suggestion(self, topic: Optional[str], language: str) -> Optional[Dict[str, Any]]:
        """The knowledge-base entry `topic` as a reply in `language`; None without one."""
        entry = self.knowledge.get(topic)
        return suggestions.suggest(entry, language, self.kb_words).as_dict() if entry else None
