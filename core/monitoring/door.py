"""`GET /metrics`: who may read it, and what they get.

Prometheus reads it with `Authorization: Bearer <RENBEN_METRICS_TOKEN>` (compared in constant
time); without the token, or with another, the answer is 401; with no token configured, 403 (the
metrics are off). The exposition holds counts under bounded labels (definitions.py), never a
conversation id or a claimant's words, but traffic, queue and staffing figures are not for the
public: the token keeps them from whoever reaches a port through a load balancer (the agents'
door sends everything to the desk). On one machine the launcher generates the token and keeps
it in var/metrics_token (core/settings.py).

Framework-free, like /health (core/health.py): each process's route (bot/rasa_server.py, the
WeChat gateway, the desk) turns `answer(...)` into its own response.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Optional

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from core.monitoring.definitions import COMPONENTS, ERRORS

PATH = "/metrics"
JSON = "application/json"


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    @property
    def headers(self) -> dict:
        extra = {"WWW-Authenticate": 'Bearer realm="metrics"'} if self.status == 401 else {}
        return {"Cache-Control": "no-store", **extra}


def registry_for(component: str, *collectors: Any) -> CollectorRegistry:
    """What `component` (a key of definitions.COMPONENTS) exposes: its metrics, its error kinds at
    0, `collectors` (read when scraped) and the process's own (CPU, memory, file descriptors)."""
    disable_created_metrics()  # a `_created` series per label set would double the exposition
    registry = CollectorRegistry()
    for standard in (ProcessCollector, PlatformCollector, GCCollector):
        standard(registry=registry)
    metrics, kinds = COMPONENTS[component]
    for metric in metrics:
        registry.register(metric)
    for kind in kinds:
        ERRORS.labels(kind)
    for collector in collectors:
        registry.register(collector)
    return registry


def authorised(authorization: Optional[str], token: Optional[str]) -> bool:
    """Whether an Authorization header carries `token` as a bearer token."""
    scheme, _, given = (authorization or "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def refusal(authorization: Optional[str], token: Optional[str]) -> Optional[Answer]:
    """The answer to a request that may not read the metrics, None when it may."""
    if not token:
        return Answer(
            403, JSON, b'{"error": {"code": "metrics_off", "message": "set RENBEN_METRICS_TOKEN to read the metrics"}}'
        )
    if not authorised(authorization, token):
        return Answer(
            401,
            JSON,
            b'{"error": {"code": "unauthorised", "message": "the metrics need the bearer token RENBEN_METRICS_TOKEN"}}',
        )
    return None


def answer(registry: CollectorRegistry, authorization: Optional[str], token: Optional[str]) -> Answer:
    """The exposition for a request with this Authorization header, or its refusal. Runs the
    registry's collectors: call it in a worker thread where one of them does I/O (the desk)."""
    refused = refusal(authorization, token)
    if refused is not None:
        return refused
    return Answer(200, CONTENT_TYPE_PLAIN_0_0_4, generate_latest(registry))
