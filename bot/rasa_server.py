"""`rasa run` with the HTTP API on, its token taken from the environment, not the command line,
and Renben's own routes added to Rasa's app: an unauthenticated `GET /health` and `GET /metrics`
behind RENBEN_METRICS_TOKEN.

`python -m bot.rasa_server --model M --endpoints E ...` runs `rasa run --enable-api` with those
arguments and `--auth-token $RASA_AUTH_TOKEN` added inside this process, so the token never
appears in `ps` (a process's command line is readable by every user of the machine).

`/health` (core/health.py) checks the model is loaded, Redis answers (the lock store's client)
and the tracker store answers; 200 or 503, naming the checks and nothing else.

`/metrics` (core/monitoring/door.py) is the Prometheus exposition of this process: its turns,
messages in and out, latency and errors, counted where Rasa handles a message
(bot/monitoring/turns.py).

A turn whose custom action failed is not saved (bot/turn_guard.py): the channel runs it again or
asks the claimant to send it again, rather than acknowledging an unanswered message.
"""
from __future__ import annotations

import sys
from typing import Any, Dict, Optional

from core import health
from core.settings import Settings, SettingsError, install
from bot import turn_guard, turn_path
from core.monitoring import door
from bot.monitoring import turns


async def health_checks(agent: Any) -> Dict[str, bool]:
    """The Rasa process's checks: model loaded, Redis (lock store), tracker store."""
    lock_store = getattr(agent, "lock_store", None)
    checks = await health.check({
        "redis": health.redis_probe(getattr(lock_store, "red", None)),
        "tracker_store": health.tracker_store_probe(getattr(agent, "tracker_store", None)),
    })
    return {"model": bool(agent is not None and agent.is_ready()), **checks}


def add_health_route(app: Any) -> None:
    from sanic import response

    async def health_route(request: Any) -> Any:
        status, body = health.report(await health_checks(getattr(request.app.ctx, "agent", None)))
        return response.json(body, status=status)

    app.add_route(health_route, "/health", methods=["GET"], name="renben_health")


def add_metrics_route(app: Any, token: Optional[str]) -> None:
    from sanic import response

    registry = door.registry_for("rasa")

    async def metrics_route(request: Any) -> Any:
        answer = door.answer(registry, request.headers.get("authorization"), token)
        return response.raw(answer.body, status=answer.status, content_type=answer.content_type,
                            headers=answer.headers)

    app.add_route(metrics_route, door.PATH, methods=["GET"], name="renben_metrics")


def _with_renben_routes(metrics_token: Optional[str]) -> None:
    """Rasa builds its app in rasa.server.create_app (called by `rasa run`, before the channels'
    routes are added): add /health and /metrics to it."""
    import rasa.server

    build = rasa.server.create_app

    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = build(*args, **kwargs)
        add_health_route(app)
        add_metrics_route(app, metrics_token)
        return app

    rasa.server.create_app = create_app


def main() -> None:
    try:  # the channels Rasa builds from credentials.yml take these (core.settings.current)
        settings = install(Settings.from_env())
    except SettingsError as error:
        sys.exit(f"rasa_server: {error}")
    token = settings.auth_token
    if not token:
        sys.exit("rasa_server: set RASA_AUTH_TOKEN (the HTTP API is never started without a token)")
    sys.argv = ["rasa", "run", *sys.argv[1:], "--enable-api", "--auth-token", token]
    _with_renben_routes(settings.metrics_token)
    turn_path.install()
    turn_guard.install(settings.action_timeout)
    turns.install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
