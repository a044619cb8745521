"""Each process killed (SIGKILL) or stopped (SIGSTOP) while claimants and an agent talk (issue 17).

One stack for the module: Redis (embedded, persisted), the action server, Rasa, the WeChat
gateway (WeChat's API faked on loopback) and the desk, under the launcher's supervisor. In each
test two widget claimants, one in Chinese and one in English, talk to the bot, and where the
process matters a third claimant talks to an agent through the desk. Every claimant message
must end up in the tracker once and be answered (by the bot, or relayed to the agent), every
agent message in the tracker once and shown to the claimant once, the ticket still held, and
the claimant answered again within the stated bound of the process serving again. Each test
adds its row to the table (faults/table.py) printed at the end of the run.
"""
from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import urllib.error
import uuid
from typing import Dict, List, Tuple

import pytest

from core.privacy import identity
from handoff import agents
from handoff.queue import Queue, connect
from handoff.settings import DeskSettings
from handoff.tickets import State
from tooling.launch import supervise
from tooling.supervision import HealthWatch, RestartPolicy
from conftest import Client, has_chinese, start_stack
from fake_wechat_api import FakeWeChatApi
from faults.parties import Agent, Claimant
from faults.table import Outcome, outcome_of, record
from test_wechat_channel import AES_KEY, TOKEN, Account, content_of, text_xml
from test_web_channel import ws_url

pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]

#: Seconds from the process serving again (its /health 200, or SIGCONT) to every held message
#: answered. Rasa and the desk: the clients reconnect within 2 s and send again; the turns
#: then run one after the other. WeChat: its next retry (every 5 s) finds the answer.
BOUNDS = {"rasa": 15.0, "desk": 10.0, "wechat": 10.0, "redis": 20.0, "sigstop": 20.0}
#: How long the stopped process stays stopped: past Rasa's lock tickets (10 s), the web
#: channel's message leases (15 s) and the clients' ping timeouts (3 + 3 s here).
STOPPED_FOR = 20.0
SLOW = 3.0  # seconds the Rasa side takes over a WeChat claimant whose OpenID starts "slow-"

QUESTIONS = {"en": ["How do I apply for unemployment benefit?", "What documents do I need for my pension?"],
             "zh": ["失业保险金怎么申请?", "领取养老金需要什么材料?"]}


