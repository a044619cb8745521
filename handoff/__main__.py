"""`python -m handoff`: run the agent desk; `python -m handoff add-agent ID --languages zh,en
[--role agent|supervisor] [--name NAME] [--capacity N]`: create an agent account and print its
token once; `python -m handoff set-capacity ID N|default`: the most tickets the agent may hold at
once; `python -m handoff revoke-agent ID`: end every token of that agent at once and remove the account.

Settings come from the environment (handoff/settings.py), read here once.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import List, Optional

from core.settings import Settings, install
from handoff import agents
from handoff.exceptions import DeskError
from handoff.queue import connect
from handoff.server import Desk
from handoff.settings import DeskSettings


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff", description="The Renben agent desk.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the desk (the default)")
    add = commands.add_parser("add-agent", help="create an agent account and print its token")
    add.add_argument("agent_id")
    add.add_argument("--languages", required=True, help="comma-separated, e.g. zh,en")
    add.add_argument("--role", choices=agents.ROLES, default="agent")
    add.add_argument("--name", default="")
    add.add_argument("--capacity", type=int, default=None,
                     help="the most tickets they may hold at once (default: DESK_DEFAULT_CAPACITY, 3)")
    capacity = commands.add_parser("set-capacity", help="the most tickets an agent may hold at once")
    capacity.add_argument("agent_id")
    capacity.add_argument("capacity", help="a whole number, or 'default'")
    revoke = commands.add_parser("revoke-agent", help="end an agent's tokens and remove the account")
    revoke.add_argument("agent_id")
    args = parser.parse_args(argv)
    try:
        settings = DeskSettings.from_env(install(Settings.from_env()).env)
        if args.command == "add-agent":
            token = agents.add_agent(connect(settings.redis_url), args.agent_id,
                                     languages=args.languages.split(","), role=args.role, name=args.name,
                                     capacity=args.capacity, mirror=settings.audit_mirror)
            print(token)
            return 0
        if args.command == "set-capacity":
            if args.capacity != "default" and not args.capacity.isdigit():
                parser.error("capacity must be a whole number or 'default'")
            value = None if args.capacity == "default" else int(args.capacity)
            agents.set_capacity(connect(settings.redis_url), args.agent_id, value)
            print(f"{args.agent_id}: capacity {value if value is not None else settings.default_capacity}")
            return 0
        if args.command == "revoke-agent":
            ended = agents.revoke(connect(settings.redis_url), args.agent_id, mirror=settings.audit_mirror)
            print(f"{args.agent_id}: {ended} token(s) ended")
            return 0
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        asyncio.run(_serve(settings))
        return 0
    except DeskError as error:
        print(f"handoff: {error}", file=sys.stderr)
        return 2


async def _serve(settings: DeskSettings) -> None:
    desk = await Desk.create(settings).serve()
    print(f"Agent desk on http://{settings.host}:{desk.port}/ (WebSocket /agent)", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    await desk.stop()


if __name__ == "__main__":
    sys.exit(main())
