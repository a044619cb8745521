"""The WeChat gateway: its own process serving the Official Account webhook, so that WeChat
gets its HTTP answer within 5 seconds however busy the Rasa processes are (they run NLU on their
event loop). It never runs the bot: messages for the bot go to Rasa through Redis (webhook.py).

    python -m bot.channels.wechat.gateway [--host 127.0.0.1] [--port 5006]

    GET  /                         {"status": "ok" | "unavailable" | "not configured"}
    GET  /health                   whether it reaches Redis (core/health.py): 200 or 503; without
                                   WECHAT_TOKEN it needs nothing and says 200, "configured": false
    GET  /metrics                  Prometheus, with the bearer token RENBEN_METRICS_TOKEN
                                   (core/monitoring/door.py): replies by path, response times,
                                   answers after WeChat's 5 s, refusals
    GET  /webhooks/wechat/webhook  WeChat's URL check
    POST /webhooks/wechat/webhook  messages

Settings: the WECHAT_* variables (config.py; the channel's entry in bot/credentials.yml gives
defaults, as for Rasa), REDIS_URL (required) and RENBEN_METRICS_TOKEN (bot/settings.py). `make run`
starts it (tooling/launch.py).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import yaml
from aiohttp import web

from core import health, redis_clients
from bot.channels.wechat.config import WeChatSettings
from bot.channels.wechat.constants import MAX_BODY_BYTES
from bot.channels.wechat.exceptions import ConfigError
from bot.channels.wechat.webhook import Reply, Webhook
from core.monitoring import door
from core.settings import Settings, SettingsError, install

logger = logging.getLogger("bot.channels.wechat.gateway")  # not __main__ under -m

PATH = "/webhooks/wechat/webhook"
CHANNEL_ENTRY = "bot.channels.wechat.channel.WeChatChannel"
CREDENTIALS = Path(__file__).resolve().parents[2] / "credentials.yml"


def credentials(path: Path = CREDENTIALS) -> Optional[Dict[str, Any]]:
    """The WeChat channel's entry of bot/credentials.yml (defaults under the environment)."""
    try:
        entries = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        return None
    entry = entries.get(CHANNEL_ENTRY) if isinstance(entries, dict) else None
    return entry if isinstance(entry, dict) else None


def _response(reply: Reply) -> web.Response:
    return web.Response(status=reply.status, body=reply.body.encode("utf-8"), content_type=reply.content_type.split(";")[0],
                        charset="utf-8")


def make_app(settings: WeChatSettings, *, metrics_token: Optional[str] = None) -> web.Application:
    hook = Webhook(settings)
    registry = door.registry_for("wechat")
    # A body over the limit is refused before it is read (413); parse_xml checks it again.
    app = web.Application(client_max_size=2 * MAX_BODY_BYTES)

    async def start(_app: web.Application) -> None:
        if not settings.enabled:
            logger.warning("wechat gateway: WECHAT_TOKEN is not set; the webhook answers 503")
            return
        if not settings.redis_url:
            logger.error("wechat gateway: REDIS_URL is not set; the webhook answers 503")
            return
        await hook.start(redis_clients.connect_async(settings.redis_url))

    async def stop(_app: web.Application) -> None:
        await hook.stop()
        if hook.redis is not None:
            await hook.redis.close()

    async def summary(_request: web.Request) -> web.Response:
        status = "ok" if hook.ready else ("not configured" if not settings.enabled else "unavailable")
        return web.json_response({"status": status})

    async def checked(_request: web.Request) -> web.Response:
        if not settings.enabled:
            status, body = health.report({}, configured=False)
        else:
            checks = await health.check({"redis": health.redis_probe(hook.redis)})
            status, body = health.report(checks, configured=True)
        return web.json_response(body, status=status)

    async def metrics(request: web.Request) -> web.Response:
        answer = door.answer(registry, request.headers.get("Authorization"), metrics_token)
        return web.Response(status=answer.status, body=answer.body, headers={
            "Content-Type": answer.content_type, **answer.headers})

    async def verify(request: web.Request) -> web.Response:
        return _response(hook.verify(request.query))

    async def receive(request: web.Request) -> web.Response:
        return _response(await hook.receive(request.query, await request.read(), request.remote))

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_get("/", summary)
    app.router.add_get("/health", checked)
    app.router.add_get(door.PATH, metrics)
    app.router.add_get(PATH, verify)
    app.router.add_post(PATH, receive)
    return app


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5006)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        process = install(Settings.from_env())
        settings = WeChatSettings.build(credentials(), process)
        metrics_token = process.metrics_token
    except (ConfigError, SettingsError) as error:
        print(f"wechat gateway: {error}", file=sys.stderr)
        return 2
    web.run_app(make_app(settings, metrics_token=metrics_token), host=args.host, port=args.port,
                access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
