"""Supervisors' requests: the live queue, a period's figures, satisfaction (handoff/handlers/__init__.py)."""
from __future__ import annotations

from typing import Any, Dict

from handoff import csat as satisfaction
from handoff import protocol, report_sources, reports
from handoff.desk_context import DeskContext
from handoff.exceptions import ProtocolError
from handoff.session import Session


def _supervisors_only(session: Session, request: protocol.Request, why: str = "") -> None:
    if not session.account.is_supervisor:
        raise ProtocolError("forbidden", why or f"{request.type} is for supervisors", request.ref)


async def supervision(desk: DeskContext, session: Session, request: protocol.Request) -> None:
    """The live queue, for supervisors: numbers and ticket ids, never a transcript."""
    _supervisors_only(session, request)
    live = await desk.io(report_sources.live, desk.queue)
    await session.send(protocol.event("supervision", ref=request.ref, live=live))


async def report(desk: DeskContext, session: Session, request: protocol.Request) -> None:
    """The figures of a period, for supervisors (handoff/reports.py)."""
    _supervisors_only(session, request)
    span = reports.Period.create(request["from"], request["to"])
    figures = await desk.io(report_sources.period, desk.queue, span)
    await session.send(protocol.event("report", ref=request.ref, report=figures))


async def csat(desk: DeskContext, session: Session, request: protocol.Request) -> Dict[str, Any]:
    """Satisfaction surveys asked in [since, until) grouped by `by` (handoff/csat.py
    `aggregate`); supervisors only (the comments are claimants' words, redacted)."""
    _supervisors_only(session, request, "only supervisors see satisfaction figures")
    since, until = request.get("since", float("-inf")), request.get("until", float("inf"))
    surveys = await desk.io(desk.csat.asked_between, since, until)
    groups = satisfaction.aggregate(surveys, by=request.get("by", "agent"))
    return {"by": request.get("by", "agent"), "since": request.get("since"), "until": request.get("until"),
            "groups": {key: summary.as_dict() for key, summary in groups.items()}}
