"""Every metric Renben exposes: its name, labels and help text, the values its labels may take,
and which process exposes it. Nothing else in the code names a metric.

Two kinds:

- **counted in the process** where a message passes (prometheus_client objects below, recorded
  through the functions at the end): turns, messages, WeChat replies, errors. Each process
  counts its own; add them up across processes (`sum`).
- **read from Redis when Prometheus scrapes** (`Family` specs below; handoff/monitoring.py reads
  them): handoffs, the queue, agents. They describe the whole deployment, so every desk process
  reports the same values: take `max` across desk processes, never `sum`.

Labels are bounded: a channel, a language, a priority, a reason kind, a state, an error kind:
never a conversation id, an OpenID, an agent id or any text a person wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from core.language_codes import LANGUAGES

# ----- label values ------------------------------------------------------------------------------

#: Claimant channels (the tracker's input channel); any other is counted as OTHER.
CHANNELS = ("web", "wechat", "rest")
OTHER = "other"
#: A conversation whose language is not one of LANGUAGES (not yet known, or a code from elsewhere).
UNKNOWN = "unknown"
#: Who a message to a claimant came from: the bot's turn, an agent, or the desk's own notices
#: (agent joined, place in the queue, conversation returned to the bot).
SENDERS = ("bot", "agent", "desk")
#: How the WeChat gateway answered one of WeChat's requests (bot/channels/wechat/webhook.py):
#: the bot's answer in the HTTP reply (`passive`), `success` and the answer later through the
#: customer-service API (`async`), answered by the gateway itself (`gateway`: subscribe, media,
#: a claimant over their limit), or a retry of a message answered before (`repeat`).
WECHAT_PATHS = ("passive", "async", "gateway", "repeat")
#: WeChat closes the request after 5 s: an answer after that is lost, and WeChat retries.
WECHAT_LIMIT_SECONDS = 5.0
#: Agents' states, as the supervisor's live view counts them (handoff/reports.py `live_view`):
#: `busy` holds a conversation, `available` and `away` as the agent set it. Offline agents are
#: not counted.
AGENT_STATES = ("available", "away", "busy")

#: Every kind of error counted, and what it means (docs/operations.md lists them too).
ERROR_KINDS: Dict[str, str] = {
    "turn_not_finished": "Rasa: a custom action of a turn failed; nothing was saved and the channel "
    "runs the message again (bot/turn_guard.py)",
    "turn_failed": "Rasa: a turn raised an error (Redis, the tracker store, a bug); nothing was saved",
    "not_answered": "Rasa: a claimant was asked to send their message again (the widget after its "
    "retries, WeChat at once)",
    "wechat_uncollected": "Rasa: a WeChat answer offered for a passive reply that no gateway collected "
    "before WeChat's last try (the gateway died); sent through the API instead",
    "wechat_refused": "WeChat gateway: a request refused for its signature or body (403, 400)",
    "wechat_rate_limited": "WeChat gateway: a client address over its limit (429)",
    "wechat_unavailable": "WeChat gateway: WeChat answered 503 (no WECHAT_TOKEN, or Redis away); WeChat retries",
    "desk_request_failed": "desk: an agent's request failed inside the desk (a bug)",
    "desk_task_restarted": "desk: a background task (relay, stream, sweep) failed and was restarted",
    "metrics_unreadable": "desk: the queue's figures could not be read from Redis for a scrape",
}


def channel_label(channel: Any) -> str:
    return channel if channel in CHANNELS else OTHER


def language_label(language: Any) -> str:
    return language if language in LANGUAGES else UNKNOWN


# ----- counted in the process --------------------------------------------------------------------

#: Turn latency (seconds): a widget message answered in about a second is good; WeChat waits 5.
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)
WECHAT_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 4.5, 5.0, 7.5, 10.0)

MESSAGES_IN = Counter(
    "renben_messages_in",
    "Claimant messages whose turn Rasa finished and saved, by channel and the conversation's language after the turn.",
    ("channel", "language"),
    registry=None,
)
MESSAGES_OUT = Counter(
    "renben_messages_out",
    "Messages sent to claimants, by channel, language and sender: the bot's "
    "(counted by Rasa, one per bot utterance saved), an agent's or the desk's notices (counted by the desk).",
    ("channel", "language", "sender"),
    registry=None,
)
TURN_SECONDS = Histogram(
    "renben_turn_seconds",
    "Seconds Rasa took over a claimant message, from taking it to the saved "
    "turn (waiting for the conversation's lock included), by channel; finished turns only.",
    ("channel",),
    buckets=TURN_BUCKETS,
    registry=None,
)
WECHAT_REPLIES = Counter(
    "renben_wechat_replies",
    "WeChat messages the gateway answered, by path: passive (the bot's answer "
    "in the reply), async (success, then the customer-service API), gateway (answered by the gateway), "
    "repeat (a retry of a message answered before).",
    ("path",),
    registry=None,
)
WECHAT_RESPONSE_SECONDS = Histogram(
    "renben_wechat_response_seconds",
    "Seconds from WeChat sending a message (its signed timestamp) to the gateway's HTTP answer leaving.",
    buckets=WECHAT_BUCKETS,
    registry=None,
)
WECHAT_LATE = Counter(
    "renben_wechat_late_replies",
    "WeChat messages answered after WeChat's 5 seconds: WeChat had given up on the reply (and retries the message).",
    registry=None,
)
ERRORS = Counter("renben_errors", "Errors by kind (docs/operations.md lists the kinds).", ("kind",), registry=None)


# ----- read from Redis when Prometheus scrapes (handoff/monitoring.py) -------------------------


@dataclass(frozen=True)
class Family:
    """A metric built at scrape time by a custom collector."""

    name: str
    kind: str  # "counter" or "gauge"
    help: str
    labels: Tuple[str, ...]

    def build(self) -> Any:
        maker = CounterMetricFamily if self.kind == "counter" else GaugeMetricFamily
        return maker(self.name, self.help, labels=list(self.labels))

    @property
    def samples(self) -> Tuple[str, ...]:
        return (self.name + "_total",) if self.kind == "counter" else (self.name,)


HANDOFFS = Family(
    "renben_handoffs",
    "counter",
    "Tickets queued for a person since the deployment's Redis began, by the "
    "reason's kind and the priority (callbacks included). The whole deployment: every desk reports it.",
    ("reason", "priority"),
)
QUEUE_DEPTH = Family(
    "renben_queue_depth",
    "gauge",
    "Tickets waiting for a person now, by priority and language. The whole deployment: every desk reports it.",
    ("priority", "language"),
)
QUEUE_OLDEST_WAIT = Family(
    "renben_queue_oldest_wait_seconds",
    "gauge",
    "How long the longest-waiting ticket has waited, by "
    "priority and language (0 when none waits). The whole deployment: every desk reports it.",
    ("priority", "language"),
)
AGENTS = Family(
    "renben_agents",
    "gauge",
    "Agents on the desk now by state (available, away, busy: holding a "
    "conversation) and language; an agent of two languages counts in each. The whole deployment.",
    ("state", "language"),
)

FAMILIES = (HANDOFFS, QUEUE_DEPTH, QUEUE_OLDEST_WAIT, AGENTS)


# ----- which process exposes what ---------------------------------------------------------------

_WECHAT = (WECHAT_REPLIES, WECHAT_RESPONSE_SECONDS, WECHAT_LATE)

#: The metrics each process kind counts, and the error kinds it may count (shown as 0 from the
#: start, so that a rate over them exists before the first error). Rasa keeps the WeChat metrics
#: for its old webhook route (bot/channels/wechat/channel.py).
COMPONENTS: Mapping[str, Tuple[Tuple[Any, ...], Tuple[str, ...]]] = {
    "rasa": (
        (MESSAGES_IN, MESSAGES_OUT, TURN_SECONDS, ERRORS) + _WECHAT,
        ("turn_not_finished", "turn_failed", "not_answered", "wechat_uncollected"),
    ),
    "wechat": (_WECHAT + (ERRORS,), ("wechat_refused", "wechat_rate_limited", "wechat_unavailable")),
    "desk": ((MESSAGES_OUT, ERRORS), ("desk_request_failed", "desk_task_restarted", "metrics_unreadable")),
}


def sample_names() -> List[str]:
    """Every sample name Renben exposes (what a PromQL expression may name)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    names: List[str] = []
    for metric in (MESSAGES_IN, MESSAGES_OUT, TURN_SECONDS, ERRORS) + _WECHAT:
        for described in metric.describe():
            names += [described.name + suffix for suffix in suffixes[described.type]]
    for family in FAMILIES:
        names += family.samples
    return names


