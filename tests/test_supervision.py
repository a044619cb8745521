"""Supervision on one machine (issue 17, item 1): a process that dies is restarted, Redis included on
its same data, with backoff; one that keeps dying is given up on while the rest keep serving."""
from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from tooling import embedded_redis
from tooling.launch import Stack, supervise
from core.settings import Settings
from tooling.supervision import HealthWatch, RestartPolicy


def test_the_delay_doubles_and_a_process_that_keeps_dying_is_given_up_on():
    policy = RestartPolicy(first_delay=1, longest_delay=5, give_up_after=4, window=60)
    assert [policy.after_exit("rasa", t) for t in (0, 1, 2)] == [1, 2, 4]
    assert policy.after_exit("desk", 3) == 1  # each process counts its own exits
    assert policy.after_exit("rasa", 3) is None


def test_a_process_that_stayed_up_a_whole_window_starts_again_from_the_shortest_delay():
    policy = RestartPolicy(first_delay=1, longest_delay=30, give_up_after=3, window=60)
    assert policy.after_exit("actions", 0) == 1
    assert policy.after_exit("actions", 10) == 2
    assert policy.after_exit("actions", 500) == 1


def test_a_child_unhealthy_for_long_enough_is_restarted_and_a_starting_one_gets_its_grace():
    watch = HealthWatch(unhealthy_for=10, start_grace=60)
    assert not watch.observe("desk", False, 0) and not watch.observe("desk", False, 9)
    assert not watch.observe("desk", True, 9.5)  # healthy again: the count starts afresh
    assert not watch.observe("desk", False, 10) and watch.observe("desk", False, 20)
    watch.started("rasa", 100)  # loading its model
    assert not watch.observe("rasa", False, 150) and watch.observe("rasa", False, 160)
    watch.started("actions", 0)
    assert not watch.observe("actions", True, 5) and not watch.observe("actions", False, 6)
    assert watch.observe("actions", False, 16)  # healthy once: the shorter limit applies
    assert not watch.observe("wechat", False, 0)
    watch.forget("wechat")  # Redis was away meanwhile
    assert not watch.observe("wechat", False, 12)


def health(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def supervised(tmp_path):
    """The action server and the embedded Redis, as `make run` starts them, under supervision."""
    settings = Settings(var_dir=tmp_path / "var", actions_port=embedded_redis.free_port(), auth_token="t")
    stack = Stack(settings, Path("unused-model"), services=("actions",)).start(timeout=120)
    stop = threading.Event()
    said = io.StringIO()
    policy = RestartPolicy(first_delay=0.2, longest_delay=1.0, give_up_after=3, window=60)
    watch = HealthWatch(unhealthy_for=2.0, start_grace=60)

    def run() -> None:
        supervise(stack, stop.is_set, policy, poll=0.1, say=lambda text: said.write(text + "\n"),
                  watch=watch, health_every=0.5)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield stack, said
    stop.set()
    thread.join(timeout=10)
    stack.stop()


def test_a_killed_child_and_a_killed_redis_come_back_with_their_data(supervised):
    stack, said = supervised
    health_url = f"{stack.actions_url}/health"
    first = stack.processes["actions"].pid
    os.killpg(first, signal.SIGKILL)
    assert wait_for(lambda: stack.processes["actions"].pid != first and health(health_url)), said.getvalue()
    assert "actions stopped; restarting it" in said.getvalue()

    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    client.set("renben:test:kept", "yes")
    time.sleep(1.5)  # appendfsync everysec
    stack._redis.process.send_signal(signal.SIGKILL)
    assert wait_for(lambda: _pings(stack.redis_url), timeout=30), said.getvalue()
    assert redis.Redis.from_url(stack.redis_url, decode_responses=True).get("renben:test:kept") == "yes"
    assert "redis stopped; restarting it" in said.getvalue()


def test_a_child_alive_but_stopped_is_restarted(supervised):
    stack, said = supervised
    stopped = stack.processes["actions"].pid
    os.killpg(stopped, signal.SIGSTOP)  # alive, never answering
    assert wait_for(lambda: stack.processes["actions"].pid != stopped and health(f"{stack.actions_url}/health"),
                    timeout=60), said.getvalue()
    assert "actions is running but not healthy" in said.getvalue()


def test_a_process_that_keeps_dying_is_given_up_on_and_the_rest_keep_serving(supervised):
    stack, said = supervised
    stack.commands["actions"] = [sys.executable, "-c", "raise SystemExit(3)"]  # it cannot start any more
    os.killpg(stack.processes["actions"].pid, signal.SIGKILL)
    assert wait_for(lambda: "actions keeps stopping" in said.getvalue(), timeout=30), said.getvalue()
    assert _pings(stack.redis_url)


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False
