"""The gateway-to-Rasa hand-over: the handshake's decisions (pure), its race on a real Redis,
the wake-up, and the inbox stream (encoding, pure; take-over of a dead consumer's messages)."""
from __future__ import annotations

import asyncio
import json
import random
import time

import pytest
import redis.asyncio as aioredis

from bot.channels.wechat.answers import AnswerBell
from bot.channels.wechat.handshake import (DELIVER, DONE, HANDED, Handshake, Turn, bot_next, gateway_reply,
                                           passive_value, turn_of)
from bot.channels.wechat.inbox import InboxReader, Job, decode_job, encode_job
from core import redis_keys
from core.settings import Settings


# --- decisions (pure) ---

def test_stored_values_read_back_and_garbage_counts_as_async():
    assert turn_of(None) is None
    assert turn_of(passive_value(["您好", "第二段"])) == Turn("passive", ["您好", "第二段"])
    assert turn_of(passive_value([])) == Turn("passive", [])
    assert turn_of("sent") == Turn("sent")
    assert turn_of("async") == Turn("async")
    # unreadable: the Rasa side sends (async) rather than nobody answering
    assert turn_of("passive:{not json") == Turn("async")
    assert turn_of('passive:[1, 2]') == Turn("async")
    assert turn_of("something else") == Turn("async")
    assert turn_of('collected:["您好"]') == Turn("collected", ["您好"])


def test_the_gateway_replies_passively_only_with_an_answer_handed_over_before_it_gave_up():
    assert gateway_reply(True, None) is None  # won "async": success, the Rasa side sends
    assert gateway_reply(False, passive_value(["答案"])) == ["答案"]
    assert gateway_reply(False, 'collected:["答案"]') == ["答案"]  # a retry after the reply was lost
    assert gateway_reply(False, "async") is None  # the Rasa side decided it was late
    assert gateway_reply(False, "sent") is None
    assert gateway_reply(False, None) is None


def test_the_rasa_side_sends_exactly_when_the_gateway_does_not_reply():
    assert bot_next(True, True, None) == HANDED
    assert bot_next(False, True, None) == DELIVER  # offered late and won: send
    assert bot_next(True, False, "async") == DELIVER  # the gateway gave up first
    assert bot_next(False, False, "async") == DELIVER
    assert bot_next(True, False, None) == DELIVER  # expired meanwhile: send rather than lose it
    assert bot_next(True, False, passive_value(["x"])) == DONE  # an earlier run handed it over
    assert bot_next(True, False, "sent") == DONE


@pytest.fixture
def aclients(redis_server, r):  # r flushes the test Redis before and after
    return [aioredis.Redis.from_url(redis_server.url, decode_responses=True) for _ in range(3)]


def test_the_race_never_gives_both_or_neither_answer(aclients):
    """Gateway and Rasa side decide at random moments around each other, from different clients."""
    async def one(n: int):
        key = f"race-{n}"
        gateway, bot = Handshake(random.choice(aclients)), Handshake(random.choice(aclients))

        async def gateway_side():
            await asyncio.sleep(random.uniform(0, 0.01))
            return await gateway.give_up(key)

        async def bot_side():
            await asyncio.sleep(random.uniform(0, 0.01))
            return await bot.offer(key, [f"answer {n}"], late=random.random() < 0.2)
        return await asyncio.gather(gateway_side(), bot_side())

    async def main():
        return await asyncio.gather(*(one(n) for n in range(400)))
    results = asyncio.run(main())
    passive = sum(1 for texts, _ in results if texts is not None)
    for n, (texts, outcome) in enumerate(results):
        assert (texts is not None) != (outcome == DELIVER), (n, texts, outcome)
        assert outcome != DONE  # only a second run of the same message is told that
        if texts is not None:
            assert texts == [f"answer {n}"] and outcome == HANDED
    assert 0 < passive < len(results)  # both orders happened


