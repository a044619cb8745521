"""Shared fixtures: the trained model, a real Redis, and the real running stack."""
from __future__ import annotations

import json
import os
import urllib.error
import re
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import redis

from tooling import embedded_redis, model_store

# Every test talks from 127.0.0.1 to one Redis: the per-address limit would count the whole
# suite as one claimant. Its own test sets a low limit (tests/test_web_channel.py).
os.environ.setdefault("RENBEN_WEB_ADDRESS_PER_MINUTE", "1000000")
from tooling.launch import Stack
from core.settings import ROOT, Settings


@pytest.fixture(autouse=True)
def fresh_process_settings(monkeypatch):
    """Each test is a fresh process for the settings: what a process reads from the environment
    once (core.settings.current) is read again after the test has set its environment."""
    import core.settings

    monkeypatch.setattr(core.settings, "_process", None)


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The model for the current data and pipeline (trained here if `make model` was not run).

    RENBEN_TEST_MODEL names a model file to use instead (while developing, to skip retraining)."""
    override = os.environ.get("RENBEN_TEST_MODEL")
    if override:
        return Path(override)
    return model_store.ensure_trained(ROOT / "models")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = embedded_redis.start(tmp_path_factory.mktemp("redis"), persist=False)
    yield server
    server.stop()


@pytest.fixture
def r(redis_server):
    """A client of the test Redis (text replies), flushed before and after the test."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(scope="module")
def desk_stack(model_path, redis_server, tmp_path_factory):
    """Rasa and the action server of their own, streaming events to the test Redis as under
    `make run`; the desk itself runs in the test (or as its own process)."""
    settings = Settings(var_dir=tmp_path_factory.mktemp("desk-var"), rasa_port=embedded_redis.free_port(),
                        actions_port=embedded_redis.free_port(), desk_port=embedded_redis.free_port(),
                        auth_token="desk-test-token", redis_url=redis_server.url)
    running = Stack(settings, model_path, services=("actions", "rasa")).start()
    yield running
    running.stop()


def start_stack(model: Path, var_dir: Path, *, services=("actions", "rasa"), **overrides: Any) -> Stack:
    """The processes `make run` starts (by default only the action server and Rasa), on free ports."""
    settings = Settings(
        var_dir=var_dir,
        rasa_port=embedded_redis.free_port(),
        actions_port=embedded_redis.free_port(),
        desk_port=embedded_redis.free_port(),
        wechat_port=embedded_redis.free_port(),
        auth_token="test-token",
        **overrides,
    )
    return Stack(settings, model, services=tuple(services)).start()


@pytest.fixture(scope="session")
def stack(model_path, redis_server, tmp_path_factory):
    """Rasa server, action server, Redis lock store and SQLite tracker store, on free ports."""
    running = start_stack(model_path, tmp_path_factory.mktemp("var"), redis_url=redis_server.url)
    yield running
    running.stop()


class Client:
    """Talks to the running Rasa server the way a channel client and the desk would."""

    def __init__(self, base_url: str, token: str):
        self.base_url, self.token = base_url, token

    def raw(self, path: str, body: bytes, *, method: str = "POST", content_type: str = "application/json",
            token: Optional[str] = "") -> tuple[int, Any]:
        """`token`: "" sends the client's API token, None none, any other string that one."""
        headers = {"Content-Type": content_type}
        token = self.token if token == "" else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return reply.status, json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def say(self, sender: str, message: Optional[str]) -> List[Dict[str, Any]]:
        status, replies = self.raw("/webhooks/rest/webhook",
                                   json.dumps({"sender": sender, "message": message}).encode())
        assert status == 200, replies
        return replies

    def texts(self, sender: str, message: Optional[str]) -> str:
        return "\n".join(r.get("text", "") for r in self.say(sender, message))

    def tracker(self, sender: str) -> Dict[str, Any]:
        url = f"{self.base_url}/conversations/{sender}/tracker?token={self.token}"
        with urllib.request.urlopen(url, timeout=30) as reply:
            return json.load(reply)

    def parse(self, text: str) -> Dict[str, Any]:
        status, result = self.raw(f"/model/parse?token={self.token}", json.dumps({"text": text}).encode())
        assert status == 200, result
        return result

    def user_texts(self, sender: str) -> List[str]:
        return [e["text"] for e in self.tracker(sender)["events"] if e["event"] == "user"]


@pytest.fixture(scope="session")
def client(stack) -> Client:
    return Client(stack.rasa_url, stack.settings.token())


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.fixture
def sender(request) -> str:
    """A conversation id of its own for each test."""
    return re.sub(r"[^\w-]+", "-", f"{request.node.name}-{os.getpid()}")
