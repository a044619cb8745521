"""A turn whose custom action failed is not committed (issue 17, item 2).

Rasa 3.6 (rasa.core.processor.MessageProcessor._run_action) logs a custom action that could not
be run (the action server died, refused the connection, answered 5xx or timed out), records the
action as executed with no events, predicts `action_listen` and saves the tracker: the claimant's
message is in the tracker, unanswered, and the channel acknowledges it. Nothing would retry it.

Installed in the Rasa process (bot/rasa_server.py), this guard remembers, for the prediction loop
that is running, every custom action whose call failed (a rejection, the action server's own 400
for a form, is not a failure), and raises `TurnNotFinished` when the loop ends, before Rasa saves
the tracker or streams the turn's events: the turn leaves no trace in the tracker, and the
channel either runs it again or tells the claimant to send it again (bot/channels/web/channel.py,
bot/channels/wechat/channel.py). An action that did its effect and then failed to answer may thus
run twice: the actions that change state are idempotent by message id (actions/effects.py).

It also bounds how long one action call may take (`RENBEN_ACTION_TIMEOUT`, 20 s; Rasa waits
5 minutes): a stopped action server holds the conversation's turn for that long at most.
"""
from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

from core.settings import current

logger = logging.getLogger(__name__)

_failed: "ContextVar[Optional[List[str]]]" = ContextVar("renben_failed_actions", default=None)


class TurnNotFinished(Exception):
    """A custom action of the turn could not be run; nothing of the turn was saved. The caller
    runs the message again or asks the claimant to send it again; it must not acknowledge it."""

    def __init__(self, actions: Sequence[str]) -> None:
        self.actions = tuple(actions)
        super().__init__(f"custom action(s) failed: {', '.join(self.actions)}; the turn was not saved")


@dataclass
class RetrySchedule:
    """When to run a turn that was not finished again: after `first` seconds, doubling up to
    `longest`, as long as the next attempt starts within `within` seconds of the first."""

    within: float
    first: float = 0.5
    longest: float = 4.0
    attempts: int = 0

    def next_wait(self, elapsed: float) -> Optional[float]:
        """Seconds to wait before the next attempt, `elapsed` seconds after the first began;
        None: the bound is spent, ask the claimant to send the message again."""
        wait = min(self.longest, self.first * 2 ** self.attempts)
        if elapsed + wait > self.within:
            return None
        self.attempts += 1
        return wait


def note_failure(action_name: str) -> None:
    """Records that `action_name` failed in the turn running in this task (if any)."""
    failures = _failed.get()
    if failures is not None:
        failures.append(action_name)


def install(timeout: Optional[float] = None) -> None:
    """Wraps RemoteAction.run and MessageProcessor._run_prediction_loop (once per process);
    `timeout`: seconds one action call may take (default: the process's RENBEN_ACTION_TIMEOUT)."""
    from rasa.core.actions import action as rasa_action
    from rasa.core.processor import MessageProcessor

    rasa_action.DEFAULT_REQUEST_TIMEOUT = timeout or current().action_timeout  # read by RemoteAction.run
    if getattr(MessageProcessor, "_renben_turn_guard", False):
        return
    run = rasa_action.RemoteAction.run
    loop = MessageProcessor._run_prediction_loop

    async def guarded_run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await run(self, *args, **kwargs)
        except rasa_action.ActionExecutionRejection:
            raise
        except Exception:
            note_failure(self.name())
            raise

    async def guarded_loop(self: Any, output_channel: Any, tracker: Any) -> None:
        failures: List[str] = []
        token = _failed.set(failures)
        try:
            await loop(self, output_channel, tracker)
        finally:
            _failed.reset(token)
        if failures:
            logger.warning("turn of %s not saved: action(s) %s failed", tracker.sender_id, ", ".join(failures))
            raise TurnNotFinished(failures)

    rasa_action.RemoteAction.run = guarded_run
    MessageProcessor._run_prediction_loop = guarded_loop
    MessageProcessor._renben_turn_guard = True
