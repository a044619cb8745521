"""Satisfaction after a member of staff (issue 16, item 4), without the stack: who is asked, the
survey record, reading a rating, the store against a real Redis, the aggregation a supervisor
view reads, and how the question reaches the widget and WeChat."""
from __future__ import annotations

import asyncio
import json

import pytest

from bot.channels.web.protocol import outbox_frame
from bot.channels.wechat import outbox as wechat_outbox
from bot.channels.wechat.render import Options, chosen_option
from core.privacy import retention
from core import redis_keys as k
from handoff import csat
from handoff import tickets as t
from handoff.csat_store import CsatStore
from handoff.exceptions import InvalidRequest
from handoff.outbox import message
from handoff.phrases import load as load_phrases
from handoff.queue import Queue, connect
from handoff.settings import DeskSettings


def ticket(**changes) -> t.Ticket:
    base = t.new_ticket(ticket_id="t1", conversation_id="web-c1", channel="web", language="zh",
                        priority="requested", reason="asked", at=1.0, seq=1,
                        brief={"topics": [{"intent": "ask_pension", "confidence": 0.4},
                                          {"intent": "ask_unemployment", "confidence": 0.9}]}, **changes)
    return base


def test_asked_after_a_person_returned_or_closed_it_never_after_a_callback_or_nobody():
    held = t.claim(ticket(), agent="li", at=2.0)
    returned = t.return_to_bot(held, by="li", at=3.0)
    closed = t.close(held, by="zhao", at=3.0, reason_code="resolved")  # a supervisor closed li's ticket
    assert csat.should_ask(returned) and csat.should_ask(closed)
    assert csat.survey_for(closed, at=4.0) == csat.Survey(
        ticket_id="t1", conversation_id="web-c1", agent="li", topic="ask_unemployment", language="zh",
        channel="web", ending="closed", asked_at=4.0)
    assert not csat.should_ask(t.return_to_bot(ticket(), by="zhao", at=3.0))  # nobody held it
    assert not csat.should_ask(held)  # still open
    callback = t.CallbackRequest.create(contact_kind="phone", contact="13812345678", language="zh")
    called = t.new_ticket(ticket_id="t2", conversation_id="web-c1", channel="web", language="zh",
                          priority="callback", reason="callback", brief={}, at=1.0, seq=2, callback=callback)
    assert not csat.should_ask(t.close(t.claim(called, agent="li", at=2.0), by="li", at=3.0,
                                       reason_code="callback_done"))
    assert csat.topic_of(t.new_ticket(ticket_id="t3", conversation_id="c", channel="web", language="en",
                                      priority="requested", reason="r", brief={}, at=1.0, seq=3)) == "none"


@pytest.mark.parametrize("entity, text, score", [
    (4, '/csat_rate{"csat_score": 4}', 4), ("5", "", 5), ([2], "", 2), (None, "我给5分", 5),
    (None, "五星好评", 5), (None, "两分,不太满意", 2), (None, "I'd rate it 4", 4), (None, "five stars", 5),
    (None, "３分", 3), (None, "1分还是5分呢", None), (None, "我交了15年", None), (7, "", None), (True, "", None),
    (None, "very good", None),
])
def test_a_rating_from_a_button_or_typed(entity, text, score):
    assert csat.score_of(entity, text) == score


def test_the_domain_buttons_are_one_to_five_so_a_wechat_number_is_the_score():
    phrases = load_phrases()
    for language in ("zh", "en"):
        buttons = phrases.buttons("utter_csat_question", language)
        assert buttons == csat.buttons(b["title"] for b in buttons)
        assert [b["title"][0] for b in buttons] == ["1", "2", "3", "4", "5"]
    assert "满意" in phrases.say("utter_csat_question", "zh") and "satisfied" in phrases.say("utter_csat_question", "en")


def surveys_of_a_day():
    make = lambda n, agent, topic, score=None, comment=None, at=100.0: csat.Survey(  # noqa: E731
        ticket_id=f"t{n}", conversation_id=f"c{n}", agent=agent, topic=topic, language="zh", channel="web",
        ending="closed", asked_at=at + n, score=score, comment=comment)
    return [make(1, "li", "ask_pension", 5, "很耐心"), make(2, "li", "ask_unemployment", 3),
            make(3, "li", "ask_pension"), make(4, "wang", "ask_pension", 1, "没解决"),
            make(5, "wang", "ask_pension", 2), make(6, "wang", "ask_medical", 4, at=1000.0)]


def test_aggregation_per_agent_and_per_topic_over_a_period():
    by_agent = csat.aggregate(surveys_of_a_day(), by="agent")
    assert by_agent["li"].as_dict() == {"asked": 3, "rated": 2, "mean": 4.0, "response_rate": 2 / 3,
                                        "scores": {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}, "comments": ["很耐心"]}
    assert (by_agent["wang"].asked, by_agent["wang"].mean) == (3, 2.33)
    by_topic = csat.aggregate(surveys_of_a_day(), by="topic", until=500.0)
    assert sorted(by_topic) == ["ask_pension", "ask_unemployment"]
    assert (by_topic["ask_pension"].asked, by_topic["ask_pension"].rated, by_topic["ask_pension"].mean) == (4, 3, 2.67)
    assert by_topic["ask_pension"].comments == ("很耐心", "没解决")
    assert csat.aggregate([], by="agent") == {}
    with pytest.raises(InvalidRequest):
        csat.aggregate(surveys_of_a_day(), by="claimant")


