"""The Redis stream event broker, loaded the way Rasa loads it from endpoints.yml."""
from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from tooling.embedded_redis import free_port
from bot.event_broker import RedisStreamEventBroker
from core.redis_keys import EVENTS_STREAM


@pytest.fixture
def client(r):
    return r  # conftest's flushed Redis client


def make(url: str, **kwargs) -> RedisStreamEventBroker:
    config = EndpointConfig(url=url, type="bot.event_broker.RedisStreamEventBroker", **kwargs)
    broker = asyncio.run(EventBroker.create(config))
    assert isinstance(broker, RedisStreamEventBroker)
    return broker


def test_every_event_reaches_the_stream_in_order(redis_server, client):
    broker = make(redis_server.url)
    for n in range(300):
        broker.publish({"sender_id": f"c{n % 3}", "event": "user", "text": f"message {n}",
                        "timestamp": 1.0 + n, "parse_data": {"intent": {"name": "greet"}}})
    assert broker.flush()
    entries = client.xrange(EVENTS_STREAM)
    assert [json.loads(fields["data"])["text"] for _, fields in entries] == [f"message {n}" for n in range(300)]
    assert entries[4][1]["sender_id"] == "c1" and entries[4][1]["event"] == "user"
    asyncio.run(broker.close())


def test_the_stream_is_trimmed_and_options_come_from_the_endpoint(redis_server, client):
    broker = make(redis_server.url, stream="renben:test-events", maxlen=10)
    for n in range(1000):
        broker.publish({"sender_id": "c", "event": "bot", "text": str(n)})
    assert broker.flush()
    assert client.xlen(EVENTS_STREAM) == 0
    assert client.xlen("renben:test-events") < 1000
    asyncio.run(broker.close())


def test_redis_down_neither_blocks_nor_raises_and_events_are_kept_for_later(tmp_path):
    from tooling import embedded_redis
    port = free_port()
    broker = make(f"redis://127.0.0.1:{port}/0")
    started = time.perf_counter()
    for n in range(100):
        broker.publish({"sender_id": "c", "event": "user", "text": str(n)})
    assert time.perf_counter() - started < 0.1  # publishing never waits for Redis
    time.sleep(0.3)
    assert not broker.is_ready()
    server = embedded_redis.start(tmp_path / "late-redis", port=port, persist=False)
    try:
        assert broker.flush(timeout=10)
        client = redis.Redis(port=port, decode_responses=True)
        assert [json.loads(f["data"])["text"] for _, f in client.xrange(EVENTS_STREAM)] == [str(n) for n in range(100)]
        assert broker.is_ready()
        asyncio.run(broker.close())
    finally:
        server.stop()


def test_a_missing_url_is_refused_without_crashing():
    config = EndpointConfig(url=None, type="bot.event_broker.RedisStreamEventBroker")
    assert asyncio.run(EventBroker.create(config)) is None