def test_a_second_run_of_a_message_already_answered_does_nothing(aclients):
    async def main():
        handshake = Handshake(aclients[0])
        assert await handshake.offer("again", ["a"], late=False) == HANDED
        assert await handshake.offer("again", ["a"], late=False) == DONE
        assert await handshake.give_up("sent-one") is None
        assert await handshake.offer("sent-one", ["b"], late=False) == DELIVER
        await handshake.sent("sent-one")
        assert await handshake.offer("sent-one", ["b"], late=True) == DONE
    asyncio.run(main())


def test_a_collected_answer_is_the_gateways_and_an_uncollected_one_is_taken_back(aclients):
    """The gateway's give-up collects an offer (a retry gets the same texts again); the Rasa side
    takes back only an offer nobody collected, and then sends it itself."""
    async def main():
        bot, gateway = Handshake(aclients[0]), Handshake(aclients[1])
        assert await bot.offer("collected", ["答案"], late=False) == HANDED
        assert await gateway.give_up("collected") == ["答案"]
        assert await bot.turn("collected") == Turn("collected", ["答案"])
        assert await gateway.collect("collected") == ["答案"]  # WeChat's retry, after a lost reply
        assert await gateway.collect("undecided") is None and await bot.turn("undecided") is None
        assert await bot.take_back("collected") is None
        assert await bot.offer("collected", ["答案"], late=False) == DONE  # a second run
        assert await bot.offer("orphan", ["answer", "more"], late=False) == HANDED
        assert await bot.take_back("orphan") == ["answer", "more"]
        assert await gateway.give_up("orphan") is None  # too late: `success`, the Rasa side sends
        assert await bot.take_back("orphan") is None
        assert await bot.take_back("nobody") is None
    asyncio.run(main())


def test_collecting_and_taking_back_never_both_win(aclients):
    async def one(n: int):
        key = f"late-{n}"
        await Handshake(aclients[0]).offer(key, [f"answer {n}"], late=False)

        async def gateway_side():
            await asyncio.sleep(random.uniform(0, 0.01))
            return await Handshake(random.choice(aclients)).give_up(key)

        async def bot_side():
            await asyncio.sleep(random.uniform(0, 0.01))
            return await Handshake(random.choice(aclients)).take_back(key)
        return await asyncio.gather(gateway_side(), bot_side())

    async def main():
        return await asyncio.gather(*(one(n) for n in range(300)))
    results = asyncio.run(main())
    for n, (replied, taken) in enumerate(results):
        assert (replied is None) != (taken is None), (n, replied, taken)
        assert (replied or taken) == [f"answer {n}"]
    assert 0 < sum(replied is not None for replied, _ in results) < len(results)  # both orders happened


def test_the_handed_over_answer_wakes_the_waiting_request_at_once(aclients):
    async def main():
        bell = AnswerBell(aclients[0])
        listening = asyncio.ensure_future(bell.run())
        await asyncio.sleep(0.2)  # subscribed
        started = time.monotonic()
        waiting = asyncio.ensure_future(bell.wait("wake-me", 4.0))
        await asyncio.sleep(0.05)
        assert await Handshake(aclients[1]).offer("wake-me", ["好的"], late=False) == HANDED
        assert await waiting is True and time.monotonic() - started < 1.0
        assert await Handshake(aclients[2]).give_up("wake-me") == ["好的"]
        assert await bell.wait("nobody-answers", 0.2) is False
        listening.cancel()
    asyncio.run(main())


# --- the inbox stream ---

def test_a_job_round_trips_and_names_its_conversation_for_erasure():
    job = Job(key="123", openid="o-abc", text="失业金 ]]> <xml>", msg_type="voice", msg_id="123",
              deadline=1700000004.5)
    fields = encode_job(job)
    assert decode_job(fields) == job
    assert json.loads(fields["data"])["conversation_id"] == "wx-o-abc"


