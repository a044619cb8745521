"""Metrics (issue 21): /metrics of the Rasa process, the WeChat gateway and the desk, through the
real processes on their own embedded Redis. A claimant's turns on the widget, REST and WeChat, a
handoff, an agent's login, claim and message each move the counters by what was done; the
expositions hold no conversation id, OpenID, agent id or words; and nobody reads them without
the token. The pure parts (labels, the queue's figures, the door) are tested without sockets.
"""
from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.request
import uuid
from typing import Dict, FrozenSet, Optional, Tuple

import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from core.monitoring import definitions as metrics, door
from handoff import agents as desk_agents
from handoff.monitoring import QueueCollector, families
from handoff.queue import Queue, connect
from handoff.reports import AgentPresence
from handoff.settings import DeskSettings
from handoff.tickets import Priority, reason_kind
from test_web_channel import Widget, ws_url
from test_wechat_channel import TOKEN as WECHAT_TOKEN, Account, text_xml
from tests.conftest import Client, start_stack
from tests.fake_wechat_api import FakeWeChatApi

Samples = Dict[Tuple[str, FrozenSet[Tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


# ----------------------------------------------------------------------------- pure

def test_labels_are_bounded():
    assert [metrics.channel_label(c) for c in ("web", "wechat", "rest", "socketio", None)] == \
        ["web", "wechat", "rest", "other", "other"]
    assert [metrics.language_label(x) for x in ("zh", "en", "fr", None, "wx-o123")] == \
        ["zh", "en", "unknown", "unknown", "unknown"]
    with pytest.raises(ValueError):
        metrics.error("a kind nobody declared")
    with pytest.raises(ValueError):
        metrics.wechat_answered("sideways", 1.0)


@pytest.mark.parametrize("reason, kind", [
    ("crisis: 不想活 (zh.crisis.want_to_die)", "crisis"), ("urgent: evicted (en.urgent.x)", "urgent"),
    ("complex: appeal_after_decision | 仲裁 (zh.complex.y)", "complex"), ("concern", "concern"),
    ("data rights: the claimant asks to correct their information", "data_rights"),
    ("complaint or appeal", "complaint_appeal"), ("asked for a person", "asked_for_person"),
    ("escalated after nlu_fallback", "escalated"), ("callback: crisis: 不想活 (zh.crisis.x)", "callback"),
    ("身份证号440106199003071235", "other"), ("", "other"),
])
def test_a_reason_is_counted_by_its_kind_never_its_words(reason, kind):
    assert reason_kind(reason) == kind


def waiting(ticket_id: str, priority: str, language: str, since: float):
    from handoff.tickets import new_ticket

    return new_ticket(ticket_id=ticket_id, conversation_id=f"web-{ticket_id}", channel="web", language=language,
                      priority=priority, reason="asked for a person", brief={}, at=since, seq=1)


def test_the_queue_s_figures_cover_every_priority_and_language_and_count_agents_by_state():
    tickets = [waiting("a", "urgent", "zh", 100.0), waiting("b", "urgent", "zh", 160.0),
               waiting("c", "requested", "en", 190.0), waiting("d", "requested", "fr", 150.0)]
    people = [AgentPresence("li", "Li", "agent", ("zh", "en"), "available"),
              AgentPresence("wang", "Wang", "agent", ("zh",), "available"),
              AgentPresence("zhao", "Zhao", "agent", ("en",), "away"),
              AgentPresence("qian", "Qian", "agent", ("zh",), "offline")]
    built = {family.name: {tuple(s.labels.values()): s.value for s in family.samples}
             for family in families(waiting=tickets, agents=people, holding={"wang": 1, "qian": 2},
                                    handoff_counts={"crisis|crisis": "2", "asked_for_person|requested": "5",
                                                    "nonsense|requested": "1", "crisis|bogus": "9"},
                                    now=200.0)}
    depth = built["renben_queue_depth"]
    assert len(depth) == len(Priority) * 3  # zh, en, and the one language Renben does not speak
    assert depth[("urgent", "zh")] == 2 and depth[("requested", "en")] == 1 and depth[("requested", "unknown")] == 1
    assert depth[("crisis", "zh")] == 0
    oldest = built["renben_queue_oldest_wait_seconds"]
    assert oldest[("urgent", "zh")] == 100.0 and oldest[("requested", "en")] == 10.0 and oldest[("crisis", "en")] == 0
    assert built["renben_agents"] == {("available", "zh"): 1, ("available", "en"): 1, ("away", "zh"): 0,
                                      ("away", "en"): 1, ("busy", "zh"): 1, ("busy", "en"): 0}
    assert built["renben_handoffs"] == {("crisis", "crisis"): 2, ("asked_for_person", "requested"): 5,
                                        ("other", "requested"): 1}


def test_the_collector_reads_the_queue_from_redis_and_counts_each_ticket_once(r, redis_server):
    settings = DeskSettings(redis_url=redis_server.url)
    queue = Queue(connect(redis_server.url), settings)
    for _ in range(2):  # the same request made again (a turn run again) is one handoff
        queue.enqueue(conversation_id="web-m1", channel="web", language="zh", priority="crisis",
                      reason="crisis: 不想活 (zh.crisis.want_to_die)", brief={}, request_id="m-1")
    queue.enqueue(conversation_id="web-m2", channel="web", language="en", priority="requested",
                  reason="asked for a person", brief={})
    desk_agents.add_agent(queue.redis, "agent-zz-17", languages=["zh"])
    queue.agent_online("agent-zz-17", languages=["zh"])
    exposition = parse(door.answer(door.registry_for("desk", QueueCollector(queue)), "Bearer t", "t").body.decode())
    assert value(exposition, "renben_handoffs_total", reason="crisis", priority="crisis") == 1
    assert value(exposition, "renben_handoffs_total", reason="asked_for_person", priority="requested") == 1
    assert value(exposition, "renben_queue_depth", priority="crisis", language="zh") == 1
    assert value(exposition, "renben_agents", state="available", language="zh") == 1
    text = door.answer(door.registry_for("desk", QueueCollector(queue)), "Bearer t", "t").body.decode()
    assert "web-m1" not in text and "不想活" not in text and "agent-zz-17" not in text


def test_without_redis_the_desk_s_metrics_still_answer_and_count_the_error():
    from tooling import embedded_redis

    settings = DeskSettings(redis_url=f"redis://127.0.0.1:{embedded_redis.free_port()}/0")
    queue = Queue(connect(settings.redis_url), settings)
    registry = door.registry_for("desk", QueueCollector(queue))
    before = registry.get_sample_value("renben_errors_total", {"kind": "metrics_unreadable"})
    answer = door.answer(registry, "Bearer t", "t")
    assert answer.status == 200 and "renben_queue_depth" not in answer.body.decode()
    assert registry.get_sample_value("renben_errors_total", {"kind": "metrics_unreadable"}) == before + 1


def test_only_the_token_opens_the_door():
    registry = door.registry_for("rasa")
    assert door.answer(registry, "Bearer right", "right").status == 200
    for header in (None, "", "Bearer wrong", "Basic right", "right", "Bearer right-and-more"):
        refused = door.answer(registry, header, "right")
        assert refused.status == 401 and b"renben_" not in refused.body and "WWW-Authenticate" in refused.headers
    assert door.answer(registry, "Bearer anything", None).status == 403  # no token: metrics off


def test_every_exposed_renben_sample_is_declared():
    registries = [door.registry_for(component) for component in metrics.COMPONENTS]
    declared = set(metrics.sample_names())
    metrics.turn_finished(channel="web", language="zh", replies=1, seconds=0.1)
    metrics.wechat_answered("passive", 0.2)
    for registry in registries:
        for family in registry.collect():
            for sample in family.samples:
                if sample.name.startswith("renben_"):
                    assert sample.name in declared, sample.name


# ----------------------------------------------------------------------------- the real processes

WIDGET_QUESTION = "养老金怎么领取?"
ASK_A_PERSON = "我要找人工"
AGENT_WORDS = "您好,我是客服,请问有什么可以帮您?"
WECHAT_QUESTION = "失业了可以去哪里领钱"
REST_QUESTION = "How do I claim unemployment benefit?"


@pytest.fixture(scope="module")
def fake_api():
    api = FakeWeChatApi().start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def watched(model_path, tmp_path_factory, fake_api):
    """Rasa, the action server, the WeChat gateway and the desk on their own embedded Redis."""
    env = {"WECHAT_TOKEN": WECHAT_TOKEN, "WECHAT_APPID": fake_api.app_id, "WECHAT_APPSECRET": fake_api.app_secret,
           "WECHAT_API_BASE": fake_api.url}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the stack's processes inherit it
    try:
        running = start_stack(model_path, tmp_path_factory.mktemp("metrics-var"), redis_url=None,
                              services=("actions", "rasa", "wechat", "desk"))
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
    yield running
    running.stop()


def get(url: str, token: Optional[str]) -> Tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape(stack) -> Dict[str, str]:
    """Each process's exposition."""
    found = {}
    for name, base in (("rasa", stack.rasa_url), ("wechat", stack.wechat_url), ("desk", stack.desk_url)):
        status, text = get(base + door.PATH, stack.settings.metrics_secret())
        assert status == 200, (name, status, text)
        found[name] = text
    return found


def moved(before: Dict[str, str], after: Dict[str, str], process: str, name: str, **labels: str) -> float:
    return value(parse(after[process]), name, **labels) - value(parse(before[process]), name, **labels)


async def frame_of(socket, kind: str, **match) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 60))
        if frame["type"] == kind and all(frame.get(key) == wanted for key, wanted in match.items()):
            return frame


@pytest.mark.stack
def test_the_counters_move_by_what_claimants_and_agents_did(watched, fake_api):
    stack = watched
    api = Client(stack.rasa_url, stack.settings.token())
    account, openid = Account(stack), f"ometrics-{uuid.uuid4().hex[:10]}"
    rest_sender = f"crm-metrics-{uuid.uuid4().hex[:6]}"
    token = desk_agents.add_agent(connect(stack.redis_url), "metrics-agent-li", languages=["zh"])
    seen: Dict[str, str] = {}

    async def scenario() -> Dict[str, Dict[str, str]]:
        marks = {"start": await asyncio.to_thread(scrape, stack)}
        widget = Widget(ws_url(stack))
        session = await widget.open(language="zh")
        seen["conversation"], seen["session"] = session["conversation_id"], session["token"]
        await widget.ack_of(await widget.say(WIDGET_QUESTION))
        marks["widget turn"] = await asyncio.to_thread(scrape, stack)
        await widget.ack_of(await widget.say(ASK_A_PERSON))
        marks["handoff"] = await asyncio.to_thread(scrape, stack)

        agent = await websockets.connect(stack.desk_url.replace("http://", "ws://") + "/agent")
        await agent.send(json.dumps({"type": "auth", "token": token}))
        await frame_of(agent, "snapshot")
        marks["login"] = await asyncio.to_thread(scrape, stack)
        ticket = (await asyncio.to_thread(Queue(connect(stack.redis_url), DeskSettings()).open_ticket,
                                          seen["conversation"]))
        seen["ticket"] = ticket.id
        await agent.send(json.dumps({"type": "claim", "ticket_id": ticket.id, "ref": 1}))
        await frame_of(agent, "ok", ref=1)
        await agent.send(json.dumps({"type": "message", "ticket_id": ticket.id, "text": AGENT_WORDS, "ref": 2}))
        await frame_of(agent, "ok", ref=2)
        await widget.wait_for(lambda f: f.get("text") == AGENT_WORDS or AGENT_WORDS in (f.get("text") or ""))
        marks["claim and message"] = await asyncio.to_thread(scrape, stack)
        await agent.close()
        await widget.close()
        return marks

    marks = asyncio.run(asyncio.wait_for(scenario(), timeout=300))
    bot_events = [e for e in api.tracker(seen["conversation"])["events"]  # the bot's, not the agent's
                  if e["event"] == "bot" and not (e.get("metadata") or {}).get("agent_id")]

    # one widget turn: one message in, every bot utterance out, one latency observed
    start, turn = marks["start"], marks["widget turn"]
    assert moved(start, turn, "rasa", "renben_messages_in_total", channel="web", language="zh") == 1
    replies = moved(start, turn, "rasa", "renben_messages_out_total", channel="web", language="zh", sender="bot")
    assert replies >= 1
    assert moved(start, turn, "rasa", "renben_turn_seconds_count", channel="web") == 1
    # the handoff: the second message, its answer, one ticket in the queue
    handoff = marks["handoff"]
    assert moved(turn, handoff, "rasa", "renben_messages_in_total", channel="web", language="zh") == 1
    assert replies + moved(turn, handoff, "rasa", "renben_messages_out_total", channel="web", language="zh",
                           sender="bot") == len(bot_events)
    assert moved(turn, handoff, "desk", "renben_handoffs_total", reason="asked_for_person", priority="requested") == 1
    assert value(parse(handoff["desk"]), "renben_queue_depth", priority="requested", language="zh") == 1
    assert value(parse(handoff["desk"]), "renben_queue_oldest_wait_seconds", priority="requested", language="zh") > 0
    assert value(parse(handoff["desk"]), "renben_agents", state="available", language="zh") == 0
    # the agent logs in, claims (the claimant is told they joined) and writes
    login, claimed = marks["login"], marks["claim and message"]
    assert value(parse(login["desk"]), "renben_agents", state="available", language="zh") == 1
    assert value(parse(claimed["desk"]), "renben_agents", state="busy", language="zh") == 1
    assert value(parse(claimed["desk"]), "renben_agents", state="available", language="zh") == 0
    assert value(parse(claimed["desk"]), "renben_queue_depth", priority="requested", language="zh") == 0
    assert moved(login, claimed, "desk", "renben_messages_out_total", channel="web", language="zh", sender="agent") == 1
    assert moved(login, claimed, "desk", "renben_messages_out_total", channel="web", language="zh", sender="desk") == 1

    # a WeChat message: one reply by one path, timed; its turn counted in Rasa
    before = scrape(stack)
    status, body, _ = account.post(text_xml(openid, WECHAT_QUESTION))
    assert status == 200
    if body == "success":  # the async path: the answer comes through the customer-service API
        fake_api.wait_for(lambda: fake_api.texts_to(openid), timeout=60)
    status, refused, _ = account.post(text_xml(openid, WECHAT_QUESTION), bad_signature=True)
    assert status == 403
    after = scrape(stack)
    paths = {path: moved(before, after, "wechat", "renben_wechat_replies_total", path=path)
             for path in metrics.WECHAT_PATHS}
    assert paths == {"passive": float(body != "success"), "async": float(body == "success"), "gateway": 0, "repeat": 0}
    assert moved(before, after, "wechat", "renben_wechat_response_seconds_count") == 1
    in_time = moved(before, after, "wechat", "renben_wechat_response_seconds_bucket", le="5.0")
    assert moved(before, after, "wechat", "renben_wechat_late_replies_total") == 1 - in_time
    assert moved(before, after, "wechat", "renben_errors_total", kind="wechat_refused") == 1
    assert moved(before, after, "rasa", "renben_messages_in_total", channel="wechat", language="zh") == 1

    # a REST turn, in English
    api.say(rest_sender, REST_QUESTION)
    rest = scrape(stack)
    assert moved(after, rest, "rasa", "renben_messages_in_total", channel="rest", language="en") == 1
    assert moved(after, rest, "rasa", "renben_errors_total", kind="turn_failed") == 0

    # nothing in any exposition names a conversation, a claimant, an agent, or repeats their words
    secrets = [seen["conversation"], seen["conversation"][len("web-"):], seen["session"], seen["ticket"], openid,
               "wx-", "web-", rest_sender, "metrics-agent-li", WIDGET_QUESTION, ASK_A_PERSON, AGENT_WORDS,
               WECHAT_QUESTION, REST_QUESTION, "养老金", "人工", "客服", "unemployment"]
    for mark in marks.values():
        for process, text in {**mark, **{f"{k} after": v for k, v in rest.items()}}.items():
            for secret in secrets:
                assert secret not in text, (process, secret)


@pytest.mark.stack
def test_nobody_reads_the_metrics_without_the_token(watched):
    for base in (watched.rasa_url, watched.wechat_url, watched.desk_url):
        for token in (None, "wrong", watched.settings.token()):  # the Rasa API token is not it either
            status, body = get(base + door.PATH, token)
            assert status == 401 and "renben_" not in body, (base, token, status)
        assert get(base + door.PATH, watched.settings.metrics_secret())[0] == 200
