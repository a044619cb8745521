"""The agent console in headless Chromium against a real desk process, Rasa and Redis:
log in, see the ticket, claim, read a hostile claimant message as text, reply, return to bot;
agent assist: the summary, and the suggested answer inserted, edited and sent; and a reply whose
desk died before answering it, sent again after the console logged in again by itself."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tooling.embedded_redis import free_port
from core.privacy import audit
from handoff import agents
from handoff.queue import Queue, connect
from handoff.settings import DeskSettings
from handoff.tickets import State

from conftest import Client
from test_desk_server import start_desk_process

pytestmark = [pytest.mark.stack, pytest.mark.timeout(400)]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
HOSTILE = "<img src=x onerror=alert(1)>"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def test_log_in_claim_reply_and_return_in_the_browser(desk_stack, redis_server):
    playwright_api = pytest.importorskip("playwright.sync_api")
    client = Client(desk_stack.rasa_url, desk_stack.settings.token())
    settings = DeskSettings(redis_url=redis_server.url, rasa_url=desk_stack.rasa_url,
                            rasa_token=desk_stack.settings.token())
    queue = Queue(connect(redis_server.url), settings)
    token = agents.add_agent(queue.redis, "console-agent", languages=["zh"], name="小李")
    port = free_port()
    desk = start_desk_process(settings, port)
    sender = f"console-{time.time_ns()}"
    dialogs = []
    # On duty before the claimant writes: a number written while nobody is online is taken as a
    # callback request (docs/handoff-queue.md), and this test is about the live conversation.
    queue.agent_online("console-agent", languages=["zh"])
    try:
        client.say(sender, "我的电话是13812345678,我要转人工")
        ticket = queue.open_ticket(sender)
        assert ticket is not None and ticket.state is State.WAITING
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#token", token)
            page.keyboard.press("Enter")
            row = page.locator(f'#queue li[data-ticket="{ticket.id}"]')
            row.wait_for(timeout=15000)
            assert "requested" in row.inner_text()
            row.get_by_role("button", name="Claim").click()
            said = page.locator("#transcript li", has_text="我要转人工")
            said.wait_for(timeout=15000)
            # The brief masks the phone number; showing it is one click, and audited.
            assert "138****5678" in said.inner_text() and "13812345678" not in said.inner_text()
            said.get_by_role("button", name="Show the full number 138****5678 (recorded in the audit log)").click()
            said.locator("code.revealed", has_text="13812345678").wait_for(timeout=15000)

            client.say(sender, HOSTILE)
            hostile = page.locator("#transcript li", has_text=HOSTILE)
            hostile.wait_for(timeout=15000)
            assert page.locator("#transcript img").count() == 0

            page.fill("#text", "您好,我来帮您。")
            # Enter that picks an input-method candidate must not send.
            page.dispatch_event("#text", "keydown", {"key": "Enter", "isComposing": True})
            time.sleep(0.5)
            assert page.input_value("#text") == "您好,我来帮您。"
            assert page.locator("#transcript li", has_text="您好,我来帮您。").count() == 0
            page.press("#text", "Enter")
            page.locator("#transcript li", has_text="您好,我来帮您。").wait_for(timeout=15000)

            page.click("#return")
            page.locator("#conversation").wait_for(state="hidden", timeout=15000)
            # the desk answers once Rasa has the conversation back; the ticket's update may come first
            page.locator("#status", has_text="Returned to the bot").wait_for(timeout=15000)
            browser.close()
    finally:
        desk.terminate()
        desk.wait(timeout=15)
        queue.agent_disconnected("console-agent")  # the presence set above: later tests find nobody on duty
    assert dialogs == []
    assert queue.get(ticket.id).state is State.RETURNED
    reveals = [e for e in audit.entries(queue.redis, conversation_id=sender) if e.action == "reveal"]
    assert [(e.who, e.field) for e in reveals] == [("console-agent", "turn1.PHONE.0")]
    said = [(e.get("text"), (e.get("metadata") or {}).get("agent_id"))
            for e in client.tracker(sender)["events"] if e["event"] in ("user", "bot")]
    assert (HOSTILE, None) in said and ("您好,我来帮您。", "console-agent") in said


def test_agent_assist_the_summary_and_the_suggested_answer_inserted_edited_and_sent(desk_stack, redis_server):
    """Issue 16, item 5: a claimant on the widget asks about unemployment benefit, answers two
    pre-check questions and asks for a person; the agent (console in English) claims, reads the
    summary (topic, situation, what the bot answered), inserts the suggested answer (Chinese, with
    its source), edits it and sends it; the claimant's widget shows the edited text."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    settings = DeskSettings(redis_url=redis_server.url, rasa_url=desk_stack.rasa_url,
                            rasa_token=desk_stack.settings.token())
    queue = Queue(connect(redis_server.url), settings)
    token = agents.add_agent(queue.redis, "assist-agent", languages=["zh"], name="小王")
    port = free_port()
    desk = start_desk_process(settings, port)
    queue.agent_online("assist-agent", languages=["zh"])
    started = time.time()
    dialogs = []
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            # the widget's test helpers wait with page functions: its CSP would refuse them
            claimant = browser.new_context(locale="zh-CN", bypass_csp=True).new_page()
            claimant.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            claimant.goto(f"{desk_stack.rasa_url}/webhooks/web/")
            claimant.wait_for_function("document.querySelector('.rb-widget') && "
                                       "!document.querySelector('.rb-status').textContent")
            for text in ("失业金怎么领", "是", "十二年", "被辞退了", "我要转人工"):
                widget_says(claimant, text)
            ticket = next(t for t in queue.waiting(["zh"]) if t.created_at >= started - 1)

            console = browser.new_context(locale="en-GB").new_page()
            console.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            console.goto(f"http://127.0.0.1:{port}/")
            console.select_option("#console-language", "en")
            console.fill("#token", token)
            console.keyboard.press("Enter")
            row = console.locator(f'#queue li[data-ticket="{ticket.id}"]')
            row.wait_for(timeout=15000)
            row.get_by_role("button", name="Claim").click()

            summary = console.locator("#summary-lines")
            summary.wait_for(timeout=15000)
            lines = summary.locator("li").all_inner_texts()
            assert lines[0] == "Writes in Chinese, on the web widget."
            assert lines[1] == "Handed over: asked for a person."
            assert lines[2].startswith("Asked about, in order: Unemployment")
            situation = summary.locator("li.situation")
            assert "12 years of unemployment insurance contributions" in situation.inner_text()
            assert "dismissed or not renewed" in situation.inner_text()
            assert "十二年" in situation.get_attribute("title")  # the message it came from
            assert lines[-1].startswith("The bot already answered: Unemployment")
            # the summary is above the transcript, which is whole
            assert console.locator("#brief > div").first.get_attribute("id") == "summary"
            assert console.locator("#transcript li", has_text="十二年").count() == 1

            suggestion = console.locator("#suggestion")
            suggestion.wait_for(timeout=15000)
            suggested = console.inner_text("#suggestion-text")
            assert suggested.startswith("失业保险金") and "依据:" in suggested
            assert console.locator("#suggestion-sources a").first.get_attribute("href").startswith("https://")
            console.click("#insert-suggestion")
            assert console.input_value("#text") == suggested
            console.press("#text", "Control+Home")
            console.keyboard.type("小王为您解答:")
            edited = console.input_value("#text")
            assert edited == "小王为您解答:" + suggested
            console.press("#text", "Enter")
            console.locator("#transcript li.agent", has_text="小王为您解答").wait_for(timeout=15000)
            assert console.input_value("#text") == ""

            received = claimant.locator(".rb-agent .rb-text", has_text="小王为您解答")
            received.wait_for(timeout=15000)
            assert received.inner_text() == edited
            ARTIFACTS.mkdir(exist_ok=True)
            console.screenshot(path=str(ARTIFACTS / "console-assist.png"), full_page=True)
            browser.close()
    finally:
        desk.terminate()
        desk.wait(timeout=15)
        queue.agent_disconnected("assist-agent")
    assert dialogs == []
    sent = [e for e in Client(desk_stack.rasa_url, desk_stack.settings.token()).tracker(ticket.conversation_id)["events"]
            if e["event"] == "bot" and (e.get("metadata") or {}).get("agent_id") == "assist-agent"]
    assert [e["text"] for e in sent] == [edited]


