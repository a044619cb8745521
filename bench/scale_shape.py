"""The production shape of deploy/ on one machine, for bench/scale_out.py and tests/test_scale_out.py.

    PostgreSQL  a database of its own on the machine's server (created here, dropped at the end)
    Redis       one redis-server of its own on a free port (bot/embedded_redis.py)
    2 x action server, 2 x Rasa, 2 x WeChat gateway, 2 x agent desk
    nginx       Debian's, a child of this process with its own configuration, pid and temporary
                files: deploy/nginx.conf with this machine's ports and processes

Every process gets the settings deploy/compose.yaml gives its container. The action servers,
gateways and desks run `python -m bot.serve SERVICE`, the image's entry point. The Rasa
processes run the command `bot.serve rasa` runs (bot.launch.service_commands) with the endpoints
it writes (bot.settings.endpoints), except that the lock store is bench/lock_probe.py's, which
records every hold. Rasa reaches the action servers through nginx (a private door standing for
compose's service name and Kubernetes' Service), and the desks reach Rasa's HTTP API through
nginx's private door, as in compose.

`Shape.start(rasa=2)` starts everything; `set_rasa(1)` stops the second Rasa process and takes it
out of nginx's upstream (nginx reloads its configuration without dropping connections);
`stop()` stops everything and drops the database.
"""
from __future__ import annotations

import getpass
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional

import yaml

from bot import embedded_redis
from bot.embedded_redis import free_port
from bot.launch import http_status, make_private, service_commands, write_private
from bot.settings import ROOT, Settings, endpoints

NGINX = "/usr/sbin/nginx"
DEPLOY_NGINX = ROOT / "deploy" / "nginx.conf"
LOCK_PROBE = "bench.lock_probe.RecordingLockStore"
WECHAT_TOKEN = "benchtoken"
#: The claimants all come from 127.0.0.1: the per-address limits would count them as one.
UNLIMITED = {"RENBEN_WEB_ADDRESS_PER_MINUTE": "100000000", "RENBEN_WEB_SOCKETS_PER_ADDRESS": "100000",
             "WECHAT_ADDRESS_PER_MINUTE": "100000000", "WECHAT_USER_PER_MINUTE": "100000"}


class ShapeError(RuntimeError):
    """Something of the shape did not start; the message says what and where its log is."""


# ----------------------------------------------------------------------------- PostgreSQL

@dataclass
class Database:
    """A database of its own on the server of `admin_url` (which must allow CREATE DATABASE)."""
    admin_url: str
    name: str = field(default_factory=lambda: f"renben_scale_{os.getpid()}_{secrets.token_hex(3)}")

    @property
    def url(self) -> str:
        parsed = urllib.parse.urlparse(self.admin_url)
        return urllib.parse.urlunparse(parsed._replace(path=f"/{self.name}"))

    def _run(self, statement: str) -> None:
        import psycopg2

        with closing(psycopg2.connect(self.admin_url)) as connection:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement)

    def create(self) -> "Database":
        self._run(f'CREATE DATABASE "{self.name}"')
        return self

    def drop(self) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def backend_pids(self) -> List[int]:
        """The server processes serving this database's connections (for their CPU time)."""
        import psycopg2

        with closing(psycopg2.connect(self.admin_url)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.name,))
            return [row[0] for row in cursor.fetchall()]


# ----------------------------------------------------------------------------- nginx

@dataclass
class Doors:
    """nginx's ports: deploy/nginx.conf's three doors, and the action servers' private one."""
    public: int = field(default_factory=free_port)   # claimants: widget, REST, WeChat (:80)
    agents: int = field(default_factory=free_port)   # the desk's consoles (:8077)
    rasa_api: int = field(default_factory=free_port)  # Rasa's HTTP API for the desks (:5005)
    actions: int = field(default_factory=free_port)  # Rasa -> action servers


