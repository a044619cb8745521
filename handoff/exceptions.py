"""Errors raised by the agent desk (`handoff`). Catch `DeskError` to catch them all.

    DeskError
    ├── InvalidRequest      an argument is not acceptable: an unknown priority, state or close
    │                       reason, a malformed language code, agent id or callback contact
    ├── TicketNotFound      no ticket has that id (never created, erased, or expired)
    ├── UnknownAgent        the agent has never come online (no presence record)
    ├── InvalidTransition   the ticket's state does not allow that event (closing a closed ticket)
    │   └── NotHolder       the acting agent does not hold the ticket it acts on
    ├── AtCapacity          the agent already holds as many tickets as they may (a claim is refused)
    ├── BriefError          the tracker given to build a brief is not a tracker
    ├── ProtocolError       an agent console's frame is not valid JSON, has an unknown type or
    │                       a missing or wrong field (`code` says which; the connection stays open)
    ├── AuthenticationFailed an agent's token is unknown (the connection is closed, code 4001)
    ├── RasaUnavailable     the Rasa HTTP API did not accept the tracker change; retry
    └── QueueUnavailable    Redis cannot be reached, answered with an error, or the ticket kept
                            changing under us past the retry limit

A lost claim race is not an error: `claim` returns None. Errors become WebSocket close codes,
HTTP statuses or polite messages only at the edge (the desk server, the action server).
"""
from __future__ import annotations


class DeskError(Exception):
    """Root of every error the agent desk raises on purpose."""


class InvalidRequest(DeskError, ValueError):
    """An argument is not acceptable; the message says which and why. Fix the call."""


class TicketNotFound(DeskError, LookupError):
    """No ticket has that id."""

    def __init__(self, ticket_id: str):
        super().__init__(f"no ticket {ticket_id!r}")
        self.ticket_id = ticket_id


class UnknownAgent(DeskError, LookupError):
    """The agent has no presence record: call `agent_online` first."""

    def __init__(self, agent_id: str):
        super().__init__(f"agent {agent_id!r} has never come online")
        self.agent_id = agent_id


class InvalidTransition(DeskError):
    """The ticket's state does not allow the event. Re-read the ticket and show its state."""

    def __init__(self, ticket_id: str, state: str, event: str, why: str = ""):
        message = f"ticket {ticket_id!r} is {state}: cannot apply {event!r}"
        super().__init__(f"{message} ({why})" if why else message)
        self.ticket_id, self.state, self.event = ticket_id, state, event


class NotHolder(InvalidTransition):
    """The acting agent does not hold the ticket (someone else does, or nobody does)."""


class AtCapacity(DeskError):
    """The agent holds `held` tickets and may hold at most `capacity`: nothing was claimed.
    Return or close one first (or ask a supervisor to raise the capacity)."""

    def __init__(self, agent_id: str, held: int, capacity: int):
        super().__init__(f"{agent_id!r} holds {held} ticket(s) and may hold at most {capacity}")
        self.agent_id, self.held, self.capacity = agent_id, held, capacity


class BriefError(DeskError, ValueError):
    """The tracker is not shaped like Rasa's GET /conversations/<id>/tracker answer."""


class QueueUnavailable(DeskError):
    """Redis could not serve the request. Retry later; nothing was half-written."""


class ProtocolError(DeskError, ValueError):
    """A console frame the desk cannot act on. `code` is the error code sent back (see
    handoff/protocol.py); `ref` echoes the frame's ref when it had one."""

    def __init__(self, code: str, message: str, ref: object = None):
        super().__init__(message)
        self.code, self.ref = code, ref


class AuthenticationFailed(DeskError):
    """No agent has that token. Close the connection; never say which part was wrong."""


class RasaUnavailable(DeskError):
    """The Rasa HTTP API refused or did not answer; the change was not recorded. Retry."""