@pytest.fixture(scope="module")
def fake_api():
    api = FakeWeChatApi().start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def stack(model_path, tmp_path_factory, fake_api):
    env = {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": fake_api.app_id, "WECHAT_APPSECRET": fake_api.app_secret,
           "WECHAT_AES_KEY": AES_KEY, "WECHAT_API_BASE": fake_api.url, "RENBEN_WECHAT_TEST_DELAY": f"{SLOW}:slow-",
           "DESK_SWEEP_INTERVAL_SECONDS": "0.5"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the stack's processes inherit it
    try:
        running = start_stack(model_path, tmp_path_factory.mktemp("faults-all"),
                              services=("actions", "rasa", "wechat", "desk"))
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    stop = threading.Event()
    thread = threading.Thread(target=supervise, args=(running, stop.is_set),
                              kwargs={"policy": RestartPolicy(give_up_after=20), "poll": 0.1,
                                      "say": lambda text: None, "watch": HealthWatch(), "health_every": 5.0},
                              daemon=True)
    thread.start()
    yield running
    stop.set()
    thread.join(timeout=10)
    running.stop()


@pytest.fixture(autouse=True)
def all_healthy(stack):
    """Each test starts (and leaves) with every process serving."""
    yield
    _wait(lambda: all(stack.healthy(name) for name in ("rasa", "actions", "desk", "wechat")), 180, "all healthy")


def _wait(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - the process is not back yet
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


async def _until(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def _serving_again(stack, name: str, old_pid: int) -> bool:  # noqa: ANN001
    return stack.processes[name].pid != old_pid and stack.healthy(name)


# --- what the stack holds afterwards --------------------------------------------------------

def _bot_outcomes(stack, claimant: Claimant, ids: List[str]) -> List[Outcome]:  # noqa: ANN001
    events = Client(stack.rasa_url, stack.settings.token()).tracker(claimant.conversation_id)["events"]
    return [outcome_of(events, message_id) for message_id in ids]


def _relayed_outcomes(stack, claimant: Claimant, ids: List[str], agent: Agent,  # noqa: ANN001
                      transcript: List[str]) -> List[Outcome]:
    """Messages to an agent: in the tracker once, and before the agent once (live, or in the
    brief it read after logging in again; more than one live copy is a double)."""
    events = Client(stack.rasa_url, stack.settings.token()).tracker(claimant.conversation_id)["events"]
    outcomes = []
    for message_id in ids:
        found = outcome_of(events, message_id)
        text = claimant.unacked.get(message_id) or _said(events, message_id)
        live = sum(1 for f in agent.frames if f["type"] == "claimant_message" and f.get("text") == text)
        outcomes.append(Outcome(max(found.user_events, live), live >= 1 or text in transcript))
    return outcomes


def _agent_outcomes(stack, claimant: Claimant, texts: List[str]) -> List[Outcome]:  # noqa: ANN001
    """Agent messages: in the tracker once, shown to the claimant once."""
    events = Client(stack.rasa_url, stack.settings.token()).tracker(claimant.conversation_id)["events"]
    shown = claimant.texts("agent_message")
    outcomes = []
    for text in texts:
        written = sum(1 for e in events if e["event"] == "bot" and e.get("text") == text)
        outcomes.append(Outcome(max(written, shown.count(text)), written >= 1 and shown.count(text) >= 1))
    return outcomes


def _said(events, message_id: str) -> str:  # noqa: ANN001
    for event in events:
        if event.get("event") == "user" and (event.get("metadata") or {}).get("client_message_id") == message_id:
            return event.get("text") or ""
    return ""


def _check(row, bound: float) -> None:  # noqa: ANN001
    assert (row.answered, row.lost, row.doubled) == (row.sent, 0, 0), row
    assert row.worst_wait is not None and row.worst_wait <= bound, row


# --- a claimant held by an agent ------------------------------------------------------------

async def _handed_off(stack, agent_id: str) -> Tuple[Claimant, Agent, str]:  # noqa: ANN001
    """A Chinese claimant asks for a person; an agent claims the ticket."""
    queue = Queue(connect(stack.redis_url), DeskSettings.from_env({"REDIS_URL": stack.redis_url}))
    token = agents.add_agent(queue.redis, agent_id, languages=["zh", "en"], capacity=50)
    claimant = await Claimant(ws_url(stack), "zh").start()
    await claimant.acknowledged(await claimant.say("我要找人工客服"), 60)
    ticket = queue.open_ticket(claimant.conversation_id)
    assert ticket is not None and ticket.state is State.WAITING
    agent = await Agent(stack.settings.desk_port, token).start()
    answer = await agent.ask("claim", ticket_id=ticket.id)
    assert answer["type"] == "ok", answer
    await _until(lambda: any(f["type"] == "agent_joined" for f in claimant.received), 20, "agent joined")
    return claimant, agent, ticket.id


def _transcript(agent: Agent) -> List[str]:
    """What the claimant said, as the briefs the agent was sent show it."""
    return [turn["text"] for frame in agent.frames if frame["type"] in ("brief", "claimed")
            for turn in frame.get("ticket", {}).get("brief", {}).get("transcript", [])
            if turn.get("speaker") == "claimant"]


def _ticket_state(stack, ticket_id: str):  # noqa: ANN001
    return Queue(connect(stack.redis_url), DeskSettings.from_env({"REDIS_URL": stack.redis_url})).get(ticket_id)


# --- the faults -----------------------------------------------------------------------------

def test_the_desk_killed_while_an_agent_writes_loses_and_doubles_nothing(stack):
    """The agent's message is on its way into the tracker (Rasa stopped: the desk's call hangs)
    when the desk is killed; the claimant writes while it is down. The console logs in again and
    sends the same message again; the claimant's message reaches the agent."""
    desk, rasa = stack.processes["desk"], stack.processes["rasa"]

    async def scenario():
        claimant, agent, ticket_id = await _handed_off(stack, f"fault-desk-{uuid.uuid4().hex[:6]}")
        bystander = await Claimant(ws_url(stack), "en").start()
        agent_texts = ["您好，我是工作人员小李。", "请问您的养老金是哪个月没到账？", "我帮您查一下。"]
        await agent.ask("message", ticket_id=ticket_id, text=agent_texts[0], id=uuid.uuid4().hex[:12])
        os.killpg(rasa.pid, signal.SIGSTOP)  # the desk's next tracker append now hangs
        try:
            in_flight = await agent.message(ticket_id, agent_texts[1])
            await asyncio.sleep(1.0)
            os.killpg(desk.pid, signal.SIGKILL)
        finally:
            os.killpg(rasa.pid, signal.SIGCONT)
        written = [await claimant.say("我的养老金上个月没到账"), await bystander.say(QUESTIONS["en"][0])]
        await _until(lambda: _serving_again(stack, "desk", desk.pid), 60, "desk back")
        serving = time.monotonic()
        await agent.ask("message", ticket_id=ticket_id, text=agent_texts[2], id=uuid.uuid4().hex[:12])
        await _until(lambda: in_flight in agent.answered_at, 30, "the agent's resent message answered")
        for message_id, who in zip(written, (claimant, bystander)):
            await who.acknowledged(message_id, 30)
        await agent.ask("brief", ticket_id=ticket_id)  # what a console does after logging in again
        await _until(lambda: claimant.texts("agent_message").count(agent_texts[2]) >= 1, 20, "shown")
        await asyncio.sleep(1.5)  # room for a second copy, were there one
        waits = [max(0.0, agent.answered_at[in_flight] - serving),
                 max(0.0, claimant.acks[written[0]][0] - serving), max(0.0, bystander.acks[written[1]][0] - serving)]
        for party in (claimant, bystander, agent):
            await party.stop()
        return claimant, bystander, agent, ticket_id, agent_texts, written, waits

    claimant, bystander, agent, ticket_id, agent_texts, written, waits = asyncio.run(
        asyncio.wait_for(scenario(), 240))
    transcript = _transcript(agent)
    outcomes = (_agent_outcomes(stack, claimant, agent_texts)
                + _relayed_outcomes(stack, claimant, written[:1], agent, transcript)
                + _bot_outcomes(stack, bystander, written[1:]))
    row = record("desk SIGKILL mid agent message", outcomes, waits)
    ticket = _ticket_state(stack, ticket_id)
    assert ticket.state is State.ASSIGNED, ticket
    _check(row, BOUNDS["desk"])


def test_the_wechat_gateway_killed_while_it_waits_for_the_bot_loses_and_doubles_nothing(stack, fake_api):
    """Two WeChat claimants' messages are in the inbox and their requests wait for the bot when
    the gateway is killed; WeChat sends each again every 5 s (three tries in all), as it does."""
    account = Account(stack)
    users = {"zh": f"slow-zh-{uuid.uuid4().hex[:8]}", "en": f"slow-en-{uuid.uuid4().hex[:8]}"}
    texts = {"zh": QUESTIONS["zh"][1], "en": QUESTIONS["en"][1]}
    gateway = stack.processes["wechat"]
    replies: Dict[str, List[str]] = {language: [] for language in users}
    answered_at: Dict[str, float] = {}
    xml = {language: text_xml(users[language], texts[language]) for language in users}

    attempts: List[Tuple[str, float, object, str]] = []
    began = time.monotonic()

    def wechat_sends(language: str) -> None:  # WeChat: three tries, 5 s apart, the same message
        for _ in range(3):
            started = time.monotonic()
            try:
                status, body, _ = account.request("POST", account.signed_query(), xml[language].encode())
            except (OSError, urllib.error.URLError):
                status, body = None, ""
            attempts.append((language, round(time.monotonic() - began, 1), status, body[:40]))
            if status == 200:
                if body != "success":
                    replies[language].append(body)
                    answered_at.setdefault(language, time.monotonic())
                return
            time.sleep(max(0.0, 5.0 - (time.monotonic() - started)))

    senders = [threading.Thread(target=wechat_sends, args=(language,)) for language in users]
    for sender in senders:
        sender.start()
    time.sleep(1.0)  # both wait on the bot (it takes SLOW seconds)
    os.killpg(gateway.pid, signal.SIGKILL)
    _wait(lambda: _serving_again(stack, "wechat", gateway.pid), 60, "gateway back")
    serving = time.monotonic()
    attempts.append(("gateway serving", round(serving - began, 1), None, ""))
    for sender in senders:
        sender.join(timeout=30)
    for language, user in users.items():
        try:
            fake_api.wait_for(lambda: replies[language] or fake_api.texts_to(user), timeout=30)
        except AssertionError as error:
            raise AssertionError(f"{language} never answered; WeChat's tries: {attempts}") from error
        if language not in answered_at:
            answered_at[language] = time.monotonic()
    time.sleep(2.0)  # room for a second copy, were there one
    outcomes, waits = [], []
    client = Client(stack.rasa_url, stack.settings.token())
    for language, user in users.items():
        said = [e for e in client.tracker(identity.wechat_conversation_id(user))["events"]
                if e["event"] == "user" and e.get("text") == texts[language]]
        answers = len(replies[language]) + len(fake_api.texts_to(user))
        outcomes.append(Outcome(max(len(said), answers), len(said) >= 1 and answers >= 1))
        waits.append(max(0.0, answered_at[language] - serving))
        shown = content_of(replies[language][0]) if replies[language] else fake_api.texts_to(user)[-1]
        last_line = [line for line in shown.splitlines() if line.strip()][-1]  # after the bilingual privacy note
        assert has_chinese(last_line) == (language == "zh"), shown
    row = record("WeChat gateway SIGKILL mid-wait", outcomes, waits)
    _check(row, BOUNDS["wechat"])


def test_rasa_stopped_past_its_timeouts_then_resumed_loses_and_doubles_nothing(stack):
    """SIGSTOP for STOPPED_FOR seconds: lock tickets and message leases lapse, the claimants'
    sockets stop answering pings and they reconnect as soon as Rasa runs again (SIGCONT)."""
    rasa = stack.processes["rasa"]

    async def scenario():
        claimants = {language: await Claimant(ws_url(stack), language).start() for language in QUESTIONS}
        for language, claimant in claimants.items():
            await claimant.acknowledged(await claimant.say("hello" if language == "en" else "你好"), 60)
        sent: Dict[str, List[str]] = {language: [] for language in claimants}
        os.killpg(rasa.pid, signal.SIGSTOP)
        try:
            for language, claimant in claimants.items():
                sent[language].append(await claimant.say(QUESTIONS[language][0]))
            await asyncio.sleep(STOPPED_FOR / 2)
            for language, claimant in claimants.items():
                sent[language].append(await claimant.say(QUESTIONS[language][1]))
            await asyncio.sleep(STOPPED_FOR / 2)
        finally:
            os.killpg(rasa.pid, signal.SIGCONT)
        serving = time.monotonic()
        waits = []
        for language, claimant in claimants.items():
            for message_id in sent[language]:
                waits.append(max(0.0, await claimant.acknowledged(message_id, 90) - serving))
        await asyncio.sleep(1.5)
        for claimant in claimants.values():
            await claimant.stop()
        return claimants, sent, waits

    claimants, sent, waits = asyncio.run(asyncio.wait_for(scenario(), 240))
    assert stack.processes["rasa"].pid == rasa.pid  # resumed, not restarted
    outcomes = [o for language, claimant in claimants.items() for o in _bot_outcomes(stack, claimant, sent[language])]
    row = record(f"Rasa SIGSTOP {STOPPED_FOR:.0f} s, SIGCONT", outcomes, waits)
    _check_languages(claimants)
    _check(row, BOUNDS["sigstop"])


def test_redis_killed_while_everyone_talks_loses_and_doubles_nothing(stack):
    """The embedded Redis killed (its AOF kept) and restarted on its port by the supervisor;
    claimants and the agent write while it is down; every socket is usable afterwards."""

    async def scenario():
        claimant, agent, ticket_id = await _handed_off(stack, f"fault-redis-{uuid.uuid4().hex[:6]}")
        bots = {language: await Claimant(ws_url(stack), language).start() for language in QUESTIONS}
        old = stack._redis.process
        old.send_signal(signal.SIGKILL)
        old.wait(timeout=10)
        agent_texts = ["您好，Redis 重启时我在这里。", "请稍等。"]
        in_flight = await agent.message(ticket_id, agent_texts[0])
        sent = {language: [await bot.say(QUESTIONS[language][0])] for language, bot in bots.items()}
        relayed = [await claimant.say("还在吗？")]
        await _until(lambda: stack._redis is not None and stack._redis.process is not old
                     and stack.redis_answers(), 60, "Redis back")
        serving = time.monotonic()
        for language, bot in bots.items():  # the same sockets still carry messages
            sent[language].append(await bot.say(QUESTIONS[language][1]))
        second = await agent.message(ticket_id, agent_texts[1])
        waits = []
        for language, bot in bots.items():
            for message_id in sent[language]:
                waits.append(max(0.0, await bot.acknowledged(message_id, 90) - serving))
        waits.append(max(0.0, await claimant.acknowledged(relayed[0], 90) - serving))
        await _until(lambda: in_flight in agent.answered_at and second in agent.answered_at, 60, "agent answered")
        waits += [max(0.0, agent.answered_at[m] - serving) for m in (in_flight, second)]
        await _until(lambda: all(claimant.texts("agent_message").count(t) >= 1 for t in agent_texts), 30, "shown")
        await asyncio.sleep(1.5)
        for party in (claimant, agent, *bots.values()):
            await party.stop()
        return claimant, agent, ticket_id, bots, sent, relayed, agent_texts, waits

    claimant, agent, ticket_id, bots, sent, relayed, agent_texts, waits = asyncio.run(
        asyncio.wait_for(scenario(), 300))
    transcript = _transcript(agent)
    outcomes = ([o for language, bot in bots.items() for o in _bot_outcomes(stack, bot, sent[language])]
                + _relayed_outcomes(stack, claimant, relayed, agent, transcript)
                + _agent_outcomes(stack, claimant, agent_texts))
    row = record("Redis SIGKILL, restarted on its AOF", outcomes, waits)
    assert _ticket_state(stack, ticket_id).state is State.ASSIGNED
    _check_languages(bots)
    _check(row, BOUNDS["redis"])


def test_rasa_killed_while_everyone_talks_loses_and_doubles_nothing(stack):
    """Rasa killed with turns in flight; the claimants write while it is down (kept by the
    widget), and so does the agent (the desk cannot reach the tracker: its console sends again)."""
    rasa = stack.processes["rasa"]

    async def scenario():
        claimant, agent, ticket_id = await _handed_off(stack, f"fault-rasa-{uuid.uuid4().hex[:6]}")
        bots = {language: await Claimant(ws_url(stack), language).start() for language in QUESTIONS}
        sent = {language: [await bot.say(QUESTIONS[language][0])] for language, bot in bots.items()}
        await asyncio.sleep(0.3)  # read by Rasa: turns in flight
        os.killpg(rasa.pid, signal.SIGKILL)
        for language, bot in bots.items():
            sent[language].append(await bot.say(QUESTIONS[language][1]))
        relayed = [await claimant.say("我还在等")]
        agent_texts = ["您好，系统刚才重启了。"]
        in_flight = await agent.message(ticket_id, agent_texts[0])
        await _until(lambda: _serving_again(stack, "rasa", rasa.pid), 180, "Rasa back")
        serving = time.monotonic()
        waits = []
        for language, bot in bots.items():
            for message_id in sent[language]:
                waits.append(max(0.0, await bot.acknowledged(message_id, 90) - serving))
        waits.append(max(0.0, await claimant.acknowledged(relayed[0], 90) - serving))
        await _until(lambda: in_flight in agent.answered_at, 60, "agent answered")
        waits.append(max(0.0, agent.answered_at[in_flight] - serving))
        await _until(lambda: claimant.texts("agent_message").count(agent_texts[0]) >= 1, 30, "shown")
        await asyncio.sleep(1.5)
        for party in (claimant, agent, *bots.values()):
            await party.stop()
        return claimant, agent, ticket_id, bots, sent, relayed, agent_texts, waits

    claimant, agent, ticket_id, bots, sent, relayed, agent_texts, waits = asyncio.run(
        asyncio.wait_for(scenario(), 400))
    transcript = _transcript(agent)
    outcomes = ([o for language, bot in bots.items() for o in _bot_outcomes(stack, bot, sent[language])]
                + _relayed_outcomes(stack, claimant, relayed, agent, transcript)
                + _agent_outcomes(stack, claimant, agent_texts))
    row = record("Rasa SIGKILL mid-turn", outcomes, waits)
    assert _ticket_state(stack, ticket_id).state is State.ASSIGNED
    _check_languages(bots)
    _check(row, BOUNDS["rasa"])


def _check_languages(claimants: Dict[str, Claimant]) -> None:
    for language, claimant in claimants.items():
        texts = claimant.texts("bot")
        assert texts and has_chinese(texts[-1]) == (language == "zh"), texts
