"""The Rasa process's turns, counted where Rasa handles a claimant's message.

Every channel (widget, WeChat, REST) hands its messages to `Agent.handle_message`, which takes the
conversation's lock and runs `MessageProcessor.handle_message`, which saves the turn with
`MessageProcessor.save_tracker`. `install()` (bot/rasa_server.py) wraps those three:

- the agent's: times the whole turn, the lock included, and counts it once it has returned
  (messages in, bot messages out, latency: definitions.turn_finished), or counts the error:
  `turn_not_finished` (a custom action failed, bot/turn_guard.py) or `turn_failed`;
- the processor's: notes when the turn began inside the lock, so only this turn's events count;
- the save: keeps the tracker as saved, to read the turn's bot messages (events stamped since the
  turn began) and the conversation's language after it.

A turn that is not saved counts no message; the channel runs it again (a new turn) or tells the
claimant. Nothing here reads Redis or the database.
"""
from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Optional

from bot.monitoring import definitions as metrics
from bot.turn_guard import TurnNotFinished


@dataclass
class Turn:
    channel: Optional[str]
    began: float = 0.0  # time.time() when the processor took the message, inside the lock
    tracker: Any = None  # the tracker as saved


_turn: "ContextVar[Optional[Turn]]" = ContextVar("renben_turn", default=None)


def bot_messages_since(tracker: Any, began: float) -> int:
    """Bot utterances the tracker got at or after `began` (epoch seconds), newest first until older."""
    count = 0
    for event in reversed(tracker.events):
        if getattr(event, "timestamp", 0) < began:
            break
        if getattr(event, "type_name", None) == "bot":
            count += 1
    return count


def observed(turn: Turn, seconds: float) -> None:
    """Counts a finished turn (nothing when Rasa did not save one: no model loaded)."""
    if turn.tracker is None:
        return
    metrics.turn_finished(channel=turn.channel, language=turn.tracker.get_slot("language"),
                          replies=bot_messages_since(turn.tracker, turn.began), seconds=seconds)


def install() -> None:
    """Wraps Agent.handle_message, MessageProcessor.handle_message and .save_tracker (once)."""
    from rasa.core.agent import Agent
    from rasa.core.processor import MessageProcessor

    if getattr(Agent, "_renben_observed", False):
        return
    agent_handle, processor_handle = Agent.handle_message, MessageProcessor.handle_message
    save = MessageProcessor.save_tracker

    async def handle_message(self: Any, message: Any) -> Any:
        turn = Turn(getattr(message, "input_channel", None))
        token = _turn.set(turn)
        started = time.perf_counter()
        try:
            result = await agent_handle(self, message)
        except TurnNotFinished:
            metrics.error("turn_not_finished")
            raise
        except Exception:
            metrics.error("turn_failed")
            raise
        finally:
            _turn.reset(token)
        observed(turn, time.perf_counter() - started)
        return result

    async def process(self: Any, message: Any) -> Any:
        turn = _turn.get()
        if turn is not None:
            turn.began = time.time()
        return await processor_handle(self, message)

    async def save_tracker(self: Any, tracker: Any) -> None:
        await save(self, tracker)
        turn = _turn.get()
        if turn is not None:
            turn.tracker = tracker

    Agent.handle_message = handle_message
    MessageProcessor.handle_message = process
    MessageProcessor.save_tracker = save_tracker
    Agent._renben_observed = True