# ----- recording: the few places messages pass call these --------------------------------------


def turn_finished(*, channel: Optional[str], language: Optional[str], replies: int, seconds: float) -> None:
    """A claimant's turn saved by Rasa (bot/monitoring/turns.py)."""
    channel_, language_ = channel_label(channel), language_label(language)
    MESSAGES_IN.labels(channel_, language_).inc()
    if replies:
        MESSAGES_OUT.labels(channel_, language_, "bot").inc(replies)
    TURN_SECONDS.labels(channel_).observe(seconds)


def sent(*, channel: Optional[str], language: Optional[str], sender: str) -> None:
    """A message the desk sent a claimant (handoff/outbox.py)."""
    if sender not in SENDERS:
        raise ValueError(f"unknown sender {sender!r}")
    MESSAGES_OUT.labels(channel_label(channel), language_label(language), sender).inc()


def wechat_answered(path: str, seconds: float) -> None:
    """One of WeChat's messages answered (bot/channels/wechat/webhook.py)."""
    if path not in WECHAT_PATHS:
        raise ValueError(f"unknown WeChat path {path!r}")
    WECHAT_REPLIES.labels(path).inc()
    WECHAT_RESPONSE_SECONDS.observe(seconds)
    if seconds > WECHAT_LIMIT_SECONDS:
        WECHAT_LATE.inc()


def error(kind: str) -> None:
    if kind not in ERROR_KINDS:
        raise ValueError(f"unknown error kind {kind!r}")
    ERRORS.labels(kind).inc()
