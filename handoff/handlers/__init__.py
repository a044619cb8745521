"""The agent protocol's requests (handoff/protocol.py), one async function per request type:
`handler(desk, session, request)` returns the fields of the `ok` reply (or None) and raises a
DeskError for a typed `error` reply. The server (handoff/server.py) looks a frame's type up in
HANDLERS.

    tickets.py     changing tickets: claim, claim_next, release, transfer, return, close, note,
                   and talking to the claimant: message, typing; the agent's presence
    reading.py     reading conversations: snapshot, brief, suggest, reveal, flag
    supervisor.py  supervisors' figures: supervision, report, csat
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional

from handoff import protocol
from handoff.desk_context import DeskContext
from handoff.exceptions import ProtocolError
from handoff.handlers import reading, supervisor, tickets
from handoff.session import Session

Handler = Callable[[DeskContext, Session, protocol.Request], Awaitable[Optional[Dict[str, Any]]]]


async def _auth(desk: DeskContext, session: Session, request: protocol.Request) -> None:
    raise ProtocolError("bad_request", "already authenticated", request.ref)


HANDLERS: Dict[str, Handler] = {
    "auth": _auth,
    "claim": tickets.claim, "claim_next": tickets.claim_next, "release": tickets.release,
    "transfer": tickets.transfer, "return": tickets.return_, "close": tickets.close, "note": tickets.note,
    "message": tickets.message, "typing": tickets.typing, "presence": tickets.presence,
    "snapshot": reading.snapshot_request, "brief": reading.brief, "suggest": reading.suggest,
    "reveal": reading.reveal, "flag": reading.flag,
    "supervision": supervisor.supervision, "report": supervisor.report, "csat": supervisor.csat,
}