@pytest.fixture
def store(redis_server) -> CsatStore:
    client = connect(redis_server.url)
    client.flushdb()
    yield CsatStore(client)
    client.close()


def test_the_store_takes_an_answer_only_for_a_survey_of_that_conversation(store):
    survey = csat.Survey(ticket_id="t1", conversation_id="web-c1", agent="li", topic="ask_pension",
                         language="zh", channel="web", ending="returned", asked_at=100.0)
    assert not store.rate("t1", conversation_id="web-c1", score=4, at=101.0)  # not asked yet
    store.ask(survey)
    assert not store.rate("t1", conversation_id="web-someone-else", score=1, at=101.0)
    assert store.rate("t1", conversation_id="web-c1", score=4, at=101.0)
    assert store.comment("t1", conversation_id="web-c1", text="  很耐心  ", at=102.0)
    with pytest.raises(InvalidRequest):
        store.rate("t1", conversation_id="web-c1", score=6, at=103.0)
    answered = store.get("t1")
    assert (answered.score, answered.comment, answered.rated_at, answered.agent) == (4, "很耐心", 101.0, "li")
    assert store.asked_between(99.0, 101.0) == [answered] and store.asked_between(101.0) == []


def test_surveys_are_erased_with_the_conversation(store, redis_server):
    queue = Queue(store.redis, DeskSettings(redis_url=redis_server.url))
    opened = queue.enqueue(conversation_id="web-gone", channel="web", language="zh", priority="requested",
                           reason="asked", brief={})
    store.ask(csat.Survey(ticket_id=opened.id, conversation_id="web-gone", agent="li", topic="none",
                          language="zh", channel="web", ending="closed", asked_at=100.0))
    store.comment(opened.id, conversation_id="web-gone", text="my words", at=101.0)
    retention.delete_redis_keys(store.redis, {"web-gone"})
    assert store.get(opened.id) is None and store.redis.zscore(k.CSAT_ASKED, opened.id) is None


def question_entry(language: str = "zh"):
    phrases = load_phrases()
    return message("question", conversation_id="wx-openid1", language=language,
                   text=phrases.say("utter_csat_question", language),
                   buttons=phrases.buttons("utter_csat_question", language))


def test_the_widget_gets_the_question_as_a_bot_message_with_quick_replies():
    frame = outbox_frame(question_entry("en"))
    assert frame["type"] == "bot" and "satisfied" in frame["text"]
    assert [b["payload"] for b in frame["buttons"]] == [f'/csat_rate{{"csat_score": {n}}}' for n in range(1, 6)]
    assert outbox_frame({**question_entry(), "buttons": []}) is None
    with pytest.raises(InvalidRequest):
        message("question", conversation_id="c", language="zh", text="?", buttons=[])


def test_wechat_numbers_the_ratings_and_a_reply_4_is_the_fourth(redis_server):
    entry = question_entry("zh")
    text = wechat_outbox.outbox_text(entry)
    assert "1. 1 很不满意" in text and "5. 5 非常满意" in text
    rendered = wechat_outbox.question(entry)
    assert chosen_option("４", rendered.options) == '/csat_rate{"csat_score": 4}'

    sent = []

    class Delivery:
        async def send(self, openid, texts, **kwargs):
            sent.append((openid, texts))

    async def scenario():
        import redis.asyncio as aioredis
        client = aioredis.from_url(redis_server.url, decode_responses=True)
        try:
            options = Options(client)
            reader = wechat_outbox.OutboxReader(client, Delivery(), consumer="test", options=options)
            await reader.handle("1-0", {"data": json.dumps(entry, ensure_ascii=False)})
            return await options.resolve("openid1", "4")
        finally:
            await client.close()

    assert asyncio.run(scenario()) == '/csat_rate{"csat_score": 4}'
    assert sent and sent[0][0] == "openid1" and "1. 1 很不满意" in "\n".join(sent[0][1])


def test_the_desk_gives_the_figures_to_supervisors_only(store, redis_server):
    from handoff import agents
    from handoff.server import Desk
    from test_desk_server import Console

    for survey in surveys_of_a_day():
        store.ask(survey)
        if survey.score:
            store.rate(survey.ticket_id, conversation_id=survey.conversation_id, score=survey.score, at=survey.asked_at)
    boss = agents.add_agent(store.redis, "zhao", languages=["zh"], role="supervisor")
    agent = agents.add_agent(store.redis, "li", languages=["zh"])
    settings = DeskSettings(redis_url=redis_server.url, rasa_url="http://127.0.0.1:9", rasa_token="x", port=0)

    async def scenario():
        desk = await Desk.create(settings).serve(port=0)
        try:
            zhao, li = [await Console.login(desk.port, token) for token in (boss, agent)]
            return (await zhao.ask("csat"), await zhao.ask("csat", by="topic", since=0, until=500),
                    await zhao.ask("csat", by="claimant"), await li.ask("csat"))
        finally:
            await desk.stop()

    per_agent, per_topic, wrong, refused = asyncio.run(scenario())
    assert per_agent["groups"]["li"]["mean"] == 4.0 and per_agent["groups"]["wang"]["asked"] == 3
    assert per_topic["groups"]["ask_pension"]["scores"] == {"1": 1, "2": 1, "3": 0, "4": 0, "5": 1}
    assert "ask_medical" not in per_topic["groups"]  # asked after `until`
    assert wrong["code"] == "bad_request" and refused["code"] == "forbidden"
