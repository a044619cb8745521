"""Splitting, numbered options, dedupe and the shared access token (pure, and real Redis)."""
from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from bot.channels.wechat import constants as keys
from bot.channels.wechat.dedupe import Dedupe
from bot.channels.wechat.exceptions import TokenError
from bot.channels.wechat.outbox import outbox_text
from bot.channels.wechat.render import Options, chosen_option, render, split_text
from bot.channels.wechat.token import Tokens
from core import redis_keys


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def test_short_text_is_one_part():
    assert split_text("  你好  ") == ["你好"]
    assert split_text("") == []


def test_long_chinese_is_split_within_the_byte_limit_at_sentence_ends_and_nothing_is_lost():
    sentence = "养老保险待遇按月发放，请按时领取。"
    text = sentence * 200  # about 10 KB of UTF-8
    parts = split_text(text)
    assert len(parts) > 1
    assert all(size(p) <= keys.TEXT_LIMIT_BYTES for p in parts)
    assert all(p.endswith("。") for p in parts)
    assert "".join(parts) == text


def test_text_without_any_break_is_cut_between_characters():
    parts = split_text("字" * 1500, limit=100)
    assert all(size(p) <= 100 for p in parts) and "".join(parts) == "字" * 1500


def test_paragraphs_are_preferred_over_sentences():
    text = ("a" * 60 + ".") + "\n\n" + "b" * 50
    assert split_text(text, limit=100) == ["a" * 60 + ".", "b" * 50]


def test_characters_xml_cannot_carry_are_dropped():
    assert split_text("a\x00b\x1bc") == ["abc"]


def test_a_turn_is_joined_and_buttons_numbered_across_messages():
    rendered = render([
        {"recipient_id": "x", "text": "您想了解哪一项？",
         "buttons": [{"title": "养老金", "payload": "/ask_pension"}, {"title": "失业金", "payload": "/ask_unemployment"}]},
        {"recipient_id": "x", "text": "也可以转人工。", "buttons": [{"title": "转人工", "payload": "/request_human"}]},
        {"recipient_id": "x", "image": "https://example.org/a.png"},
    ])
    assert rendered.texts == ["您想了解哪一项？\n1. 养老金\n2. 失业金\n\n也可以转人工。\n3. 转人工\n\nhttps://example.org/a.png"]
    assert rendered.options == {"1": "/ask_pension", "2": "/ask_unemployment", "3": "/request_human"}


@pytest.mark.parametrize("reply,payload", [("1", "/a"), (" 2 ", "/b"), ("２", "/b"), ("①", "/a"), ("1.", "/a"),
                                           ("2、", "/b"), ("3", None), ("one", None), ("12", None), ("", None)])
def test_digit_replies_map_to_payloads(reply, payload):
    assert chosen_option(reply, {"1": "/a", "2": "/b"}) == payload


def run(coroutine):
    return asyncio.run(coroutine)


def test_options_are_kept_per_user_with_expiry_and_forgotten_after_a_reply_without_buttons(redis_server):
    async def scenario():
        client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
        options = Options(client, ttl=30)
        await options.remember("oA", {"1": "/ask_pension"})
        assert await options.resolve("oA", "１") == "/ask_pension"
        assert await options.resolve("oB", "1") is None
        assert await options.resolve("oA", "hello") is None
        assert 0 < await client.ttl(redis_keys.WECHAT_OPTIONS + "oA") <= 30
        await options.remember("oA", {})
        assert await options.resolve("oA", "1") is None
        await client.close()
    run(scenario())


def test_dedupe_one_claim_wins_across_clients_and_later_ones_see_the_reply(redis_server):
    async def scenario():
        clients = [aioredis.Redis.from_url(redis_server.url, decode_responses=True) for _ in range(3)]
        key = f"dedupe-{id(clients)}"
        results = await asyncio.gather(*(Dedupe(c).claim(key) for c in clients for _ in range(5)))
        assert sum(r is None for r in results) == 1
        first = Dedupe(clients[0])
        await first.replied(key, ["答案"])
        seen = await Dedupe(clients[1]).claim(key)
        assert seen.state == "reply" and seen.texts == ["答案"]
        assert 0 < await clients[0].ttl(redis_keys.WECHAT_SEEN + key) <= keys.SEEN_TTL
        await first.release(key)
        assert await Dedupe(clients[2]).claim(key) is None
        for c in clients:
            await c.close()
    run(scenario())