@pytest.mark.parametrize("fields", [{}, {"data": ""}, {"data": "not json"}, {"data": "[]"},
                                    {"data": json.dumps({"key": "1", "openid": "o", "text": "hi"})},
                                    {"data": json.dumps({"key": "1", "openid": "", "text": "hi", "deadline": 1})},
                                    {"data": json.dumps({"key": "1", "openid": "o", "text": "hi", "deadline": True})}])
def test_an_entry_that_is_not_a_job_decodes_to_none(fields):
    assert decode_job(fields) is None


def test_messages_a_dead_consumer_read_are_taken_over_and_handled_once(aclients):
    async def main():
        client = aclients[0]
        await client.xgroup_create(redis_keys.WECHAT_INBOX_STREAM, redis_keys.WECHAT_INBOX_GROUP, id="0", mkstream=True)
        jobs = [Job(key=f"k{n}", openid=f"o{n}", text="你好", msg_type="text", msg_id=f"k{n}", deadline=0.0)
                for n in range(3)]
        for job in jobs:
            await client.xadd(redis_keys.WECHAT_INBOX_STREAM, encode_job(job))
        await client.xadd(redis_keys.WECHAT_INBOX_STREAM, {"data": "garbage"})
        # a Rasa process reads everything, then dies without acknowledging
        read = await client.xreadgroup(redis_keys.WECHAT_INBOX_GROUP, "rasa-dead", {redis_keys.WECHAT_INBOX_STREAM: ">"}, count=10)
        assert len(read[0][1]) == 4
        handled = []

        async def handle(job, again):
            await asyncio.sleep(0.5)  # longer than reclaim_ms: must not be taken over twice
            handled.append((job, again))
        reader = InboxReader(aclients[1], handle, consumer="rasa-alive", reclaim_ms=300, block_ms=100)
        running = asyncio.ensure_future(reader.run())
        deadline = time.monotonic() + 10
        while (len(handled) < 3 or await client.xlen(redis_keys.WECHAT_INBOX_STREAM)) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        running.cancel()
        assert sorted(job.key for job, _ in handled) == ["k0", "k1", "k2"]
        assert all(again for _, again in handled)  # read before: the handler checks the tracker
        assert await client.xlen(redis_keys.WECHAT_INBOX_STREAM) == 0  # the garbage entry too: dropped, not stuck
        assert (await client.xpending(redis_keys.WECHAT_INBOX_STREAM, redis_keys.WECHAT_INBOX_GROUP))["pending"] == 0
    asyncio.run(main())


# --- settings of the hand-over ---

def test_the_reclaim_time_and_the_test_hold_come_from_the_environment():
    from bot.channels.wechat.config import WeChatSettings
    from bot.channels.wechat.exceptions import ConfigError

    settings = WeChatSettings.build(settings=Settings.from_env({"WECHAT_RECLAIM_SECONDS": "2.5",
                                                                "RENBEN_WECHAT_TEST_BLOCK": "3:busy-"}))
    assert settings.reclaim_seconds == 2.5 and settings.test_block == (3.0, "busy-")
    assert WeChatSettings.build(settings=Settings.from_env({})).reclaim_seconds == 60.0
    for bad in ({"WECHAT_RECLAIM_SECONDS": "soon"}, {"WECHAT_RECLAIM_SECONDS": "0"},
                {"RENBEN_WECHAT_TEST_BLOCK": "x:busy-"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            WeChatSettings.build(settings=Settings.from_env(bad))


def test_the_gateway_reads_the_channels_entry_of_the_credentials_file(tmp_path):
    from bot.channels.wechat.gateway import CHANNEL_ENTRY, credentials

    path = tmp_path / "credentials.yml"
    path.write_text(f"bot.channels.rest.RestChannel:\n{CHANNEL_ENTRY}:\n  passive_timeout: 4\n")
    assert credentials(path) == {"passive_timeout": 4}
    path.write_text(f"{CHANNEL_ENTRY}:\n")
    assert credentials(path) is None
    assert credentials(tmp_path / "missing.yml") is None
