"""Renben scaled out on one machine: 1 against 2 Rasa processes behind nginx, same load, same run.

    .venv/bin/python bench/scale_out.py [--claimants 24 --messages 6] [--handoff-every 4]
                                        [--postgres postgresql://postgres@127.0.0.1:5432/test]

Starts deploy/'s production shape (bench/scale_shape.py): a database of its own on the machine's
PostgreSQL (dropped at the end), a Redis of its own, 2 action servers, 2 Rasa processes, 2 WeChat
gateways and 2 agent desks, behind Debian's nginx with deploy/nginx.conf's routes; the WeChat
API is tests/fake_wechat_api.py on loopback. Then the same load twice (bench/scale_load.py):
with both Rasa processes in nginx's upstream and reading WeChat's inbox, then with one (the
second stopped, nginx reloaded). Half the claimants use the widget (two tabs, one per Rasa
process), half WeChat; each writes its messages two at a time, so a conversation's turns run on
both processes at once; of every `--handoff-every` pairs of claimants the first asks for a
person and two agents on the desks take them.

Then it reads every tracker back from PostgreSQL (bench/scale_check.py): each claimant message
there once, each answered, in order; and the lock holds every Rasa process recorded
(bench/lock_probe.py): none overlapping, which conversations ran on both processes, how long turns
waited for one another. It prints per run the messages, throughput and p50/p99 of a bot turn
(sent to answered), what was lost, doubled, out of order or unanswered, the ratios 2/1, and where
the CPU went: per process kind, CPU milliseconds per bot turn and cores used, with the limit they
imply (docs/performance.md). Exits 1 when anything was lost, doubled, out of order, unanswered or
held twice.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench import figures, lock_probe, scale_check, scale_load  # noqa: E402
from bench.scale_shape import Shape, WECHAT_TOKEN, cpu_seconds, machine_cpu, nginx_missing  # noqa: E402
from bot import model_store, redis_clients  # noqa: E402
from tests.fake_wechat_api import FakeWeChatApi  # noqa: E402

POSTGRES = os.environ.get("TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
GROUPS = ("rasa", "actions", "wechat", "desk", "nginx", "redis", "postgres")
WARM_UP = {"zh": "你好", "en": "hello"}


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else float("nan")


@dataclass
class Phase:
    rasa: int
    seconds: float = 0.0
    results: List[scale_load.Result] = field(default_factory=list)
    tracker: scale_check.TrackerFindings = field(default_factory=scale_check.TrackerFindings)
    locks: scale_check.LockFindings = field(default_factory=scale_check.LockFindings)
    cpu: Dict[str, float] = field(default_factory=dict)  # group -> CPU seconds in the phase
    machine_busy: float = 0.0  # CPU seconds of the whole machine in the phase
    machine_total: float = 0.0
    tickets_returned: int = 0
    agent_errors: List[str] = field(default_factory=list)
    client_unanswered: List[str] = field(default_factory=list)

    @property
    def turns(self) -> List[scale_load.Result]:
        """The messages the bot answered (not those written while a person held the conversation)."""
        return [r for r in self.results if r.kind != "held"]

    @property
    def latencies(self) -> List[float]:
        return [r.latency for r in self.turns if r.latency is not None]

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        return (self.tracker.failures + len(self.locks.overlapping) + len(self.client_unanswered)
                + len(self.agent_errors))


# ----------------------------------------------------------------------------- one run of the load

def cpu_snapshot(pids: Dict[str, List[int]]) -> Dict[str, float]:
    taken = {group: sum(cpu_seconds(pid) for pid in ids) for group, ids in pids.items()}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    taken["load generator"] = usage.ru_utime + usage.ru_stime
    return taken


def grouped(per_process: Dict[str, float]) -> Dict[str, float]:
    groups: Dict[str, float] = {}
    for name, seconds in per_process.items():
        group = name.split("-")[0] if name.split("-")[0] in GROUPS else name
        groups[group] = groups.get(group, 0.0) + seconds
    return groups


async def play(shape: Shape, fake: FakeWeChatApi, load: scale_load.Load, agent_tokens: List[str],
               phase: Phase) -> None:
    widget_url = f"ws://127.0.0.1:{shape.doors.public}/webhooks/web/ws"
    wechat_url = f"{shape.public_url}/webhooks/wechat/webhook"
    redis = redis_clients.connect_async(shape.redis_url)
    resumed = scale_load.resumed_texts()
    agents = [scale_load.Agent(shape.agents_url, token, f"agent-{n + 1}") for n, token in enumerate(agent_tokens)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for agent in agents:  # one after the other: nginx's round robin puts one on each desk
            await agent.login()
        claimants: List[Any] = []
        for plan in load.plan():
            name = f"r{phase.rasa}c{plan['index']}-{os.urandom(3).hex()}"
            if plan["channel"] == "web":
                claimant = scale_load.WidgetClaimant(widget_url, name, plan["language"], plan["steps"])
                await claimant.open()  # one after the other: its two tabs on different Rasa processes
            else:
                claimant = scale_load.WeChatClaimant(wechat_url, WECHAT_TOKEN, f"o{name}", plan["language"],
                                                     plan["steps"], session=session, redis=redis, fake=fake,
                                                     resumed_text=resumed[plan["language"]])
            claimants.append(claimant)
        started = time.monotonic()
        await asyncio.gather(*(claimant.run() for claimant in claimants))
        phase.seconds = time.monotonic() - started
        for claimant in claimants:
            phase.results += claimant.results
        await asyncio.gather(*(c.close() for c in claimants if hasattr(c, "close")), return_exceptions=True)
        for agent in agents:
            phase.tickets_returned += len(agent.returned)
            phase.agent_errors += agent.errors
            await agent.close()
    await redis.close()


def trackers(shape: Shape, conversations: Sequence[str]) -> Dict[str, List[Dict[str, Any]]]:
    """Each conversation's events, in the order PostgreSQL stored them."""
    import psycopg2

    found: Dict[str, List[Dict[str, Any]]] = {c: [] for c in conversations}
    with closing(psycopg2.connect(shape.database.url)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT sender_id, data FROM events WHERE sender_id = ANY(%s) ORDER BY id", (list(conversations),))
        for sender_id, data in cursor.fetchall():
            found[sender_id].append(json.loads(data))
    return found


def run_phase(shape: Shape, fake: FakeWeChatApi, load: scale_load.Load, agent_tokens: List[str],
              rasa: int) -> Phase:
    import redis as redis_py

    if shape.rasa_count != rasa:
        shape.set_rasa(rasa)
    phase = Phase(rasa)
    pids = shape.pids()
    before, machine_before = cpu_snapshot(pids), machine_cpu()
    asyncio.run(play(shape, fake, load, agent_tokens, phase))
    after, machine_after = cpu_snapshot(pids), machine_cpu()
    phase.cpu = grouped({name: after[name] - before.get(name, 0.0) for name in after})
    phase.machine_busy = machine_after[0] - machine_before[0]
    phase.machine_total = machine_after[1] - machine_before[1]

    sent = [scale_check.Sent(r.conversation, r.message_id, r.step) for r in phase.results]
    conversations = sorted({r.conversation for r in phase.results})
    phase.tracker = scale_check.check_trackers(trackers(shape, conversations), sent)
    phase.client_unanswered = [r.message_id for r in phase.results if r.answered_at is None]
    client = redis_py.Redis.from_url(shape.redis_url)
    try:
        phase.locks = scale_check.check_holds(lock_probe.read_holds(client), conversations)
    finally:
        client.close()
    return phase


def warm_up(shape: Shape) -> None:
    """A turn in each language on each Rasa process (directly, not through nginx): the first turn
    of a process loads parts of the model it had not used yet."""
    import urllib.request

    for child in shape.of_kind("rasa"):
        if not child.running():
            continue
        for language, text in WARM_UP.items():
            body = json.dumps({"sender": f"warm-{child.name}-{language}", "message": text}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{child.port}/webhooks/rest/webhook", data=body,
                                             headers={"Content-Type": "application/json",
                                                      "Authorization": f"Bearer {shape.token}"})
            with urllib.request.urlopen(request, timeout=120) as reply:
                reply.read()


# ----------------------------------------------------------------------------- the report

def table(phases: Sequence[Phase], load: scale_load.Load) -> List[str]:
    plans = load.plan()
    handoffs = sum(1 for p in plans if any(s.kind == "human" for s in p["steps"]))
    web = sum(1 for p in plans if p["channel"] == "web")
    lines = [f"{load.claimants} claimants ({web} widget with two tabs, {load.claimants - web} WeChat; "
             f"{handoffs} ask for a person, 2 agents) x {load.messages} messages, two at a time, through nginx",
             "",
             "| Rasa processes | messages | bot turns | seconds | turns/s | p50 ms | p99 ms | lost | doubled "
             "| out of order | unanswered | stray | locks overlapping | conversations on both processes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for phase in sorted(phases, key=lambda p: p.rasa):
        unanswered = set(phase.tracker.unanswered) | set(phase.client_unanswered)
        lines.append(
            f"| {phase.rasa} | {len(phase.results)} | {len(phase.latencies)} | {phase.seconds:.1f} "
            f"| {phase.throughput:.2f} | {percentile(phase.latencies, 0.5) * 1000:.0f} "
            f"| {percentile(phase.latencies, 0.99) * 1000:.0f} | {len(phase.tracker.lost)} "
            f"| {len(phase.tracker.doubled)} | {len(phase.tracker.out_of_order)} | {len(unanswered)} "
            f"| {len(phase.tracker.stray)} | {len(phase.locks.overlapping)} "
            f"| {phase.locks.on_several_processes} of {phase.locks.conversations} |")
    return lines


def ratios(phases: Sequence[Phase]) -> Optional[str]:
    by = {phase.rasa: phase for phase in phases}
    if 1 not in by or 2 not in by or not by[1].throughput or not by[1].latencies or not by[2].latencies:
        return None
    one, two = by[1], by[2]
    return (f"ratio 2 / 1 Rasa processes: throughput {two.throughput / one.throughput:.2f}, "
            f"p50 {percentile(two.latencies, 0.5) / percentile(one.latencies, 0.5):.2f}, "
            f"p99 {percentile(two.latencies, 0.99) / percentile(one.latencies, 0.99):.2f}")


def cpu_lines(phases: Sequence[Phase]) -> List[str]:
    names = [*GROUPS, "load generator", "other work on the machine"]
    lines = ["", "Where the CPU went (CPU milliseconds per bot turn; in brackets, cores used on average):",
             "", "| Rasa processes | " + " | ".join(names) + " | machine busy |",
             "| --- |" + " --- |" * (len(names) + 1)]
    for phase in sorted(phases, key=lambda p: p.rasa):
        turns = max(1, len(phase.latencies))
        ours = sum(phase.cpu.values())
        cells = []
        for name in names:
            seconds = phase.cpu.get(name, 0.0) if name != names[-1] else max(0.0, phase.machine_busy - ours)
            cells.append(f"{seconds / turns * 1000:.0f} ({seconds / phase.seconds:.2f})")
        cores = phase.machine_total / phase.seconds if phase.seconds else 0
        lines.append(f"| {phase.rasa} | " + " | ".join(cells) +
                     f" | {phase.machine_busy / phase.machine_total * 100 if phase.machine_total else 0:.0f}% "
                     f"of {cores:.0f} cores |")
    return lines


def limit_lines(phases: Sequence[Phase]) -> List[str]:
    """What limits the second Rasa process's gain, from the CPU each bot turn cost (pooled over
    the runs: it hardly depends on the load) and the cores the shape had."""
    by = {phase.rasa: phase for phase in phases}
    if 1 not in by or 2 not in by or not by[1].latencies or not by[2].latencies:
        return []
    one, two = by[1], by[2]
    turns = len(one.latencies) + len(two.latencies)

    def per_turn(*groups: str) -> float:
        return sum(phase.cpu.get(group, 0.0) for phase in (one, two) for group in groups) / turns

    rasa, load = per_turn("rasa"), per_turn("load generator")
    rest = per_turn(*(group for group in GROUPS if group != "rasa"))
    cores = round(two.machine_total / two.seconds)
    alone_1 = min(1 / rasa, cores / (rasa + rest + load))
    alone_2 = min(2 / rasa, cores / (rasa + rest + load))

    def other_work(phase: Phase) -> float:
        return max(0.0, phase.machine_busy - sum(phase.cpu.values())) / phase.seconds

    def rasa_cores(phase: Phase) -> float:
        return phase.cpu.get("rasa", 0.0) / phase.seconds

    lines = ["", "The limit:",
             f"- CPU per bot turn: Rasa {rasa * 1000:.0f} ms; the rest of the shape {rest * 1000:.0f} ms "
             f"({', '.join(f'{g} {per_turn(g) * 1000:.0f}' for g in GROUPS if g != 'rasa')}); "
             f"this load generator (claimants, agents, the fake WeChat API) {load * 1000:.0f} ms.",
             f"- On {cores} cores of its own, one Rasa process answers at most {alone_1:.1f} turns/s: a Rasa "
             f"process runs each turn (NLU, policies, the tracker's replay) on one event loop, so on one core. Two "
             f"answer at most {alone_2:.1f} turns/s: the {cores} cores must also run the rest of the shape and the "
             f"load, {(rest + load) * 1000:.0f} ms a turn. So a second Rasa process can add at most "
             f"{alone_2 / alone_1:.2f}x here ({min(2 / rasa, cores / (rasa + rest)) / min(1 / rasa, cores / (rasa + rest)):.2f}x "
             f"with the claimants on other machines, as in production); each further one needs more cores, not "
             f"more processes.",
             f"- In this run the machine was busy {two.machine_busy / two.machine_total * 100:.0f}% (1 Rasa: "
             f"{one.machine_busy / one.machine_total * 100:.0f}%), and other work on it (other sessions' tests) "
             f"took {other_work(one):.2f} cores with 1 Rasa process and {other_work(two):.2f} with 2. The Rasa "
             f"process got {rasa_cores(one):.2f} cores alone, the two {rasa_cores(two):.2f} together"
             + (": the kernel shares busy cores among runnable processes, so two Rasa processes also won a bigger "
                "share of a machine shared with other work" if rasa_cores(two) > 1.2 * rasa_cores(one) else "")
             + f"; measured {two.throughput / one.throughput:.2f}x, which moves with that other work from run to "
               "run, where the CPU per turn above hardly moves."]
    if rasa_cores(one) >= 0.9:
        lines.append("- With one Rasa process the limit was that process: it used its whole core.")
    else:
        lines.append("- With one Rasa process the limit was the CPU the machine had left: the Rasa process was "
                     "runnable but did not get a whole core.")
    return lines


def lock_lines(phases: Sequence[Phase]) -> List[str]:
    lines = ["", "Lock holds recorded by the Rasa processes (bench/lock_probe.py):"]
    for phase in sorted(phases, key=lambda p: p.rasa):
        locks = phase.locks
        lines.append(f"- {phase.rasa} Rasa: {locks.holds} holds ({', '.join(f'{k} {v}' for k, v in locks.by_process.items())}), "
                     f"{len(locks.waited)} waited for another turn of their conversation "
                     f"(p50 {percentile(locks.waited, 0.5) * 1000:.0f} ms; taken p50 "
                     f"{percentile(locks.handover, 0.5) * 1000:.0f} ms, p99 {percentile(locks.handover, 0.99) * 1000:.0f} ms "
                     f"after the other let go), "
                     f"{len(locks.overlapping)} overlapped another hold; "
                     f"{phase.tickets_returned} handoffs taken and returned by the agents")
    return lines


def problems(phases: Sequence[Phase]) -> List[str]:
    lines = []
    for phase in phases:
        for name in ("lost", "doubled", "stray", "out_of_order", "unanswered"):
            ids = getattr(phase.tracker, name)
            if ids:
                lines.append(f"{phase.rasa} Rasa: {name.replace('_', ' ')}: {', '.join(ids[:10])}")
        if phase.client_unanswered:
            lines.append(f"{phase.rasa} Rasa: no answer reached the claimant: {', '.join(phase.client_unanswered[:10])}")
        if phase.locks.overlapping:
            lines.append(f"{phase.rasa} Rasa: lock holds overlapped in {', '.join(phase.locks.overlapping[:10])}")
        lines += [f"{phase.rasa} Rasa: agent: {error}" for error in phase.agent_errors[:10]]
    return lines


# ----------------------------------------------------------------------------- main

def run(load: scale_load.Load, *, model: Path, postgres: str, directory: Path,
        rasa_counts: Sequence[int] = (2, 1), say=print) -> List[Phase]:  # noqa: ANN001
    """Starts the shape, plays the load once per entry of `rasa_counts`, stops everything. Two
    first: stopping a Rasa process takes seconds, starting one a minute or more (its model)."""
    from handoff import agents
    from handoff.queue import connect

    fake = FakeWeChatApi().start()
    shape = Shape(directory, model=model, postgres_admin_url=postgres, wechat_api=fake.url,
                  wechat_app_id=fake.app_id, wechat_app_secret=fake.app_secret)
    phases: List[Phase] = []
    try:
        started = time.monotonic()
        shape.start(rasa=max(rasa_counts))
        say(f"started PostgreSQL database {shape.database.name}, Redis, 2 x (action server, Rasa, WeChat gateway, "
            f"desk) and nginx in {time.monotonic() - started:.0f} s (logs in {directory / 'logs'})")
        client = connect(shape.redis_url)
        tokens = [agents.add_agent(client, f"bench-agent-{n}", languages=["zh", "en"]) for n in (1, 2)]
        client.close()
        warm_up(shape)
        for count in rasa_counts:
            phase = run_phase(shape, fake, load, tokens, count)
            say(f"{count} Rasa: {len(phase.latencies)} bot turns in {phase.seconds:.1f} s, "
                f"p50 {percentile(phase.latencies, 0.5) * 1000:.0f} ms, failures {phase.failures}")
            phases.append(phase)
    finally:
        shape.stop()
        fake.stop()
    return phases


def report(phases: Sequence[Phase], load: scale_load.Load) -> List[str]:
    lines = table(phases, load)
    ratio = ratios(phases)
    if ratio:
        lines += ["", ratio]
    lines += lock_lines(phases) + cpu_lines(phases) + limit_lines(phases)
    found = problems(phases)
    lines += ["", "Lost, doubled, out of order, unanswered, held twice: " + ("none" if not found else "")]
    lines += [f"  {line}" for line in found]
    return lines


def keep_figures(phases: Sequence[Phase]) -> None:
    """The figures for `make bench`'s summary: 2 Rasa processes against 1, and nothing lost."""
    by = {phase.rasa: phase for phase in phases}
    one, two = by.get(1), by.get(2)
    if one and two and one.throughput and one.latencies and two.latencies:
        base = "1 Rasa process"
        figures.record("scale_out", "turns/s with 2 Rasa processes", two.throughput, "turns/s",
                       baseline=one.throughput, baseline_name=base)
        figures.record("scale_out", "turn p50 with 2 Rasa processes", percentile(two.latencies, 0.5) * 1000, "ms",
                       baseline=percentile(one.latencies, 0.5) * 1000, baseline_name=base)
    figures.record("scale_out", "messages lost, doubled, out of order or unanswered",
                   sum(phase.failures for phase in phases), "count", target="value == 0")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claimants", type=int, default=24, help="claimants per run, half widget, half WeChat")
    parser.add_argument("--messages", type=int, default=6, help="messages each claimant writes")
    parser.add_argument("--handoff-every", type=int, default=4,
                        help="of every N pairs of claimants the first asks for a person (0: none)")
    parser.add_argument("--postgres", default=POSTGRES, help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the logs' directory")
    args = parser.parse_args()
    missing = nginx_missing()
    if missing:
        print(f"scale_out: {missing}", file=sys.stderr)
        return 2
    model = args.model or model_store.ensure_trained(ROOT / "models")
    load = scale_load.Load(args.claimants, args.messages, args.handoff_every)
    directory = Path(tempfile.mkdtemp(prefix="renben-scale-"))
    phases = run(load, model=model, postgres=args.postgres, directory=directory)
    print("\n".join(report(phases, load)))
    keep_figures(phases)
    if not args.keep:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
    return 1 if any(phase.failures for phase in phases) else 0


if __name__ == "__main__":
    sys.exit(main())
