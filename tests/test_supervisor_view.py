"""The supervisor view through the real desk on a real Redis: the `supervision` and `report`
frames and the CSV export answer supervisors and refuse agents and trainers with a typed
`forbidden`; and in headless Chromium, a supervisor sees the scripted day's numbers
(tests/scripted_day.py), its charts, downloads the CSV, and the page is screenshotted."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Optional

import pytest

from tooling.embedded_redis import free_port
from core.privacy import access
from handoff import agents
from handoff.queue import Queue, connect
from handoff.reports import CSV_COLUMNS
from handoff.settings import DeskSettings

import scripted_day as day
from test_desk_server import Console, start_desk_process, started

pytestmark = pytest.mark.timeout(300)
CHROMIUM = os.environ.get("RENBEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PERIOD = {"from": day.PERIOD[0], "to": day.PERIOD[1]}


@pytest.fixture
def settings(redis_server) -> DeskSettings:
    """A desk on the test Redis, flushed; Rasa is never called by the supervisor view."""
    client = connect(redis_server.url)
    client.flushdb()
    client.close()
    return DeskSettings(redis_url=redis_server.url, rasa_url=f"http://127.0.0.1:{free_port()}",
                        rasa_token="x", port=0, grace_seconds=3600, sweep_interval_seconds=0.1)


def seed(settings) -> Dict[str, str]:
    """Accounts, the scripted day (tickets and events), and a live queue: two waiting tickets
    (zh requested for 1000 s: past its threshold; en complex for 30 s) and one held by li.
    li is online, wang away, sam never came. Returns the tokens."""
    clock = day.Clock(time.time())
    queue = Queue(connect(settings.redis_url), settings, clock=clock)
    tokens = {"boss": agents.add_agent(queue.redis, "boss", languages=["zh", "en"], role="supervisor", name="Boss"),
              "li": agents.add_agent(queue.redis, "li", languages=["zh"], name="李伟"),
              "wang": agents.add_agent(queue.redis, "wang", languages=["zh"], name="王芳"),
              "sam": agents.add_agent(queue.redis, "sam", languages=["en"], name="Sam"),
              "tess": access.add_user(queue.redis, "tess", role="trainer", name="Tess")}
    day.play(queue, clock)
    day.add_to_stream(queue.redis)
    now = clock.now
    for offset, conversation, language, priority in ((1000, "live-1", "zh", "requested"),
                                                     (30, "live-2", "en", "complex"),
                                                     (400, "live-3", "zh", "urgent")):
        clock.now = now - offset
        ticket = queue.enqueue(conversation_id=conversation, channel="web", language=language,
                               priority=priority, reason="asked for a person", brief={})
    clock.now = now - 100
    assert queue.claim(ticket.id, agent="li") is not None
    clock.now = now
    queue.agent_online("li", languages=["zh"])
    queue.agent_online("wang", languages=["zh"], status="away")
    return tokens


def rows_by_group(rows) -> Dict[tuple, Dict[str, object]]:
    return {(row["language"], row["channel"]): {key: value for key, value in row.items()
                                                if key not in ("language", "channel")} for row in rows}


def test_supervisors_get_the_live_view_and_the_report_and_agents_a_typed_forbidden(settings):
    tokens = seed(settings)

    async def scenario():
        desk = await started(settings)
        try:
            boss = await Console.login(desk.port, tokens["boss"])
            assert (await boss.ask("supervision"))["type"] == "ok"
            live = (await boss.next("supervision"))["live"]
            assert live["waiting"]["total"] == 2 and live["longest_wait"]["seconds"] >= 1000
            assert live["waiting"]["grid"] == {"en": {"crisis": 0, "urgent": 0, "complex": 1, "requested": 0, "callback": 0},
                                               "zh": {"crisis": 0, "urgent": 0, "complex": 0, "requested": 1, "callback": 0}}
            assert [o["priority"] for o in live["overdue"]] == ["requested"]
            statuses = {a["agent_id"]: a["status"] for a in live["agents"]}
            assert statuses == {"boss": "available", "li": "busy", "wang": "away", "sam": "offline"}
            assert [x["priority"] for x in next(a for a in live["agents"] if a["agent_id"] == "li")["holding"]] == ["urgent"]
            assert "live-" not in json.dumps(live)  # ticket ids, never a conversation

            assert (await boss.ask("report", **PERIOD))["type"] == "ok"
            report = (await boss.next("report"))["report"]
            assert rows_by_group(report["rows"] + [report["total"]]) == day.EXPECTED
            assert report["waits_by_priority"] == day.EXPECTED_WAITS
            assert max(report["queue_length"]["series"]["all"]) == day.EXPECTED_PEAK
            assert report["coverage"]["partial"] is False
            wrong = await boss.ask("report", **{"from": day.PERIOD[1], "to": day.PERIOD[0]})
            assert (wrong["type"], wrong["code"]) == ("error", "bad_request")
            wrong = await boss.ask("report", **{"from": "today", "to": day.PERIOD[1]})
            assert (wrong["type"], wrong["code"]) == ("error", "bad_request")

            agent = await Console.login(desk.port, tokens["li"])
            for kind, fields in (("supervision", {}), ("report", PERIOD)):
                refused = await agent.ask(kind, **fields)
                assert (refused["type"], refused["code"]) == ("error", "forbidden"), refused
            assert not [f for f in agent.seen if f["type"] in ("supervision", "report")]
            assert (await agent.ask("snapshot"))["type"] == "ok"  # the connection stays open
        finally:
            await desk.stop()

    asyncio.run(scenario())


def get(url: str, token: Optional[str]):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.headers, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def test_the_csv_export_is_for_supervisors_and_others_get_typed_errors(settings):
    tokens = seed(settings)

    async def scenario():
        desk = await started(settings)
        base = f"http://127.0.0.1:{desk.port}/reports/desk.csv"
        query = f"?from={day.PERIOD[0]:.0f}&to={day.PERIOD[1]:.0f}"
        try:
            status, headers, body = await asyncio.to_thread(get, base + query, tokens["boss"])
            assert status == 200 and headers["Content-Type"].startswith("text/csv")
            assert 'filename="renben-desk-202403031600.csv"' in headers["Content-Disposition"]
            check_csv(body)
            for who in ("li", "tess"):  # an agent, a trainer
                status, _, body = await asyncio.to_thread(get, base + query, tokens[who])
                assert (status, json.loads(body)["error"]) == (403, "forbidden")
            for token in (None, "0123456789abcdef.not-a-real-token-at-all"):
                status, _, body = await asyncio.to_thread(get, base + query, token)
                assert (status, json.loads(body)["error"]) == (401, "unauthorized")
            status, _, body = await asyncio.to_thread(get, base + "?from=yesterday&to=1", tokens["boss"])
            assert (status, json.loads(body)["error"]) == (400, "bad_request")
        finally:
            await desk.stop()

    asyncio.run(scenario())


def check_csv(text: str) -> None:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    got = {(r["language"], r["channel"]): r for r in rows}
    assert set(got) == set(day.EXPECTED)
    for group, expected in day.EXPECTED.items():
        for key, value in expected.items():
            assert got[group][key] == ("" if value is None else str(value)), (group, key)


# ----- in the browser ---------------------------------------------------------------------------

def test_a_supervisor_sees_the_scripted_day_charts_and_exports_it_in_the_browser(settings, monkeypatch):
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"chromium not found at {CHROMIUM}")
    playwright_api = pytest.importorskip("playwright.sync_api")
    from PIL import Image

    tokens = seed(settings)
    monkeypatch.setenv("DESK_GRACE_SECONDS", "3600")  # li's held ticket stays li's while the test runs
    port = free_port()
    desk = start_desk_process(settings, port)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "supervisor-view.png"
    shot.unlink(missing_ok=True)
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Shanghai",
                                          locale="en-GB", accept_downloads=True)
            page = context.new_page()
            problems = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            # every response but the browser's own favicon request
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)

            # an agent has no supervisor view
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#token", tokens["li"])
            page.keyboard.press("Enter")
            page.locator("#desk").wait_for(state="visible", timeout=15000)
            assert page.locator("#view-toggle").is_hidden() and page.locator("#supervisor").is_hidden()

            page = context.new_page()
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#token", tokens["boss"])
            page.keyboard.press("Enter")
            page.get_by_role("button", name="Supervisor view").click()
            page.locator("#supervisor").wait_for(state="visible", timeout=15000)

            # now
            page.locator('#live-agents li[data-agent="li"]').wait_for(timeout=15000)
            assert page.inner_text("#live-total") == "2"
            assert float(page.get_attribute("#live-longest", "data-value")) >= 1000
            assert "requested, zh" in page.inner_text("#live-longest")
            assert page.inner_text("#live-overdue-count") == "1"
            assert page.inner_text("#live-agents-count") == "1 / 1 / 1"
            assert page.get_attribute('#live-grid tr[data-language="en"] td[data-priority="complex"]', "data-value") == "1"
            li = page.locator('#live-agents li[data-agent="li"]')
            assert li.get_attribute("data-status") == "busy" and "urgent" in li.inner_text()
            assert page.get_attribute('#live-agents li[data-agent="sam"]', "data-status") == "offline"

            # the scripted day
            page.fill("#period-from", "2024-03-04T00:00")
            page.fill("#period-to", "2024-03-05T00:00")
            page.get_by_role("button", name="Show").click()
            page.wait_for_function("document.querySelector('#report-table tr[data-group=\"en/wechat\"]')", timeout=15000)
            cells = page.eval_on_selector_all("#report-table td[data-col]", """cells => cells.map(c =>
                [c.parentElement.dataset.group, c.dataset.col, c.dataset.value, c.textContent])""")
            shown = {(group, col): (value, text) for group, col, value, text in cells}
            for (language, channel), expected in day.EXPECTED.items():
                for key, value in expected.items():
                    got = shown[(f"{language}/{channel}", key)][0]
                    assert (None if got == "" else float(got)) == (None if value is None else float(value)), (language, channel, key)
            assert shown[("all/all", "handoff_rate")][1] == "66.7%"
            assert shown[("all/all", "first_reply_p90_s")][1] == "5 min"
            assert shown[("zh/web", "first_reply_p50_s")][1] == "40 s"
            assert shown[("all/all", "csat_mean")][1] == "—"
            assert "Figures for" in page.inner_text("#coverage")

            # the charts
            assert page.get_attribute("#chart-queue", "data-peak") == str(day.EXPECTED_PEAK)
            assert sorted(page.eval_on_selector_all("#chart-queue path[data-series]", "ps => ps.map(p => p.dataset.series)")) == ["all", "en", "zh"]
            bar = page.locator('#chart-waits rect[data-priority="callback"][data-stat="p90"]')
            assert float(bar.get_attribute("data-value")) == 13680 and float(bar.get_attribute("width")) > 400
            assert page.locator('#chart-waits rect[data-priority="complex"][data-stat="p50"]').get_attribute("width") == "0"

            # the CSV
            with page.expect_download(timeout=15000) as info:
                page.get_by_role("button", name="Export CSV").click()
            download = info.value
            assert download.suggested_filename == "renben-desk-202403031600.csv"
            check_csv(Path(download.path()).read_text(encoding="utf-8"))

            page.screenshot(path=str(shot), full_page=True)
            chart_png = page.locator("#chart-queue").screenshot()
            browser.close()
    finally:
        desk.terminate()
        desk.wait(timeout=15)
    assert problems == []
    with Image.open(shot) as image:
        assert image.width == 1280 and image.height >= 900
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or ()) > 50  # not a blank page
    with Image.open(io.BytesIO(chart_png)) as chart:
        pixels = chart.convert("L").getdata()
        dark = sum(1 for value in pixels if value < 128)
        assert chart.width > 300 and dark > 500  # lines and labels were drawn
