"""100 concurrent signed WeChat messages from distinct claimants through the WeChat gateway and
the real Rasa server behind it.

Prints p50 and p99 of the time to WeChat's HTTP response and how many took over 5 s (WeChat's
limit: must be 0), p50 and p99 of the time until the claimant has the answer (passive reply, or
the customer-service message at the fake API), how many went the async path, and how many were
lost (must be 0). The baseline, measured in the same run on the same Rasa server, is the same
messages through the REST channel; ratios are WeChat / REST.

    RENBEN_TEST_MODEL=$(ls -t models/renben-*.tar.gz | head -1) .venv/bin/python bench/wechat_channel.py [-n 100]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import figures  # noqa: E402
from tooling import embedded_redis, model_store  # noqa: E402
from bot.channels.wechat.crypto import signature_of  # noqa: E402
from bot.channels.wechat.messages import parse_xml  # noqa: E402
from tooling.launch import Stack  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.fake_wechat_api import FakeWeChatApi  # noqa: E402

TOKEN = "bench-token"
QUESTIONS = ["养老保险要交满多少年才能领", "失业了可以去哪里领钱", "看病报销要带什么", "How do I claim maternity benefit?",
             "工伤以后谁来认定", "Where can I get a new social security card?", "社保转到外地怎么办",
             "What documents do I need for a pension?"]


def percentile(values: List[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def wechat_post(url: str, openid: str, text: str) -> Tuple[float, str]:
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    query = urllib.parse.urlencode({"signature": signature_of(TOKEN, timestamp, nonce), "timestamp": timestamp,
                                    "nonce": nonce})
    xml = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
           f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[{text}]]></Content><MsgId>{uuid.uuid4().int % 10**18}</MsgId></xml>")
    started = time.monotonic()
    request = urllib.request.Request(f"{url}?{query}", data=xml.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            body = reply.read().decode()
    except urllib.error.HTTPError as error:
        body = f"HTTP {error.code}"
    return time.monotonic() - started, body


def rest_post(url: str, sender: str, text: str) -> Tuple[float, str]:
    started = time.monotonic()
    request = urllib.request.Request(url, data=json.dumps({"sender": sender, "message": text}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            body = reply.read().decode()
    except urllib.error.HTTPError as error:
        body = f"HTTP {error.code}"
    return time.monotonic() - started, body


def run_wechat(stack: Stack, fake: FakeWeChatApi, n: int) -> Dict[str, object]:
    url = stack.wechat_url + "/webhooks/wechat/webhook"
    users = [f"obench-{uuid.uuid4().hex[:12]}" for _ in range(n)]
    started = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda i: wechat_post(url, users[i], QUESTIONS[i % len(QUESTIONS)]), range(n)))
    response_times = [elapsed for elapsed, _ in results]
    answered: Dict[str, float] = {}
    async_users: List[str] = []
    for user, (elapsed, body) in zip(users, results):
        if body.startswith("<xml>") and parse_xml(body).get("Content"):
            answered[user] = elapsed
        elif body == "success":
            async_users.append(user)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(u not in answered for u in async_users):
        for sent in list(fake.sent):
            if sent.touser in async_users and sent.touser not in answered:
                answered[sent.touser] = sent.at - (time.time() - time.monotonic()) - started
        time.sleep(0.1)
    lost = [u for u in users if u not in answered]
    return {"response": response_times, "answer": list(answered.values()), "async": len(async_users),
            "lost": len(lost), "errors": sum(1 for _, body in results if body.startswith("HTTP")),
            "late": sum(1 for elapsed in response_times if elapsed >= 5.0)}


def run_rest(stack: Stack, n: int) -> Dict[str, object]:
    url = f"{stack.rasa_url}/webhooks/rest/webhook?token={stack.settings.token()}"
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda i: rest_post(url, f"rbench-{uuid.uuid4().hex[:12]}", QUESTIONS[i % len(QUESTIONS)]),
                                range(n)))
    ok = [elapsed for elapsed, body in results if body.startswith("[")]
    return {"response": [elapsed for elapsed, _ in results], "lost": n - len(ok)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="concurrent messages (distinct claimants)")
    args = parser.parse_args()
    model = Path(os.environ["RENBEN_TEST_MODEL"]) if os.environ.get("RENBEN_TEST_MODEL") \
        else model_store.ensure_trained(ROOT / "models")
    fake = FakeWeChatApi().start()
    os.environ.update({"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": fake.app_id, "WECHAT_APPSECRET": fake.app_secret,
                       "WECHAT_API_BASE": fake.url})
    var = Path(tempfile.mkdtemp(prefix="renben-bench-wechat-"))
    stack = Stack(Settings(var_dir=var, rasa_port=embedded_redis.free_port(),
                           actions_port=embedded_redis.free_port(), wechat_port=embedded_redis.free_port(),
                           auth_token="bench"), model, services=("actions", "rasa", "wechat")).start()
    try:
        wechat_post(stack.wechat_url + "/webhooks/wechat/webhook", "owarmup", "你好")  # load the model's lazy parts
        rest_post(f"{stack.rasa_url}/webhooks/rest/webhook?token={stack.settings.token()}", "warmup", "你好")
        baseline = run_rest(stack, args.n)
        measured = run_wechat(stack, fake, args.n)
    finally:
        stack.stop()
        fake.stop()
    base_p50, base_p99 = percentile(baseline["response"], 50), percentile(baseline["response"], 99)
    resp_p50, resp_p99 = percentile(measured["response"], 50), percentile(measured["response"], 99)
    ans = measured["answer"] or [float("nan")]
    ans_p50, ans_p99 = percentile(ans, 50), percentile(ans, 99)
    print(f"{args.n} concurrent messages, distinct claimants")
    print(f"baseline REST channel:  p50 {base_p50:.2f} s  p99 {base_p99:.2f} s  lost {baseline['lost']}")
    print(f"WeChat HTTP response:   p50 {resp_p50:.2f} s  p99 {resp_p99:.2f} s  "
          f"(ratio to REST p50 {resp_p50 / base_p50:.2f}, p99 {resp_p99 / base_p99:.2f}); "
          f"over WeChat's 5 s: {measured['late']}")
    print(f"WeChat answer in hand:  p50 {ans_p50:.2f} s  p99 {ans_p99:.2f} s  "
          f"(ratio to REST p50 {ans_p50 / base_p50:.2f}, p99 {ans_p99 / base_p99:.2f})")
    print(f"async path (success, then customer-service API): {measured['async']} of {args.n}; "
          f"HTTP errors {measured['errors']}; lost {measured['lost']}; token fetches {fake.token_fetches}")
    rest = "the same messages on the REST channel"
    for name, p50, p99 in (("HTTP response", resp_p50, resp_p99), ("answer in hand", ans_p50, ans_p99)):
        figures.record("wechat_channel", f"{name} p50", p50, "s", baseline=base_p50, baseline_name=rest)
        figures.record("wechat_channel", f"{name} p99", p99, "s", baseline=base_p99, baseline_name=rest)
    figures.record("wechat_channel", "responses over WeChat's 5 s", measured["late"], "count", target="value == 0")
    figures.record("wechat_channel", "async path share", measured["async"] / args.n, "share")
    figures.record("wechat_channel", "lost or HTTP errors", measured["lost"] + measured["errors"], "count",
                   target="value == 0")
    return 0 if measured["lost"] == 0 and measured["errors"] == 0 and measured["late"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
