"""Claimant satisfaction (CSAT) after a person held the conversation: the survey record, the
rules for a rating and a comment, and the aggregation a supervisor view reads. Pure: no Redis,
no clock (handoff/csat_store.py stores the records; docs/handoff-queue.md has the keys).

When an agent returns or closes a conversation they held, the desk asks the claimant one
question (a 1-5 rating, `buttons`) and writes a `Survey` with the agent, the topic and the
language. The bot catches the answer (actions/csat.py): the rating, then an optional comment.
A claimant who writes anything else is answered as usual; the survey stays unanswered.

    aggregate(surveys, by="agent")  ->  {agent: Summary(asked, rated, mean, scores, comments)}
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from handoff.exceptions import InvalidRequest
from handoff.tickets import State, Ticket

SCORES = (1, 2, 3, 4, 5)
#: The intent of a rating and its entity (bot/domain/csat.yml); the desk's buttons send it.
RATE_INTENT = "csat_rate"
SCORE_ENTITY = "csat_score"
#: The slot the desk sets on resume: the ticket the rating is for (never taken from a payload).
TICKET_SLOT = "csat_ticket"
MAX_COMMENT_CHARS = 1000
#: What the survey is grouped by for a supervisor.
GROUPS = ("agent", "topic", "language", "channel")
NO_TOPIC = "none"

_DIGIT_WORDS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
                "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_SCORE_IN_TEXT = re.compile(r"(?<![\d.])([1-5])(?![\d.])|([一二两三四五])\s*(?:分|星|颗星)|\b(one|two|three|four|five)\b",
                            re.IGNORECASE)


@dataclass(frozen=True)
class Survey:
    """One question asked after one ticket, and the answer if any. `topic` is the ticket's main
    topic (the brief's most confident topic intent, else "none"); `ending` is `returned` or
    `closed`; `score` and `comment` stay None until the claimant answers."""

    ticket_id: str
    conversation_id: str
    agent: str
    topic: str
    language: str
    channel: str
    ending: str
    asked_at: float
    score: Optional[int] = None
    rated_at: Optional[float] = None
    comment: Optional[str] = None
    commented_at: Optional[float] = None

    def as_fields(self) -> Dict[str, str]:
        """As a Redis hash (strings; unanswered fields left out)."""
        return {name: str(value) for name, value in self.__dict__.items() if value is not None}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> "Survey":
        def number(name: str) -> Optional[float]:
            return float(fields[name]) if fields.get(name) else None

        score = fields.get("score")
        return cls(ticket_id=fields["ticket_id"], conversation_id=fields["conversation_id"],
                   agent=fields.get("agent", ""), topic=fields.get("topic") or NO_TOPIC,
                   language=fields.get("language", ""), channel=fields.get("channel", ""),
                   ending=fields.get("ending", ""), asked_at=float(fields["asked_at"]),
                   score=int(score) if score else None, rated_at=number("rated_at"),
                   comment=fields.get("comment") or None, commented_at=number("commented_at"))


def should_ask(ticket: Ticket) -> bool:
    """Ask after a ticket a person held that was returned or closed; not after a callback (the
    person called; the chat may be long over) or a ticket nobody claimed."""
    return ticket.state in (State.RETURNED, State.CLOSED) and ticket.callback is None and bool(held_by(ticket))


def held_by(ticket: Ticket) -> str:
    """The agent who held the ticket when it was returned or closed ("" if nobody did)."""
    last = ticket.history[-1] if ticket.history else None
    return str((last.detail.get("agent") if last else None) or ticket.agent or "")


def topic_of(ticket: Ticket) -> str:
    """The ticket's topic: the brief's most confident topic intent, else "none"."""
    topics = (ticket.brief or {}).get("topics") or []
    best = max((x for x in topics if isinstance(x, Mapping) and x.get("intent")),
               key=lambda x: x.get("confidence") or 0, default=None)
    return str(best["intent"]) if best else NO_TOPIC


def survey_for(ticket: Ticket, *, at: float) -> Survey:
    """The unanswered survey of a returned or closed ticket (check `should_ask` first)."""
    return Survey(ticket_id=ticket.id, conversation_id=ticket.conversation_id, agent=held_by(ticket),
                  topic=topic_of(ticket), language=ticket.language, channel=ticket.channel,
                  ending=ticket.state.value, asked_at=at)


def buttons(titles: Iterable[str]) -> List[Dict[str, str]]:
    """The five rating buttons, 1 first, so that WeChat's numbered option n is the score n."""
    titles = list(titles)
    if len(titles) != len(SCORES):
        raise InvalidRequest(f"a rating needs {len(SCORES)} button titles, not {len(titles)}")
    return [{"title": title, "payload": f'/{RATE_INTENT}{{"{SCORE_ENTITY}": {score}}}'}
            for score, title in zip(SCORES, titles)]


def score_of(value: Any, text: str = "") -> Optional[int]:
    """The rating 1-5 from the entity (a button's payload), else from the words ("我给4分",
    "five stars"); None if there is none, or more than one different number."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value in SCORES else None
    found = set()
    for digit, word, english in _SCORE_IN_TEXT.findall(unicodedata.normalize("NFKC", text or "")):
        found.add(int(digit) if digit else _DIGIT_WORDS[(word or english).lower()])
    return found.pop() if len(found) == 1 else None


def clean_comment(text: Any) -> str:
    """The comment as stored: stripped, at most MAX_COMMENT_CHARS. Raises InvalidRequest if empty."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest("a comment needs text")
    return text.strip()[:MAX_COMMENT_CHARS]


# ----- what a supervisor sees ------------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    """One group's figures: questions asked, ratings given, their mean (None when none), the
    count of each score 1-5, and the comments (newest last)."""

    asked: int = 0
    rated: int = 0
    mean: Optional[float] = None
    scores: Dict[int, int] = field(default_factory=lambda: {score: 0 for score in SCORES})
    comments: Tuple[str, ...] = ()

    @property
    def response_rate(self) -> Optional[float]:
        return self.rated / self.asked if self.asked else None

    def as_dict(self) -> Dict[str, Any]:
        return {"asked": self.asked, "rated": self.rated, "mean": self.mean,
                "response_rate": self.response_rate, "scores": {str(k): v for k, v in self.scores.items()},
                "comments": list(self.comments)}


def aggregate(surveys: Iterable[Survey], *, by: str = "agent", since: Optional[float] = None,
              until: Optional[float] = None) -> Dict[str, Summary]:
    """Surveys asked in [since, until) grouped by `agent`, `topic`, `language` or `channel`."""
    if by not in GROUPS:
        raise InvalidRequest(f"CSAT groups by one of {GROUPS}, not {by!r}")
    groups: Dict[str, List[Survey]] = {}
    for survey in sorted(surveys, key=lambda s: s.asked_at):
        if (since is not None and survey.asked_at < since) or (until is not None and survey.asked_at >= until):
            continue
        groups.setdefault(str(getattr(survey, by) or NO_TOPIC), []).append(survey)
    summaries = {}
    for key, members in sorted(groups.items()):
        rated = [s.score for s in members if s.score is not None]
        scores = {score: rated.count(score) for score in SCORES}
        summaries[key] = Summary(asked=len(members), rated=len(rated),
                                 mean=round(sum(rated) / len(rated), 2) if rated else None, scores=scores,
                                 comments=tuple(s.comment for s in members if s.comment))
    return summaries
