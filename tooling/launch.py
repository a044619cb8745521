"""Starts every process of Renben on one machine and stops them all on Ctrl-C.

`make run` calls `python -m tooling.launch`: Redis (embedded unless REDIS_URL is set), the action
server, the Rasa server (which streams its events to Redis), the WeChat gateway, the agent desk
and the retention job. A process that dies is restarted (`supervise`, with backoff; given up on,
with a message, only when it keeps dying), Redis included, while the others keep serving; so is
one that stays alive but unhealthy (its /health, core/health.py). Tests use `Stack` to run the
same processes on free ports, usually fewer of them (`services=`). Each child's output goes to
var/logs/<name>.log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from bot.settings import endpoints
from core.language_codes import LANGUAGES
from core.settings import ROOT, Settings, install
from tooling import embedded_redis, model_store
from tooling.supervision import HealthWatch, RestartPolicy


class StartupError(RuntimeError):
    """A process did not start; the message names it and the log to read."""


#: Every process `make run` starts besides Redis, in start order.
SERVICES: Tuple[str, ...] = ("actions", "rasa", "wechat", "desk", "retention")
#: How often the retention job purges expired conversations (seconds).
PURGE_EVERY_SECONDS = 3600


@dataclass
class Stack:
    settings: Settings
    model: Path
    services: Tuple[str, ...] = SERVICES
    redis_url: str = ""
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: Dict[str, List[str]] = field(default_factory=dict)
    #: Per service, what runs after `python -m` instead of its module (a benchmark's wrapper:
    #: bench/turn_probe.py); the service's own arguments follow.
    entry_points: Dict[str, List[str]] = field(default_factory=dict)
    _redis: Optional[embedded_redis.EmbeddedRedis] = None
    #: The environment the children were started with; a restart gets the same one.
    environment: Dict[str, str] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.settings.local_host}:{self.settings.actions_port}"

    @property
    def wechat_url(self) -> str:
        """The WeChat gateway; the Official Account's server URL is this + /webhooks/wechat/webhook."""
        return f"http://{self.settings.host}:{self.settings.wechat_port}"

    @property
    def desk_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.desk_port}"

    @property
    def logs(self) -> Path:
        return self.settings.var_dir / "logs"

    def start(self, timeout: float = 180.0) -> "Stack":
        # handed on to every child, and again as it was now when one is restarted
        self.environment = {**os.environ}
        make_private(self.settings.var_dir)
        self.logs.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            if self.settings.redis_url:
                self.redis_url = self.settings.redis_url
            else:
                self._redis = embedded_redis.start(
                    self.settings.var_dir / "redis", password=self.settings.embedded_redis_password()
                )
                self.redis_url = self._redis.url
            endpoints_file = self.settings.var_dir / "endpoints.yml"  # holds secrets: 0600
            write_private(endpoints_file, yaml.safe_dump(endpoints(self.settings, self.redis_url)))
            self.commands = commands = service_commands(self.settings, self.model, endpoints_file)
            for name, entry in self.entry_points.items():
                commands[name] = [commands[name][0], "-m", *entry, *commands[name][3:]]
            for name in self.services:
                self._spawn(name, commands[name])
            for name in self.services:
                if name in self.health_urls:
                    self._wait_until_up(name, self.health_urls[name], timeout)
            for name in self.services:
                if self.processes[name].poll() is not None:
                    raise StartupError(f"{name} exited with {self.processes[name].returncode}: {self._tail(name)}")
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def health_urls(self) -> Dict[str, str]:
        """Each child's /health (core/health.py); the retention job has none."""
        return {
            "actions": f"{self.actions_url}/health",
            "rasa": f"{self.rasa_url}/health",
            "wechat": f"{self.wechat_url}/health",
            "desk": f"{self.desk_url}/health",
        }

    def healthy(self, name: str, timeout: float = 2.0) -> bool:
        """Whether `name` answers 200 on its /health within `timeout`."""
        return http_status(self.health_urls[name], timeout) == 200

    def redis_answers(self) -> bool:
        """Whether this launcher reaches Redis itself."""
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self, name: str) -> None:
        """Kills a child at once (SIGKILL: a stopped or wedged process ignores SIGTERM)."""
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def dead(self) -> List[str]:
        """The children, and the embedded Redis (`redis`), that are no longer running."""
        gone = [name for name, process in self.processes.items() if process.poll() is not None]
        if self._redis is not None and self._redis.process.poll() is not None:
            gone.insert(0, "redis")
        return gone

    def restart(self, name: str) -> None:
        """Starts `name` again as it was started: a child with its command, or the embedded
        Redis on its same port, data and password (children keep their REDIS_URL)."""
        if name == "redis":
            old = self._redis
            self._redis = embedded_redis.start(self.settings.var_dir / "redis", port=old.port, password=old.password)
            return
        self._spawn(name, self.commands[name])

    def _spawn(self, name: str, command: List[str]) -> None:
        log = os.fdopen(os.open(self.logs / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        # Rasa reports errors to its servers unless told not to; nothing leaves this machine.
        env = {
            **os.environ,
            **(self.environment or {}),
            **self.child_environment(),
            "PYTHONUNBUFFERED": "1",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "RASA_TELEMETRY_ENABLED": "false",
        }
        # umask 077: whatever a child writes under var/ (tracker, AOF, review inbox) is private.
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, umask=0o077
        )

    def child_environment(self) -> Dict[str, str]:
        """What every child is told: one Redis, one var/, where Rasa and the desk listen, the
        secrets they share (the metrics token: Prometheus reads /metrics with it)."""
        env = {
            "REDIS_URL": self.redis_url,
            "RENBEN_VAR_DIR": str(self.settings.var_dir),
            "RASA_URL": self.rasa_url,
            "RASA_AUTH_TOKEN": self.settings.token(),
            "RENBEN_ACTIONS_TOKEN": self.settings.actions_secret(),
            "RENBEN_HOST": self.settings.host,
            "RENBEN_METRICS_TOKEN": self.settings.metrics_secret(),
            "DESK_HOST": self.settings.host,
            "DESK_PORT": str(self.settings.desk_port),
        }
        if self.settings.tracker_store_url:
            env["TRACKER_STORE_URL"] = self.settings.tracker_store_url
        return env

    def _wait_until_up(self, name: str, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        process = self.processes[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StartupError(f"{name} exited with {process.returncode}: {self._tail(name)}")
            if http_status(url, 2) == 200:
                return
            time.sleep(0.3)
        raise StartupError(f"{name} was not healthy at {url} within {timeout:.0f} s: {self._tail(name)}")

    def _tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
        return f"see {path}\n" + "\n".join(text)

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()
        if self._redis:
            self._redis.stop()
            self._redis = None


def service_commands(settings: Settings, model: Path, endpoints_file: Path) -> Dict[str, List[str]]:
    """The command of each service (SERVICES), as `make run` and a container (tooling/serve.py) run it.
    The working directory is the repository (ROOT); secrets come from the environment."""
    return {
        "actions": [
            sys.executable,
            "-m",
            "actions.server",
            "--host",
            settings.host,
            "--port",
            str(settings.actions_port),
        ],
        # The API token reaches Rasa through RASA_AUTH_TOKEN, never the command line (ps).
        "rasa": [
            sys.executable,
            "-m",
            "bot.rasa_server",
            "--model",
            str(model),
            "--endpoints",
            str(endpoints_file),
            "--credentials",
            "bot/credentials.yml",
            "--interface",
            settings.host,
            "--port",
            str(settings.rasa_port),
        ],
        "wechat": [
            sys.executable,
            "-m",
            "bot.channels.wechat.gateway",
            "--host",
            settings.host,
            "--port",
            str(settings.wechat_port),
        ],
        # The desk listens on DESK_HOST:DESK_PORT (handoff/settings.py).
        "desk": [sys.executable, "-m", "handoff", "serve"],
        "retention": [sys.executable, "-m", "core.privacy", "purge", "--every", str(PURGE_EVERY_SECONDS)],
    }


def http_status(url: str, timeout: float) -> Optional[int]:
    """The HTTP status `url` answers with, None when it does not answer within `timeout`."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def _without_password(url: str) -> str:
    """A Redis URL fit to print: the password replaced by *** (it is in var/redis_password)."""
    from urllib.parse import urlparse

    parsed = urlparse(url)
    return url.replace(f":{parsed.password}@", ":***@", 1) if parsed.password else url


def make_private(directory: Path) -> None:
    """`directory` and everything already in it readable by its owner alone (0700 / 0600):
    var/ holds conversations, secrets and the Redis data of everyone who used the service."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path in [directory, *directory.rglob("*")]:
        if path.is_symlink():
            continue
        path.chmod(0o700 if path.is_dir() else 0o600)


def write_private(path: Path, text: str) -> None:
    """Writes `text` to `path`, readable by its owner alone."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def demo_agent_token(stack: Stack) -> Path:
    """On one machine, an agent account `demo` (Chinese and English, supervisor) so the console
    can be tried at once; its token is kept in var/desk_agent_token. Production adds real agents
    with `python -m handoff add-agent`."""
    from handoff import agents
    from handoff.exceptions import AuthenticationFailed
    from handoff.queue import connect

    path = stack.settings.var_dir / "desk_agent_token"
    client = connect(stack.redis_url)
    known = path.exists() and agents.account(client, "demo") is not None
    if known:
        try:
            agents.authenticate(client, path.read_text().strip())
        except AuthenticationFailed:  # the kept token no longer matches: issue a new one
            known = False
    if not known:
        write_private(
            path, agents.add_agent(client, "demo", languages=list(LANGUAGES), role="supervisor", name="Demo agent")
        )
    return path


def supervise(
    stack: Stack,
    stopping,
    policy: Optional[RestartPolicy] = None,  # noqa: ANN001
    poll: float = 0.5,
    say=None,
    watch: Optional[HealthWatch] = None,  # noqa: ANN001
    health_every: float = 5.0,
) -> None:
    """Until `stopping()` is true: restarts what died (`tooling/supervision.py` says when), saying why,
    and gives up on a process that keeps dying, with a message, while the others keep serving.
    Every `health_every` seconds it checks each child's /health; one that `watch` finds unhealthy
    for too long is killed, and so restarted like a crash."""
    policy = policy or RestartPolicy()
    watch = watch or HealthWatch()
    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    due: Dict[str, float] = {}
    given_up: set = set()
    next_check = time.monotonic() + health_every
    while not stopping():
        now = time.monotonic()
        if now >= next_check:
            next_check = now + health_every
            _check_health(stack, watch, skip=set(due) | given_up, say=say)
            now = time.monotonic()
        for name in stack.dead():
            if name in given_up or name in due:
                continue
            where = stack._tail(name) if name != "redis" else f"see {stack.settings.var_dir / 'redis' / 'redis.log'}"
            delay = policy.after_exit(name, now)
            if delay is None:
                given_up.add(name)
                say(
                    f"{name} keeps stopping ({policy.give_up_after} times in {policy.window:.0f} s); "
                    "not restarting it. "
                    f"The other processes keep running. {where}"
                )
                continue
            say(f"{name} stopped; restarting it in {delay:.0f} s ({where})")
            due[name] = now + delay
        for name, when in list(due.items()):
            if time.monotonic() >= when:
                del due[name]
                try:
                    stack.restart(name)
                    watch.started(name, time.monotonic())
                    say(f"{name} restarted")
                except Exception as error:  # it counts as another exit at the next poll
                    say(f"{name} did not restart: {error}")
        time.sleep(poll)


def _check_health(stack: Stack, watch: HealthWatch, *, skip: set, say) -> None:  # noqa: ANN001
    """Kills a running child that has been unhealthy too long (supervise then restarts it).
    While the launcher cannot reach Redis itself, failures do not count: every child would fail,
    and the embedded Redis is restarted as a process of its own."""
    alive = [
        name
        for name in stack.health_urls
        if name in stack.processes and name not in skip and stack.processes[name].poll() is None
    ]
    if not alive:
        return
    redis_up = stack.redis_answers()
    for name in alive:
        if not redis_up:
            watch.forget(name)
            continue
        if watch.observe(name, stack.healthy(name), time.monotonic()):
            say(f"{name} is running but not healthy (see {stack.health_urls[name]}); stopping it to restart it")
            stack.kill(name)


def main() -> int:
    settings = install(Settings.from_env())
    model = model_store.ensure_trained(settings.models_dir)
    stack = Stack(settings, model)
    print(
        "Starting Redis, the action server, the Rasa server, the WeChat gateway, the agent desk and the "
        "retention job ...",
        flush=True,
    )
    stopping = False

    def on_signal(signum, frame):  # noqa: ANN001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
    except StartupError as error:
        print(f"Could not start: {error}", file=sys.stderr)
        return 1
    redis_note = "embedded" if not settings.redis_url else "REDIS_URL"
    agent_note = ""
    if not settings.redis_url:
        agent_note = f"  (log in with the token in {demo_agent_token(stack)})"
    print(
        f"""
Renben is running. Ctrl-C stops everything.
  Claimant widget: {stack.rasa_url}/webhooks/web/
  Agent console:   {stack.desk_url}/{agent_note}
  Chat (REST):     POST {stack.rasa_url}/webhooks/rest/webhook  {{"sender": "me", "message": "你好"}}
                   for integrations: header "Authorization: Bearer <API token>" (below)
  WeChat webhook:  {stack.wechat_url}/webhooks/wechat/webhook  (the gateway; needs WECHAT_TOKEN, docs/wechat.md)
  Rasa HTTP API:   {stack.rasa_url}  (token in {settings.var_dir / "auth_token"} unless RASA_AUTH_TOKEN is set)
  Action server:   {stack.actions_url}
  Metrics:         GET /metrics of Rasa, the gateway and the desk, header "Authorization: Bearer <token>"
                   (token in {settings.var_dir / "metrics_token"} unless RENBEN_METRICS_TOKEN is set)
  Redis:           {_without_password(stack.redis_url)} ({redis_note})
  Logs:            {stack.logs}
""",
        flush=True,
    )
    try:
        supervise(stack, lambda: stopping)
    finally:
        print("Stopping ...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
