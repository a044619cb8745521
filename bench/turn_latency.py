"""One REST turn of Renben against one turn of Rasa's own starter bot (`rasa init`), in the same run.

    .venv/bin/python bench/turn_latency.py [--turns 300] [--model models/renben-x.tar.gz]
                                           [--starter-dir DIR]

Renben runs as `make run` runs it, on free loopback ports: its Redis (lock store, event broker),
SQLite tracker store, action server and Rasa server. The starter bot is what `rasa init
--no-prompt` makes and trains (offline, in a temporary directory, about 3 minutes on two cores;
`--starter-dir DIR` keeps it in DIR and reuses it), served by `rasa run --enable-api` with its
own defaults (trackers and locks in memory, no action server). Both servers run under
bench/turn_probe.py, which times the parts of every turn.

The turns are sequential and interleaved: one Renben turn, one starter turn, and the next pair in
the other order, so what changes on a shared machine falls on both alike. Each conversation has
`--conversation` turns (a new sender then starts one), so session starts count as in real use.
Renben's messages are this script's own, in both languages, not ../shared/eval.

Prints p50 and p99 of each bot, their ratios (target: Renben's p50 <= 1.5 x the starter's), and
per bot the breakdown of a turn: mean milliseconds and calls per turn of each part (tracker
retrieval and save, lock, event broker, NLU, policies, actions and the action server's round
trips), then the action server's own time per action. Exits 1 when a turn failed or the p50
ratio is over the target.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
# Rasa reports errors to its servers unless told not to; nothing leaves this machine.
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
sys.path.insert(0, str(ROOT))

from bench import figures  # noqa: E402
from bot.embedded_redis import free_port  # noqa: E402
from bot.launch import Stack, http_status  # noqa: E402
from bot.settings import Settings  # noqa: E402

TARGET = 1.5
RENBEN_MESSAGES = [
    "你好", "养老金怎么领取?", "失业了可以领什么补助?", "医保卡丢了怎么补办?", "谢谢",
    "hello", "How do I claim unemployment benefit?", "What documents do I need for a pension?",
    "How do I get a social security card?", "thank you",
]
# The starter bot's own intents (greet, mood, bot challenge, goodbye).
STARTER_MESSAGES = [
    "hello", "I am sad", "yes", "are you a bot?", "great", "hi there", "not good", "no",
    "am I talking to a human?", "goodbye",
]
#: The parts of a turn, in the order printed (bench/turn_probe.py names them).
PARTS = ["turn", "lock", "lock_release", "tracker_retrieve", "nlu", "extract_slots", "predict",
         "run_action", "action_server", "action_payload", "anonymize", "tracker_save", "event_broker",
         "broker_publish"]


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def starter_project(keep: Optional[Path]) -> Tuple[Path, Path]:
    """The starter bot's directory and trained model: `keep`'s when it has one, else a new
    `rasa init --no-prompt` (into `keep`, or a temporary directory)."""
    directory = keep or Path(tempfile.mkdtemp(prefix="rasa-init-"))
    models = sorted((directory / "models").glob("*.tar.gz")) if (directory / "models").is_dir() else []
    if models:
        return directory, models[-1]
    directory.mkdir(parents=True, exist_ok=True)
    print(f"Training Rasa's starter bot (rasa init --no-prompt) in {directory} ...", flush=True)
    started = time.monotonic()
    with open(directory / "init.log", "wb") as log:
        subprocess.run([sys.executable, "-m", "rasa", "init", "--no-prompt"], cwd=directory, check=True,
                       stdout=log, stderr=subprocess.STDOUT)
    print(f"  trained in {time.monotonic() - started:.0f} s", flush=True)
    return directory, sorted((directory / "models").glob("*.tar.gz"))[-1]


class Starter:
    """`rasa run --enable-api` of the starter bot, under the probe, on a free port."""

    def __init__(self, directory: Path, model: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(directory / "bench-run.log", "ab")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.turn_probe", "rasa", "run", "--enable-api", "--model", str(model),
             "--interface", "127.0.0.1", "--port", str(self.port)],
            cwd=directory, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the starter bot exited with {self.process.returncode}; see {self.log.name}")
            if http_status(f"{self.url}/status", 2) == 200:
                return
            time.sleep(0.3)
        raise RuntimeError(f"the starter bot did not start within {timeout:.0f} s; see {self.log.name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
        self.log.close()


class Bot:
    """One bot's side of the run: where to post, its messages, its conversations, its latencies."""

    def __init__(self, name: str, url: str, messages: List[str], token: Optional[str],
                 conversation: int) -> None:
        self.name, self.url, self.messages, self.conversation = name, url, messages, conversation
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.latencies: List[float] = []
        self.failed = 0
        self.sender = ""
        self.sent = 0

    def turn(self, record: bool = True) -> None:
        if self.sent % self.conversation == 0:
            self.sender = f"bench-{self.name}-{uuid.uuid4().hex[:8]}"
        text = self.messages[self.sent % len(self.messages)]
        self.sent += 1
        body = json.dumps({"sender": self.sender, "message": text}, ensure_ascii=False).encode()
        request = urllib.request.Request(f"{self.url}/webhooks/rest/webhook", data=body, headers=self.headers)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                answer = json.loads(reply.read())
            ok = isinstance(answer, list) and len(answer) > 0
        except (urllib.error.URLError, OSError, ValueError):
            ok = False
        took = time.perf_counter() - started
        if not record:
            return
        if ok:
            self.latencies.append(took)
        else:
            self.failed += 1


def fetch_json(url: str, headers: Optional[Dict[str, str]] = None) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as reply:
        return json.loads(reply.read())