def test_the_token_is_fetched_once_for_many_concurrent_callers_and_refreshed_when_refused(redis_server):
    fetches = []

    async def fetch():
        fetches.append(1)
        await asyncio.sleep(0.05)
        return f"token-{len(fetches)}", 7200

    async def scenario():
        client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
        await client.delete(redis_keys.WECHAT_ACCESS_TOKEN, redis_keys.WECHAT_ACCESS_TOKEN_LOCK)
        callers = [Tokens(aioredis.Redis.from_url(redis_server.url, decode_responses=True), fetch) for _ in range(4)]
        tokens = await asyncio.gather(*(t.get() for t in callers for _ in range(10)))
        assert set(tokens) == {"token-1"} and len(fetches) == 1
        ttl = await client.ttl(redis_keys.WECHAT_ACCESS_TOKEN)
        assert 7200 - keys.TOKEN_MARGIN - 5 <= ttl <= 7200 - keys.TOKEN_MARGIN  # refreshed before expiry
        await callers[0].invalid("token-0")  # an old token: the current one stays
        assert await callers[1].get() == "token-1" and len(fetches) == 1
        await callers[0].invalid("token-1")
        assert await callers[2].get() == "token-2" and len(fetches) == 2
        await client.close()
    run(scenario())


def test_a_failed_fetch_raises_and_frees_the_lock(redis_server):
    async def refuse():
        raise TokenError(40013, "invalid appid")

    async def scenario():
        client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
        await client.delete(redis_keys.WECHAT_ACCESS_TOKEN)
        with pytest.raises(TokenError):
            await Tokens(client, refuse).get()
        assert await client.get(redis_keys.WECHAT_ACCESS_TOKEN_LOCK) is None
        await client.close()
    run(scenario())


@pytest.mark.parametrize("entry,expected", [
    ({"type": "agent_message", "text": "您好，我来帮您", "agent_name": "李", "language": "zh"}, "人工客服李：您好，我来帮您"),
    ({"type": "agent_message", "text": "Hi", "agent_name": "Ann", "language": "en"}, "Agent Ann: Hi"),
    ({"type": "agent_joined", "language": "zh", "agent_name": ""}, "人工客服已加入对话，请直接回复。"),
    ({"type": "queue_position", "position": 3, "estimate_seconds": 250, "language": "zh"}, "您前面还有2位，预计等待约5分钟。"),
    ({"type": "queue_position", "position": 1, "estimate_seconds": None, "language": "en"},
     "You are next: an agent will be with you shortly."),
    ({"type": "notice", "text": "已记录回电请求", "language": "zh"}, "已记录回电请求"),
    ({"type": "typing", "language": "zh"}, None),
    ({"type": "agent_message", "text": "  ", "language": "zh"}, None),
])
def test_outbox_entries_as_claimant_text(entry, expected):
    assert outbox_text(entry) == expected


# ---------------------------------------------------------------- issue 20: a brief answer on WeChat

def brief_turn(intent: str, language: str):
    """What the bot says for `intent` (the real action, domain and knowledge base)."""
    from rasa.shared.core.domain import Domain
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.topic_answer import ActionAnswerTopic
    from core.settings import ROOT, Settings

    domain = Domain.load(str(ROOT / "bot" / "domain")).as_dict()
    latest = {"text": "", "intent": {"name": intent, "confidence": 0.9}, "intent_ranking": []}
    dispatcher = CollectingDispatcher()
    tracker = Tracker("wx-o1", {"language": language}, latest, [], False, None, {}, None)
    run(ActionAnswerTopic(Settings()).run(dispatcher, tracker, domain))
    return dispatcher.messages


@pytest.mark.parametrize("language, steps_title, yes", [("zh", "2. 怎么办", "7. 好的"), ("en", "2. What to do", "7. Yes, please")])
def test_a_brief_answer_becomes_numbered_replies_that_send_its_parts(language, steps_title, yes):
    rendered = render(brief_turn("ask_unemployment", language))
    text = "\n".join(rendered.texts)
    assert steps_title in text and yes in text  # the parts first, then the pre-check's yes and no
    assert ("不是对您个人情况的决定" if language == "zh" else "not a decision on your case") in rendered.texts[0]
    steps = chosen_option("2", rendered.options)
    assert steps == '/show_answer_part{"answer_topic":"ask_unemployment","answer_part":"steps"}'
    assert chosen_option("７", rendered.options) == "/affirm"
    # short enough for one passive reply, where the full answer took several customer-service messages
    assert len(rendered.texts) == 1
