"""The action server, as `rasa_sdk` builds it, behind a shared secret and on a private interface.

`python -m actions.server --host 127.0.0.1 --port 5055` (the launcher's command). Every call to
`/webhook` and `/actions` must carry `Authorization: Bearer <RENBEN_ACTIONS_TOKEN>`; Rasa sends it
from the `headers` of its `action_endpoint` (bot/settings.py). Without it the answer is 401 and
nothing runs. `/health` answers without the secret (core/health.py): whether the action server
reaches Redis (the desk's queue, for handoffs) and the tracker store (for erasure), 200 or 503.
"""
from __future__ import annotations

import argparse
import hmac
import logging
import sys
from typing import Any, Dict, Optional

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request

from core import health
from core.settings import Settings, SettingsError, current, install

logger = logging.getLogger(__name__)

TOKEN_VARIABLE = "RENBEN_ACTIONS_TOKEN"


def authorised(request: Request, token: str) -> bool:
    header = request.headers.get("authorization") or ""
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return hmac.compare_digest(given.encode(), token.encode())


class Health:
    """The action server's /health: Redis (when REDIS_URL is set) and the tracker store, each
    client made once, on the first call."""

    def __init__(self) -> None:
        self._engine: Any = None

    async def checks(self) -> Dict[str, bool]:
        from actions.handoff import desk_queue
        from actions.privacy import settings as privacy_settings

        probes = {}
        if current().redis_url:
            queue = desk_queue()
            probes["redis"] = health.redis_probe(queue.redis if queue is not None else None)
        if self._engine is None:
            self._engine = health.engine_for(privacy_settings().tracker_url)
        probes["tracker_store"] = health.sql_probe(self._engine)
        return await health.check(probes)

    async def answer(self) -> response.HTTPResponse:
        status, body = health.report(await self.checks())
        return response.json(body, status=status)


def build_app(token: str) -> Sanic:
    """rasa_sdk's app for the `actions` package, refusing every call without `token`."""
    if not token:
        raise ValueError(f"the action server needs a secret: set {TOKEN_VARIABLE}")
    app = create_app("actions", cors_origins=None)
    checks = Health()

    @app.middleware("request")
    async def check_secret(request: Request) -> Optional[response.HTTPResponse]:
        if request.path == "/health":  # open; rasa_sdk's own /health says "ok" whatever is broken
            return await checks.answer()
        if authorised(request, token):
            return None
        logger.warning("action server: refused a call to %s from %s without the secret", request.path, request.ip)
        return response.json({"error": {"code": "unauthorised", "message": "this endpoint is for the Rasa server"}},
                             status=401)

    return app


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description="Renben's action server")
    try:  # the actions rasa_sdk builds take these (core.settings.current)
        settings = install(Settings.from_env())
    except SettingsError as error:
        print(f"action server: {error}", file=sys.stderr)
        return 2
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = settings.actions_token or ""
    if not token:
        print(f"The action server needs a shared secret with Rasa: set {TOKEN_VARIABLE}.", file=sys.stderr)
        return 2
    app = build_app(token)
    logger.info("action server on http://%s:%s", args.host, args.port)
    app.run(args.host, args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