def test_a_reply_the_desk_died_on_is_sent_again_after_the_reconnect_and_shown_once(desk_stack, redis_server):
    """Issue 17: the agent sends a reply; the desk is killed before it answers (Rasa is stopped,
    so the desk's tracker write hangs: it may or may not land when Rasa resumes). The console
    logs in again by itself when a desk is back on its address and sends the reply again with the
    same id; the claimant's widget shows it once and the tracker holds it once."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    settings = DeskSettings(redis_url=redis_server.url, rasa_url=desk_stack.rasa_url,
                            rasa_token=desk_stack.settings.token())
    queue = Queue(connect(redis_server.url), settings)
    token = agents.add_agent(queue.redis, "resend-agent", languages=["zh"], name="小周")
    port = free_port()
    desks = [start_desk_process(settings, port)]
    queue.agent_online("resend-agent", languages=["zh"])
    rasa = desk_stack.processes["rasa"]
    reply = "您好,我是小周,您的材料已经收到。"
    started = time.time()
    dialogs = []
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            claimant = browser.new_context(locale="zh-CN", bypass_csp=True).new_page()
            claimant.goto(f"{desk_stack.rasa_url}/webhooks/web/")
            claimant.wait_for_function("document.querySelector('.rb-widget') && "
                                       "!document.querySelector('.rb-status').textContent")
            widget_says(claimant, "我要转人工")
            ticket = next(t for t in queue.waiting(["zh"]) if t.created_at >= started - 1)

            console = browser.new_context(locale="en-GB").new_page()
            for page in (claimant, console):
                page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            console.goto(f"http://127.0.0.1:{port}/")
            console.fill("#token", token)
            console.keyboard.press("Enter")
            row = console.locator(f'#queue li[data-ticket="{ticket.id}"]')
            row.wait_for(timeout=15000)
            row.get_by_role("button", name="Claim").click()
            console.locator("#transcript li", has_text="我要转人工").wait_for(timeout=15000)

            os.killpg(rasa.pid, signal.SIGSTOP)  # the desk's tracker write now waits
            try:
                console.fill("#text", reply)
                console.press("#text", "Enter")
                console.locator("#transcript li.agent.sending", has_text=reply).wait_for(timeout=5000)
                time.sleep(1.5)
                os.killpg(desks[0].pid, signal.SIGKILL)  # before its ok
                desks[0].wait(timeout=15)
            finally:
                os.killpg(rasa.pid, signal.SIGCONT)
            console.wait_for_function("document.querySelector('#status').textContent.includes('reconnecting')",
                                      timeout=15000)
            assert console.locator("#login").is_hidden()  # no login form: it reconnects by itself
            assert console.locator("#transcript li.agent.sending", has_text=reply).count() == 1

            desks.append(start_desk_process(settings, port))  # a desk back on the same address
            sent = console.locator("#transcript li.agent:not(.sending)", has_text=reply)
            sent.wait_for(timeout=30000)
            assert console.locator("#transcript li.agent.failed").count() == 0
            assert console.inner_text("#status") == "Logged in."

            shown = claimant.locator(".rb-agent .rb-text", has_text=reply)
            shown.wait_for(timeout=30000)
            time.sleep(2.0)  # room for a second copy, were there one
            assert shown.count() == 1
            browser.close()
    finally:
        for desk in desks:
            if desk.poll() is None:
                desk.terminate()
                desk.wait(timeout=15)
        # every connection the desks counted, the killed desk's included (it never counted it off):
        # later tests (test_conversations) must find nobody on duty
        queue.agent_disconnected("resend-agent")
        while int(queue.agent("resend-agent").get("connections") or 0) > 0:
            queue.agent_disconnected("resend-agent")
    assert dialogs == []
    assert queue.get(ticket.id).state is State.ASSIGNED
    written = [e for e in Client(desk_stack.rasa_url, desk_stack.settings.token()).tracker(ticket.conversation_id)["events"]
               if e["event"] == "bot" and e.get("text") == reply]
    assert len(written) == 1, written
    assert written[0]["metadata"]["agent_id"] == "resend-agent" and written[0]["metadata"]["message_id"]


def widget_says(page, text: str, timeout: float = 90_000) -> None:
    """Types into the widget and waits for the bot's answer (one more bot message, none pending)."""
    before = page.locator(".rb-bot").count()
    box = page.get_by_role("textbox")
    box.fill(text)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('.rb-bot').length > {before} && "
                           "!document.querySelector('.rb-pending')", timeout=timeout)
