"""The widget in a real browser (system chromium, headless) against the real stack."""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest
import redis


pytestmark = pytest.mark.stack

CHROMIUM = os.environ.get("RENBEN_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]

if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    if os.environ.get("CI"):
        raise RuntimeError(f"chromium not found at {CHROMIUM}: the browser tests cannot run (.ci/run installs it)")
    pytest.skip(f"chromium not found at {CHROMIUM}", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402
from core import redis_keys


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, stack):
    context = browser.new_context(viewport={"width": 1024, "height": 800}, locale="zh-CN", bypass_csp=True)  # Playwright evaluates strings
    opened = context.new_page()
    opened.dialogs = []
    opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    opened.goto(f"{stack.rasa_url}/webhooks/web/")
    opened.wait_for_function("document.querySelector('.rb-widget') && "
                             "!document.querySelector('.rb-status').textContent")
    yield opened
    context.close()


def send(page, text: str) -> None:
    box = page.get_by_role("textbox")
    box.fill(text)
    box.press("Enter")


def wait_replies(page, count: int, timeout: float = 60_000) -> None:
    page.wait_for_function(f"document.querySelectorAll('.rb-bot').length >= {count}", timeout=timeout)
    page.wait_for_function("!document.querySelector('.rb-pending')", timeout=timeout)


def texts(page, selector: str):
    return page.eval_on_selector_all(selector, "nodes => nodes.map(n => n.querySelector('.rb-text').textContent)")


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_chinese_then_english_with_a_language_switch_without_reload(page):
    page.evaluate("window.__sameDocument = true")
    assert page.get_by_role("heading", name="社保咨询助手", exact=True).is_visible()
    send(page, "失业金怎么申请?")
    wait_replies(page, 1)
    assert has_chinese(texts(page, ".rb-bot")[-1])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-zh.png"), full_page=True)

    page.get_by_role("button", name="Switch to English").click()
    assert page.get_by_role("heading", name="Social security assistant", exact=True).is_visible()
    assert page.get_by_role("textbox", name="Type your question").is_visible()
    assert page.evaluate("window.__sameDocument") is True  # no reload
    before = len(texts(page, ".rb-bot"))
    send(page, "How do I apply for unemployment benefit?")
    wait_replies(page, before + 1)
    reply = texts(page, ".rb-bot")[-1]
    assert not has_chinese(reply) and "unemployment" in reply.lower()
    page.screenshot(path=str(ARTIFACTS / "widget-en.png"), full_page=True)
    page.get_by_role("button", name="切换到中文").click()
    assert page.get_by_role("button", name="转人工", exact=False).count() == 0  # label is 找工作人员
    assert page.get_by_role("button", name="找工作人员").is_visible()


def test_enter_while_composing_does_not_send(page):
    box = page.get_by_role("textbox")
    box.focus()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.imeSetComposition", {"text": "yang", "selectionStart": 4, "selectionEnd": 4})
    events = page.evaluate_handle("""() => {
        const seen = [];
        document.querySelector('.rb-input').addEventListener('keydown', e => seen.push(e.isComposing));
        return seen;
    }""")
    cdp.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": "Enter", "code": "Enter",
                                       "windowsVirtualKeyCode": 229, "nativeVirtualKeyCode": 13})
    cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Enter", "code": "Enter",
                                       "windowsVirtualKeyCode": 229, "nativeVirtualKeyCode": 13})
    cdp.send("Input.insertText", {"text": "养老"})
    assert events.json_value() == [True]
    time.sleep(0.5)
    assert page.locator(".rb-user").count() == 0
    assert box.input_value() == "养老"
    box.press("Enter")  # composition over: now Enter sends
    page.wait_for_function("document.querySelectorAll('.rb-user').length === 1")
    assert box.input_value() == ""