def breakdown(turns: List[Dict[str, List[float]]]) -> Dict[str, Tuple[float, float]]:
    """part -> (mean milliseconds per turn, calls per turn)."""
    totals: Dict[str, List[float]] = {}
    for turn in turns:
        for part, (seconds, calls) in turn.items():
            entry = totals.setdefault(part, [0.0, 0.0])
            entry[0] += seconds
            entry[1] += calls
    count = max(1, len(turns))
    return {part: (seconds * 1000 / count, calls / count) for part, (seconds, calls) in totals.items()}


def print_breakdown(renben: Dict[str, Tuple[float, float]], starter: Dict[str, Tuple[float, float]]) -> None:
    print("\nbreakdown of a turn inside the Rasa process (mean ms per turn, calls per turn; "
          "a part includes the parts called inside it):")
    print(f"  {'part':28s} {'renben ms':>10s} {'calls':>6s}   {'starter ms':>10s} {'calls':>6s}")
    policies = sorted(part for part in set(renben) | set(starter) if part.startswith("policy:"))
    for part in PARTS[:7] + policies + PARTS[7:]:
        if part not in renben and part not in starter:
            continue
        mine, theirs = renben.get(part, (0.0, 0.0)), starter.get(part, (0.0, 0.0))
        print(f"  {part:28s} {mine[0]:10.2f} {mine[1]:6.2f}   {theirs[0]:10.2f} {theirs[1]:6.2f}")


def run(stack: Stack, starter: Starter, turns: int, conversation: int) -> int:
    renben = Bot("renben", stack.rasa_url, RENBEN_MESSAGES, stack.settings.token(), conversation)
    plain = Bot("starter", starter.url, STARTER_MESSAGES, None, conversation)
    for _ in range(2 * conversation):  # warm both up: first requests load lazily built parts
        renben.turn(record=False)
        plain.turn(record=False)
    renben.sent = plain.sent = 0
    fetch_json(f"{renben.url}/bench/turns")
    fetch_json(f"{plain.url}/bench/turns")
    actions_headers = {"Authorization": f"Bearer {stack.settings.actions_secret()}"}
    fetch_json(f"{stack.actions_url}/bench/turns", actions_headers)
    for n in range(turns):
        pair = (renben, plain) if n % 2 == 0 else (plain, renben)
        for bot in pair:
            bot.turn()
    renben_parts = breakdown(fetch_json(f"{renben.url}/bench/turns"))
    starter_parts = breakdown(fetch_json(f"{plain.url}/bench/turns"))
    action_calls = fetch_json(f"{stack.actions_url}/bench/turns", actions_headers)

    print(f"{turns} sequential REST turns per bot, interleaved, {conversation} turns per conversation")
    for bot in (renben, plain):
        if bot.latencies:
            print(f"  {bot.name:8s} p50 {percentile(bot.latencies, 0.5) * 1000:7.1f} ms  "
                  f"p99 {percentile(bot.latencies, 0.99) * 1000:7.1f} ms  failed {bot.failed}")
        else:
            print(f"  {bot.name:8s} answered nothing (failed {bot.failed})")
    print_breakdown(renben_parts, starter_parts)
    per_action: Dict[str, List[float]] = {}
    for call in action_calls:
        for part, (seconds, _) in call.items():
            per_action.setdefault(part.split(":", 1)[1], []).append(seconds)
    print(f"\naction server (Renben), time inside the action: {len(action_calls) / max(1, turns):.2f} calls per turn")
    for name, values in sorted(per_action.items()):
        print(f"  {name:28s} calls {len(values):4d}  p50 {percentile(values, 0.5) * 1000:6.2f} ms")
    figures.record("turn_latency", "turns failed", renben.failed + plain.failed, "count", target="value == 0")
    if not renben.latencies or not plain.latencies:
        return 1
    p50 = percentile(renben.latencies, 0.5) / percentile(plain.latencies, 0.5)
    p99 = percentile(renben.latencies, 0.99) / percentile(plain.latencies, 0.99)
    print(f"\nratio renben/starter: p50 {p50:.2f} (target <= {TARGET})  p99 {p99:.2f}")
    for share, target in ((0.5, f"ratio <= {TARGET}"), (0.99, None)):
        figures.record("turn_latency", f"REST turn p{share * 100:g}", percentile(renben.latencies, share) * 1000, "ms",
                       baseline=percentile(plain.latencies, share) * 1000, target=target,
                       baseline_name="Rasa's starter bot (rasa init)")
    return 0 if p50 <= TARGET and renben.failed == 0 and plain.failed == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300, help="turns per bot")
    parser.add_argument("--conversation", type=int, default=10, help="turns per conversation")
    parser.add_argument("--model", type=Path, default=None, help="Renben's model (default: the newest)")
    parser.add_argument("--starter-dir", type=Path, default=None,
                        help="keep the trained starter bot here and reuse it (default: a temporary directory)")
    args = parser.parse_args()
    model = args.model or max((ROOT / "models").glob("renben-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    directory, starter_model = starter_project(args.starter_dir)
    var = Path(tempfile.mkdtemp(prefix="renben-bench-"))
    probe = ["bench.turn_probe"]
    stack = Stack(Settings(var_dir=var, rasa_port=free_port(), actions_port=free_port()), model,
                  services=("actions", "rasa"),
                  entry_points={"rasa": [*probe, "renben"], "actions": [*probe, "actions"]})
    starter = Starter(directory, starter_model)
    try:
        stack.start()
        starter.wait()
        return run(stack, starter, args.turns, args.conversation)
    finally:
        starter.stop()
        stack.stop()
        shutil.rmtree(var, ignore_errors=True)
        if args.starter_dir is None:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
