"""One Renben process in the foreground, for a container or a service manager (deploy/).

    python -m tooling.serve SERVICE        SERVICE: actions, rasa, wechat, desk or retention

It runs the same command `make run` runs for that service (tooling.launch.service_commands), in
place of this process (exec: the orchestrator's signals reach it directly). Settings come from
the environment (core/settings.py and each service's own settings). Unlike `make run` it never
starts an embedded Redis nor generates a secret: the processes of one deployment share them, so
each must be given (`REQUIRED`); without one it exits with status 2 naming what is missing. For
`rasa` it first writes the endpoints (bot.settings.endpoints) to RENBEN_VAR_DIR/endpoints.yml,
readable by this user alone, and loads the model `make model` baked into the image
(tooling.model_store: the one for the code's data, never trained here).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.settings import endpoints
from core.settings import ROOT, Settings, SettingsError
from tooling import model_store
from tooling.launch import SERVICES, make_private, service_commands, write_private

#: What each service cannot run without in a deployment of many processes: one Redis, one
#: tracker store, and the secrets every process of a kind must share.
REQUIRED: Dict[str, Tuple[str, ...]] = {
    "rasa": ("REDIS_URL", "TRACKER_STORE_URL", "RASA_AUTH_TOKEN", "RENBEN_ACTIONS_TOKEN", "RENBEN_WEB_SECRET"),
    "actions": ("REDIS_URL", "TRACKER_STORE_URL", "RENBEN_ACTIONS_TOKEN"),
    "wechat": ("REDIS_URL",),
    "desk": ("REDIS_URL", "RASA_URL", "RASA_AUTH_TOKEN"),
    "retention": ("REDIS_URL", "TRACKER_STORE_URL"),
}


def missing(service: str, env: Mapping[str, str]) -> List[str]:
    """The variables `service` needs that `env` does not set."""
    return [name for name in REQUIRED[service] if not env.get(name)]


def command(service: str, settings: Settings, model: Path) -> List[str]:
    """The command of `service` (its endpoints file is RENBEN_VAR_DIR/endpoints.yml)."""
    return service_commands(settings, model, settings.var_dir / "endpoints.yml")[service]


def model_in_image(settings: Settings) -> Path:
    """The model for the code's data, as `make model` (the image build) trained it."""
    path = model_store.model_path(settings.models_dir)
    if not path.exists():
        raise SettingsError(
            f"no model {path.name} in {settings.models_dir}: build the image (it trains one) or set RENBEN_MODELS_DIR"
        )
    return path


def main(argv: Optional[Sequence[str]] = None, env: Mapping[str, str] = os.environ) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] not in SERVICES:
        print(f"usage: python -m tooling.serve {{{','.join(SERVICES)}}}", file=sys.stderr)
        return 2
    service = args[0]
    try:
        absent = missing(service, env)
        if absent:
            raise SettingsError(f"{service} needs {', '.join(absent)} (see deploy/README.md)")
        settings = Settings.from_env(env)
        model = Path()
        if service == "rasa":
            model = model_in_image(settings)
            make_private(settings.var_dir)
            write_private(
                settings.var_dir / "endpoints.yml", yaml.safe_dump(endpoints(settings, settings.redis_url or ""))
            )
        argv_ = command(service, settings, model)
    except SettingsError as error:
        print(f"tooling.serve: {error}", file=sys.stderr)
        return 2
    os.chdir(ROOT)
    os.umask(0o077)
    sys.stdout.flush()
    os.execve(
        argv_[0],
        argv_,
        {**env, "PYTHONUNBUFFERED": "1", "RASA_TELEMETRY_ENABLED": "false", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"},
    )
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
