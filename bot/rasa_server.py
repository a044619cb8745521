"""`rasa run` with the HTTP API on, its token taken from the environment, not the command line.

`python -m bot.rasa_server --model M --endpoints E ...` runs `rasa run --enable-api` with those
arguments and `--auth-token $RASA_AUTH_TOKEN` added inside this process, so the token never
appears in `ps` (a process's command line is readable by every user of the machine).
"""
from __future__ import annotations

import os
import sys


def main() -> None:
    token = os.environ.get("RASA_AUTH_TOKEN")
    if not token:
        sys.exit("rasa_server: set RASA_AUTH_TOKEN (the HTTP API is never started without a token)")
    sys.argv = ["rasa", "run", *sys.argv[1:], "--enable-api", "--auth-token", token]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