def test_html_in_messages_is_shown_as_text(page, stack):
    attack = "<img src=x onerror=alert(1)>"
    send(page, attack)
    wait_replies(page, 1)
    assert texts(page, ".rb-user") == [attack]
    conversation = page.evaluate("JSON.parse(localStorage.getItem('renben.token')).split('.')[1]")
    desk = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    desk.xadd(redis_keys.WEB_OUTBOX_STREAM, {"data": json.dumps({
        "id": uuid.uuid4().hex, "conversation_id": f"web-{conversation}", "type": "agent_message",
        "text": "<script>alert(2)</script><b>bold?</b>", "agent_name": "<i>Li</i>", "agent_id": "a-1"})})
    page.wait_for_selector(".rb-agent", timeout=20_000)
    assert texts(page, ".rb-agent") == ["<script>alert(2)</script><b>bold?</b>"]
    assert "<i>Li</i>" in page.locator(".rb-agent .rb-who").text_content()
    assert page.locator(".rb-widget img, .rb-widget script, .rb-widget b, .rb-widget i").count() == 0
    time.sleep(0.5)
    assert page.dialogs == []


def test_keyboard_only_with_visible_focus(page):
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => {
            const e = document.activeElement, s = getComputedStyle(e);
            return {cls: e.className, outline: parseFloat(s.outlineWidth) || 0, style: s.outlineStyle};
        }""")
        reached.append(focused["cls"])
        if "rb-" in focused["cls"]:
            assert focused["outline"] >= 2 and focused["style"] != "none", focused
        if "rb-input" in focused["cls"]:
            break
    assert any("rb-lang" in c for c in reached) and any("rb-large-toggle" in c for c in reached)
    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    wait_replies(page, 1)
    page.keyboard.press("Tab")
    if "rb-send" in page.evaluate("document.activeElement.className"):
        page.keyboard.press("Tab")
    assert "rb-human" in page.evaluate("document.activeElement.className")
    page.keyboard.press("Enter")
    page.wait_for_function("[...document.querySelectorAll('.rb-user .rb-text')].some(n => n.textContent === '找工作人员' || n.textContent === '转人工')")
    wait_replies(page, 2)


def test_usable_at_360_px_with_large_text(browser, stack):
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale="en-US", device_scale_factor=2,
                                  bypass_csp=True)
    page = context.new_page()
    page.goto(f"{stack.rasa_url}/webhooks/web/")
    page.wait_for_selector(".rb-widget")
    page.get_by_role("button", name="Large text").click()
    assert page.get_by_role("button", name="Large text").get_attribute("aria-pressed") == "true"
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.rb-input')).fontSize)")
    assert size >= 22
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    for name in ("Send", "Talk to a person", "切换到中文", "Large text", "Privacy"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, (name, box)
        assert box["height"] >= 44, (name, box)
    send(page, "What is the pension age?")
    wait_replies(page, 1)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    page.screenshot(path=str(ARTIFACTS / "widget-360-large.png"), full_page=True)
    context.close()


def test_reload_restores_the_conversation(page):
    send(page, "你好")
    wait_replies(page, 1)
    send(page, "医保卡丢了怎么办?")
    wait_replies(page, 2)
    before_users, before_bots = texts(page, ".rb-user"), texts(page, ".rb-bot")
    page.reload()
    page.wait_for_function(f"document.querySelectorAll('.rb-bot').length >= {len(before_bots)}")
    assert texts(page, ".rb-user") == before_users
    assert texts(page, ".rb-bot") == before_bots
    assert "恢复" in " ".join(texts(page, ".rb-system"))


def test_privacy_notice_at_start_says_what_how_long_and_how_to_see_or_erase(page):
    note = page.get_by_role("note")
    assert note.is_visible()
    text = note.text_content()
    assert "90天" in text and "删除我的数据" in text and "你保存了我的什么信息" in text
    page.get_by_role("button", name="Switch to English").click()
    text = note.text_content()
    assert "90 days" in text and "delete my data" in text and "what do you keep about me" in text
    page.get_by_role("button", name="OK").click()
    assert not note.is_visible()


# --- accessibility checks (our own, axe-like) ---------------------------------------------

CONTRAST_SCRIPT = """() => {
  const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = node => { for (let n = node; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor); if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    } return [255, 255, 255]; };
  const out = [];
  for (const node of document.querySelectorAll('.rb-widget *, .rb-launcher')) {
    const own = [...node.childNodes].some(c => c.nodeType === 3 && c.textContent.trim());
    if (!own || !node.getClientRects().length) continue;
    const s = getComputedStyle(node);
    const a = lum(parse(s.color)), b = lum(background(node));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    out.push({text: node.textContent.trim().slice(0, 30), ratio, need: large ? 3 : 4.5});
  }
  return out;
}"""

NAMES_SCRIPT = """() => [...document.querySelectorAll('.rb-widget button, .rb-widget textarea, .rb-widget input, .rb-widget [role=log]')]
  .filter(n => n.getClientRects().length)
  .map(n => ({cls: n.className,
              name: (n.getAttribute('aria-label') || (n.labels && n.labels[0] && n.labels[0].textContent) ||
                     (n.tagName === 'BUTTON' ? n.textContent : '')).trim()}))"""


@pytest.mark.parametrize("switch", [False, True])
def test_every_control_is_labelled_and_text_passes_wcag_aa_contrast(page, switch):
    if switch:
        page.get_by_role("button", name="Switch to English").click()
    send(page, "hello" if switch else "你好")
    wait_replies(page, 1)
    page.get_by_role("button", name="Large text" if switch else "大字模式").click()
    unnamed = [n for n in page.evaluate(NAMES_SCRIPT) if not n["name"]]
    assert unnamed == []
    checked = page.evaluate(CONTRAST_SCRIPT)
    assert len(checked) > 8
    failing = [c for c in checked if c["ratio"] < c["need"]]
    assert failing == []
    assert page.locator("[role=log][aria-live=polite]").count() == 1
    assert page.locator("[role=status]").count() == 1


def test_what_do_you_keep_gives_a_readable_copy_and_a_json_download(page):
    send(page, "医保卡丢了怎么办?")
    wait_replies(page, 1)
    send(page, "你保存了我的什么信息")
    link = page.locator("a.rb-download")
    link.wait_for(timeout=60_000)
    assert "下载" in link.inner_text()
    with page.expect_download() as download:
        link.click()
    data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    said = [turn["text"] for turn in data["turns"] if turn["speaker"] == "claimant"]
    assert said[0] == "医保卡丢了怎么办?"


def quick_rows(page):
    return page.eval_on_selector_all(
        ".rb-quick-row", "rows => rows.map(r => Array.from(r.querySelectorAll('button')).map(b => b.textContent))")


def test_a_brief_answer_offers_its_parts_as_buttons_and_each_shows_its_part(page):
    send(page, "失业金怎么申请?")
    wait_replies(page, 2)  # the brief answer, then the pre-check's offer
    brief = texts(page, ".rb-bot")[-2]
    assert "不是对您个人情况的决定" in brief and "社会保险法" in brief and "怎么办:" not in brief
    rows = quick_rows(page)  # a row per message of the turn: the answer's parts, then yes and no
    assert rows == [["详细规定", "怎么办", "要带的材料", "在哪里办", "各地不同的地方", "依据"], ["好的", "不用了", "找人工"]]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-brief-answer.png"), full_page=True)

    page.get_by_role("button", name="要带的材料", exact=True).click()
    wait_replies(page, 3)
    assert texts(page, ".rb-user")[-1] == "要带的材料"
    part = texts(page, ".rb-bot")[-1]
    assert "通常需要准备:" in part and "社会保障卡或居民身份证" in part
    assert quick_rows(page) == [["详细规定", "怎么办", "在哪里办", "各地不同的地方", "依据", "找人工"]]

    page.get_by_role("button", name="怎么办", exact=True).click()
    wait_replies(page, 4)
    assert "怎么办:" in texts(page, ".rb-bot")[-1] and "60日" in texts(page, ".rb-bot")[-1]
    page.reload()  # the latest turn's buttons come back with the conversation
    page.wait_for_function("document.querySelectorAll('.rb-bot').length >= 4")
    assert texts(page, ".rb-user")[-2:] == ["要带的材料", "怎么办"]  # pressed buttons read as their titles
    assert quick_rows(page) == [["详细规定", "要带的材料", "在哪里办", "各地不同的地方", "依据", "找人工"]]