def nginx_config(template: str, *, directory: Path, doors: Doors, upstreams: Mapping[str, List[int]],
                 generation: int) -> str:
    """deploy/nginx.conf for this machine: the upstreams' servers on loopback ports, the doors on
    free ports, pid, logs and temporary files under `directory`, in the foreground, one worker
    (its round robin then alternates strictly, so a claimant's two tabs land on different Rasa
    processes), and a private door to the action servers. `GET /bench/generation` on the public
    door answers `generation`, so a reload can be seen to have taken effect."""
    text = template

    def replace(pattern: str, new: str) -> None:
        nonlocal text
        text, count = re.subn(pattern, lambda _: new, text, flags=re.M)
        if count != 1:
            raise ShapeError(f"deploy/nginx.conf changed shape: {pattern!r} matched {count} times")

    # As root, nginx's workers would run as `nobody`, who may not write the temporary files here.
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    replace(r"^worker_processes .*;$", f"{user}worker_processes 1;\ndaemon off;\nerror_log {directory}/error.log warn;")
    replace(r"^pid .*;$", f"pid {directory}/nginx.pid;")
    temp = "".join(f"\n  {kind}_temp_path {directory}/{kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                              "uwsgi", "scgi"))
    replace(r"^http \{$", "http {" + temp)
    for name in ("rasa", "wechat", "desk"):
        servers = " ".join(f"server 127.0.0.1:{port};" for port in upstreams[name])
        replace(rf"(?<=upstream {name})(\s+\{{ )server {name}:\d+;", f" {{ {servers}")
    replace(r"listen 80;", f"listen 127.0.0.1:{doors.public};\n    location = /bench/generation "
                           f"{{ return 200 \"{generation}\"; }}")
    replace(r"listen 8077;", f"listen 127.0.0.1:{doors.agents};")
    replace(r"listen 5005;", f"listen 127.0.0.1:{doors.rasa_api};")
    actions = " ".join(f"server 127.0.0.1:{port};" for port in upstreams["actions"])
    text = text.rstrip()
    if not text.endswith("}"):
        raise ShapeError("deploy/nginx.conf changed shape: it does not end with the http block")
    text = (text[:-1] + f"  upstream actions {{ {actions} keepalive 16; }}\n"
            f"  server {{\n    listen 127.0.0.1:{doors.actions};\n    location / {{ proxy_pass http://actions; }}\n  }}\n}}\n")
    return text


class Nginx:
    def __init__(self, directory: Path, doors: Doors, upstreams: Dict[str, List[int]]) -> None:
        self.directory, self.doors, self.upstreams = directory, doors, upstreams
        self.generation = 0
        self.process: Optional[subprocess.Popen] = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def conf(self) -> Path:
        return self.directory / "nginx.conf"

    def _where(self) -> List[str]:
        """Prefix, configuration and error log (before the configuration is read) under `directory`."""
        return ["-p", str(self.directory), "-c", str(self.conf), "-e", str(self.directory / "error.log")]

    def _write(self) -> None:
        self.generation += 1
        self.conf.write_text(nginx_config(DEPLOY_NGINX.read_text(), directory=self.directory, doors=self.doors,
                                          upstreams=self.upstreams, generation=self.generation))
        check = subprocess.run([NGINX, "-t", *self._where()],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise ShapeError(f"nginx refused {self.conf}: {check.stderr}")

    def start(self) -> None:
        self._write()
        log = open(self.directory / "nginx.out", "ab")
        self.process = subprocess.Popen([NGINX, *self._where()],
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_for_generation()

    def reload(self, upstreams: Dict[str, List[int]]) -> None:
        """New upstreams; open connections stay with the old worker until they close."""
        self.upstreams = upstreams
        self._write()
        self.process.send_signal(signal.SIGHUP)
        self._wait_for_generation()

    def _wait_for_generation(self, timeout: float = 20.0) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.doors.public}/bench/generation"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ShapeError(f"nginx exited: see {self.directory / 'error.log'}")
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:
                    if reply.read().decode() == str(self.generation):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise ShapeError(f"nginx did not serve configuration {self.generation}: see {self.directory / 'error.log'}")

    def pids(self) -> List[int]:
        """The master and its workers."""
        if self.process is None:
            return []
        return [self.process.pid, *children_of(self.process.pid)]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish open requests
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def children_of(pid: int) -> List[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            pass
    return found


def nginx_missing() -> Optional[str]:
    """Why nginx cannot run here, or None."""
    return None if os.access(NGINX, os.X_OK) else f"{NGINX} is not installed (apt-get install nginx)"


# ----------------------------------------------------------------------------- processes

@dataclass
class Child:
    name: str  # e.g. rasa-1
    kind: str  # actions, rasa, wechat, desk
    port: int
    command: List[str]
    env: Dict[str, str]
    log: Path
    process: Optional[subprocess.Popen] = None

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    def start(self) -> None:
        handle = os.fdopen(os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=handle,
                                        stderr=subprocess.STDOUT, start_new_session=True, umask=0o077)

    def wait_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ShapeError(f"{self.name} exited with {self.process.returncode}: {self.tail()}")
            if http_status(self.health_url, 2) == 200:
                return
            time.sleep(0.3)
        raise ShapeError(f"{self.name} was not healthy at {self.health_url} in time: {self.tail()}")

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:] if self.log.exists() else []
        return f"see {self.log}\n" + "\n".join(text)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if not self.running():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


KINDS = ("actions", "rasa", "wechat", "desk")


class Shape:
    """Everything above, on free loopback ports under `directory`."""

    def __init__(self, directory: Path, *, model: Path, postgres_admin_url: str, wechat_api: str,
                 wechat_app_id: str, wechat_app_secret: str, replicas: int = 2) -> None:
        self.directory, self.model = directory, model
        self.database = Database(postgres_admin_url)
        self.doors = Doors()
        self.replicas = replicas
        self.token = secrets.token_urlsafe(24)            # RASA_AUTH_TOKEN
        self.actions_token = secrets.token_urlsafe(24)    # RENBEN_ACTIONS_TOKEN
        self.web_secret = secrets.token_urlsafe(24)       # RENBEN_WEB_SECRET
        self.wechat = {"WECHAT_TOKEN": WECHAT_TOKEN, "WECHAT_APPID": wechat_app_id,
                       "WECHAT_APPSECRET": wechat_app_secret, "WECHAT_API_BASE": wechat_api}
        self.redis: Optional[embedded_redis.EmbeddedRedis] = None
        self.children: Dict[str, Child] = {}
        self.nginx: Optional[Nginx] = None
        self.rasa_count = 0
        self._database_made = False

    # --- addresses ---

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.doors.public}"

    @property
    def agents_url(self) -> str:
        return f"ws://127.0.0.1:{self.doors.agents}/agent"

    @property
    def redis_url(self) -> str:
        return self.redis.url

    def of_kind(self, kind: str) -> List[Child]:
        return [child for child in self.children.values() if child.kind == kind]

    # --- start and stop ---

    def start(self, *, rasa: int = 2, timeout: float = 300.0) -> "Shape":
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            make_private(self.directory)
            (self.directory / "logs").mkdir(exist_ok=True, mode=0o700)
            self.redis = embedded_redis.start(self.directory / "redis", persist=False,
                                              password=secrets.token_urlsafe(16))
            self.database.create()
            self._database_made = True
            for kind in KINDS:
                for number in range(1, self.replicas + 1):
                    child = self._child(kind, number)
                    self.children[child.name] = child
            self.nginx = Nginx(self.directory / "nginx", self.doors, self._upstreams(rasa))
            self.nginx.start()
            self.rasa_count = rasa
            wanted = [c for c in self.children.values() if c.kind != "rasa" or int(c.name.split("-")[1]) <= rasa]
            for child in wanted:
                child.start()
            deadline = time.monotonic() + timeout
            for child in wanted:
                child.wait_healthy(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def set_rasa(self, count: int, timeout: float = 300.0) -> None:
        """Runs the first `count` Rasa processes, and only they are in nginx's upstream."""
        rasa = self.of_kind("rasa")
        for child in rasa[:count]:
            if not child.running():
                child.start()
        for child in rasa[:count]:
            child.wait_healthy(time.monotonic() + timeout)
        self.nginx.reload(self._upstreams(count))  # before stopping: nothing goes to a stopping one
        for child in rasa[count:]:
            child.stop()
        self.rasa_count = count

    def stop(self) -> None:
        for child in reversed(list(self.children.values())):
            child.stop()
        if self.nginx is not None:
            self.nginx.stop()
        if self.redis is not None:
            self.redis.stop()
        if self._database_made:
            self.database.drop()
            self._database_made = False

    # --- what each process is given ---

    def _upstreams(self, rasa: int) -> Dict[str, List[int]]:
        ports = {kind: [child.port for child in self.of_kind(kind)] for kind in KINDS}
        ports["rasa"] = ports["rasa"][:rasa]
        return ports

    def _child(self, kind: str, number: int) -> Child:
        name, port = f"{kind}-{number}", free_port()
        var = self.directory / name
        var.mkdir(mode=0o700, exist_ok=True)
        env = {**os.environ, **UNLIMITED, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
               "RASA_TELEMETRY_ENABLED": "false", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
               "RENBEN_VAR_DIR": str(var), "RENBEN_HOST": "127.0.0.1", "REDIS_URL": self.redis_url,
               "BENCH_PROCESS": name}
        for variable in ("TRACKER_STORE_URL", "RASA_URL", "ACTIONS_URL", "RASA_PORT", "ACTIONS_PORT",
                         "WECHAT_PORT", "DESK_PORT", "DESK_HOST"):
            env.pop(variable, None)
        stores = {"TRACKER_STORE_URL": self.database.url}
        if kind == "actions":
            env.update(stores, RENBEN_ACTIONS_TOKEN=self.actions_token, ACTIONS_PORT=str(port))
            command = [sys.executable, "-m", "bot.serve", "actions"]
        elif kind == "wechat":
            env.update(self.wechat, WECHAT_PORT=str(port))
            command = [sys.executable, "-m", "bot.serve", "wechat"]
        elif kind == "desk":
            # Every ticket of the load is taken at once: an agent may hold many.
            env.update(RASA_AUTH_TOKEN=self.token, RASA_URL=f"http://127.0.0.1:{self.doors.rasa_api}",
                       DESK_HOST="127.0.0.1", DESK_PORT=str(port), DESK_DEFAULT_CAPACITY="1000")
            command = [sys.executable, "-m", "bot.serve", "desk"]
        else:
            env.update({**stores, **self.wechat}, RASA_AUTH_TOKEN=self.token, RENBEN_ACTIONS_TOKEN=self.actions_token,
                       RENBEN_WEB_SECRET=self.web_secret, RASA_PORT=str(port), SANIC_PROXIES_COUNT="1",
                       ACTIONS_URL=f"http://127.0.0.1:{self.doors.actions}")
            settings = Settings.from_env(env)
            config = endpoints(settings, self.redis_url)
            config["lock_store"]["type"] = LOCK_PROBE
            endpoints_file = var / "endpoints.yml"
            write_private(endpoints_file, yaml.safe_dump(config))
            command = service_commands(settings, self.model, endpoints_file)["rasa"]
        return Child(name, kind, port, command, env, self.directory / "logs" / f"{name}.log")

    # --- CPU accounting ---

    def pids(self) -> Dict[str, List[int]]:
        """Process group -> pids: each child, nginx, Redis, PostgreSQL's backends of this database."""
        groups: Dict[str, List[int]] = {name: [child.process.pid] for name, child in self.children.items()
                                        if child.running()}
        groups["nginx"] = self.nginx.pids() if self.nginx else []
        groups["redis"] = [self.redis.process.pid] if self.redis else []
        try:
            groups["postgres"] = self.database.backend_pids()
        except Exception:  # a figure, not a failure
            groups["postgres"] = []
        return groups


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple:
    """(busy, total) CPU seconds of the whole machine so far, every core."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values[:8]) - idle) / tick, sum(values[:8]) / tick
