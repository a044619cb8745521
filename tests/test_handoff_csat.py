"""Satisfaction after a member of staff (issue 16, item 4) through the real widget socket, Rasa
server, action server, event broker and desk, in both languages: the question after a return or a
close, a rating given with a comment, and a rating skipped (the next question answered as usual).
WeChat's numbered reply is in tests/test_wechat_channel.py."""
from __future__ import annotations

import asyncio
from typing import Any, Dict

import pytest

from handoff import csat
from handoff.csat_store import CsatStore
from handoff.queue import Queue, connect
from handoff.settings import DeskSettings
from handoff.tickets import State

from conftest import Client
from test_handoff_scenarios import LANGUAGES, WORDS, Scene, frame_of, in_language, unique_name

pytestmark = [pytest.mark.stack, pytest.mark.timeout(400)]

COMMENT = {"zh": "很耐心,不过等得有点久。我的电话是13812345678", "en": "Very patient, but the wait was long. Call me on 13812345678"}
THANKS = {"zh": "谢谢您的评分", "en": "Thank you for your rating"}
COMMENT_THANKS = {"zh": "意见已经转达", "en": "comment has been passed on"}


@pytest.fixture
def scene(desk_stack, redis_server, request) -> Scene:
    settings = DeskSettings(redis_url=redis_server.url, rasa_url=desk_stack.rasa_url,
                            rasa_token=desk_stack.settings.token(), port=0, sweep_interval_seconds=0.2)
    return Scene(desk_stack, settings, Queue(connect(redis_server.url), settings), request.param)


def is_question(frame: Dict[str, Any]) -> bool:
    return frame["type"] == "bot" and any(b["payload"].startswith("/csat_rate") for b in frame.get("buttons") or [])


async def hand_over(stage: Scene, agent: str) -> Dict[str, Any]:
    """The claimant asks a question, then for a person; `agent` claims and answers."""
    words = WORDS[stage.language]
    await stage.say(words["topic"])
    await stage.say(words["human"])
    ticket = await stage.ticket_for(agent)
    await stage.claim(agent, ticket["id"])
    assert (await stage.consoles[agent].ask("message", ticket_id=ticket["id"], text="OK"))["type"] == "ok"
    return ticket


@LANGUAGES
def test_returned_the_claimant_rates_with_a_button_and_adds_a_comment(scene, desk_stack):
    agent = unique_name("cs-a")
    language = scene.language

    async def scenario() -> Dict[str, Any]:
        await scene.start(agent)
        try:
            ticket = await hand_over(scene, agent)
            assert (await scene.consoles[agent].ask("return", ticket_id=ticket["id"]))["type"] == "ok"
            resumed = await scene.claimant_sees(frame_of("bot_resumed"))
            question = await scene.claimant_sees(is_question)
            four = next(b for b in question["buttons"] if b["title"].startswith("4"))
            thanks = [f for f in await scene.say(four["payload"]) if f["type"] == "bot"]
            yes = next(b for b in thanks[-1]["buttons"] if b["payload"] == "/affirm")
            asked = [f for f in await scene.say(yes["payload"]) if f["type"] == "bot"]
            done = [f for f in await scene.say(COMMENT[language]) if f["type"] == "bot"]
            answer = [f for f in await scene.say(WORDS[language]["next"]) if f["type"] == "bot"]
            return {"ticket": ticket, "resumed": resumed, "question": question, "thanks": thanks, "asked": asked,
                    "done": done, "answer": " ".join(f["text"] for f in answer)}
        finally:
            await scene.stop()

    seen = asyncio.run(scenario())
    assert seen["resumed"]["seq"] < seen["question"]["seq"], "the question comes after the bot's line"
    assert in_language(seen["question"]["text"], language)
    assert [b["title"][0] for b in seen["question"]["buttons"]] == ["1", "2", "3", "4", "5"]
    assert THANKS[language] in seen["thanks"][-1]["text"]
    assert seen["asked"] and in_language(seen["asked"][-1]["text"], language)
    assert COMMENT_THANKS[language] in seen["done"][-1]["text"]
    assert WORDS[language]["next_word"] in seen["answer"], seen["answer"]  # and the bot answers on
    survey = CsatStore(scene.queue.redis).get(seen["ticket"]["id"])
    assert (survey.score, survey.agent, survey.topic, survey.language, survey.ending) == (
        4, agent, "ask_unemployment", language, "returned")
    assert survey.comment.startswith(COMMENT[language][:8]) and "13812345678" not in survey.comment  # redacted
    assert len(scene.tickets()) == 1
    said = scene.claimant_messages(Client(desk_stack.rasa_url, desk_stack.settings.token()))
    assert said == scene.said


@LANGUAGES
def test_closed_the_claimant_skips_the_rating_and_the_next_question_is_answered(scene, desk_stack):
    agent = unique_name("cs-b")
    words = WORDS[scene.language]

    async def scenario() -> Dict[str, Any]:
        await scene.start(agent)
        try:
            ticket = await hand_over(scene, agent)
            done = await scene.consoles[agent].ask("close", ticket_id=ticket["id"], reason_code="resolved", note="")
            assert done["type"] == "ok", done
            left = await scene.claimant_sees(frame_of("agent_left"))
            question = await scene.claimant_sees(is_question)
            answer = [f for f in await scene.say(words["next"]) if f["type"] == "bot"]
            return {"ticket": ticket, "left": left, "question": question,
                    "answer": " ".join(f["text"] for f in answer)}
        finally:
            await scene.stop()

    seen = asyncio.run(scenario())
    assert seen["left"]["seq"] < seen["question"]["seq"]
    assert in_language(seen["question"]["text"], scene.language)
    assert words["next_word"] in seen["answer"] and in_language(seen["answer"], scene.language), seen["answer"]
    survey = CsatStore(scene.queue.redis).get(seen["ticket"]["id"])
    assert (survey.score, survey.comment, survey.ending) == (None, None, "closed")
    assert scene.queue.get(seen["ticket"]["id"]).state is State.CLOSED and len(scene.tickets()) == 1
    summary = csat.aggregate([survey], by="agent")[agent]
    assert (summary.asked, summary.rated) == (1, 0)
    assert scene.claimant_messages(Client(desk_stack.rasa_url, desk_stack.settings.token())) == scene.said
