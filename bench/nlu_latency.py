"""/model/parse latency: Renben's pipeline against Rasa's default pipeline, in the same run.

    make bench      (or: .venv/bin/python bench/nlu_latency.py [--requests 300] [--long 100]
                     [--model MODEL] [--baseline-dir DIR])

Trains Rasa's default NLU pipeline on the same data (cached in models/bench/ by data hash),
starts both models in their own `rasa run --enable-api` on loopback, sends the same messages to
each in alternation, and prints p50 and p99 of each and their ratios, for ordinary messages and
apart for letters of 2,000 characters (the most NLU reads). Target: p50 ratio <= 1.5 for both.
The messages are this repository's own training examples, so nothing here touches ../shared/eval.
"""
from __future__ import annotations

import argparse
import os
import hashlib
import json
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Rasa reports errors to its servers unless told not to; nothing leaves this machine.
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
sys.path.insert(0, str(ROOT))

from bench import figures  # noqa: E402
from tooling import embedded_redis, model_store  # noqa: E402

# Rasa 3.6's default pipeline (what `rasa init` writes, and what Rasa picks when none is given),
# with Rasa's JiebaTokenizer in place of the WhitespaceTokenizer, which refuses language "zh".
# One epoch instead of 100: parse latency depends on the network's size, not on how long it was
# trained, and 100 epochs of DIET on this data take hours on two cores (about 100 s an epoch).
DEFAULT_PIPELINE = {
    "recipe": "default.v1",
    "language": "zh",
    "pipeline": [
        {"name": "JiebaTokenizer"},
        {"name": "RegexFeaturizer"},
        {"name": "LexicalSyntacticFeaturizer"},
        {"name": "CountVectorsFeaturizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        {"name": "DIETClassifier", "epochs": 1, "constrain_similarities": True},
        {"name": "EntitySynonymMapper"},
        {"name": "ResponseSelector", "epochs": 1, "constrain_similarities": True},
        {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1},
    ],
    "policies": [{"name": "RulePolicy"}],
}


def data_hash() -> str:
    digest = hashlib.sha256(json.dumps(DEFAULT_PIPELINE, sort_keys=True).encode())
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def baseline_model(folder: Path = ROOT / "models" / "bench") -> Path:
    target = folder / f"default-{data_hash()}.tar.gz"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "default_config.yml"
    config.write_text(yaml.safe_dump(DEFAULT_PIPELINE, allow_unicode=True))
    print("Training Rasa's default pipeline on the same data (once per data change) ...", flush=True)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "rasa", "train", "nlu", "--config", str(config), "--nlu", "data/nlu",
                    "--out", str(folder), "--fixed-model-name", target.name[: -len(".tar.gz")]],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print(f"  trained in {time.monotonic() - started:.0f} s")
    return target


def messages(count: int) -> list[str]:
    examples = []
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in block:
                examples += [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
    random.Random(7).shuffle(examples)
    return examples[:count]


def long_messages(count: int, length: int = 2000) -> list[str]:
    """Letters of `length` characters (the most NLU reads), each of one language's examples joined."""
    by_language: dict[str, list[str]] = {}
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in block:
                by_language.setdefault(path.parent.name, []).extend(
                    line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- "))
    rng, letters = random.Random(11), []
    for i in range(count):
        pool = by_language["zh" if i % 2 == 0 else "en"]
        text = ""
        while len(text) < length:
            text += rng.choice(pool) + ("。" if i % 2 == 0 else " ")
        letters.append(text[:length])
    return letters


def measure(ports: dict[str, int], texts: list[str]) -> dict[str, list[float]]:
    """Each text to each server in turn, alternating which goes first."""
    for text in texts[:10]:  # warm-up
        for port in ports.values():
            parse_ms(port, text)
    times: dict[str, list[float]] = {name: [] for name in ports}
    for i, text in enumerate(texts):
        order = list(ports.items()) if i % 2 == 0 else list(reversed(ports.items()))
        for name, port in order:
            times[name].append(parse_ms(port, text))
    return times


def report(title: str, times: dict[str, list[float]], *, figure: str) -> None:
    """Prints p50/p99 of both and their ratios, and keeps them for make bench's summary."""
    print(f"{title} (ms):")
    for name, values in times.items():
        print(f"  {name:8s} p50 {percentile(values, 0.5):7.2f}  p99 {percentile(values, 0.99):7.2f}"
              f"  mean {statistics.mean(values):7.2f}")
    p50 = percentile(times["renben"], 0.5) / percentile(times["default"], 0.5)
    p99 = percentile(times["renben"], 0.99) / percentile(times["default"], 0.99)
    print(f"ratio renben/default: p50 {p50:.2f} (target <= 1.5)  p99 {p99:.2f}")
    for share, target in ((0.5, "ratio <= 1.5"), (0.99, None)):
        figures.record("nlu_latency", f"{figure} p{share * 100:g}", percentile(times["renben"], share),
                       "ms", baseline=percentile(times["default"], share), target=target,
                       baseline_name="Rasa's default pipeline (DIET), same data")


def serve(model: Path, port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "rasa", "run", "--enable-api", "--model", str(model),
                                "--port", str(port), "--interface", "127.0.0.1"],
                               cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as reply:
                if json.load(reply).get("model_file"):
                    return process
        except OSError:
            time.sleep(1)
    process.kill()
    raise SystemExit(f"rasa run on port {port} did not start: see {log}")


def parse_ms(port: int, text: str) -> float:
    body = json.dumps({"text": text}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/model/parse", data=body,
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as reply:
        reply.read()
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--long", type=int, default=100, help="2,000-character letters, half Chinese (0: none)")
    parser.add_argument("--model", type=Path, help="Renben's model to measure (default: the one for today's data)")
    parser.add_argument("--baseline-dir", type=Path, default=ROOT / "models" / "bench",
                        help="where the default pipeline's model is kept (trained there once per data change)")
    args = parser.parse_args()
    ours = args.model.resolve() if args.model else model_store.ensure_trained(ROOT / "models")
    baseline = baseline_model(args.baseline_dir.resolve())
    logs = ROOT / "reports"
    logs.mkdir(exist_ok=True)
    ports = {"renben": embedded_redis.free_port(), "default": embedded_redis.free_port()}
    servers = [serve(ours, ports["renben"], logs / "bench-renben.log"),
               serve(baseline, ports["default"], logs / "bench-default.log")]
    try:
        texts = messages(args.requests)
        ordinary = measure(ports, texts)
        letters = measure(ports, long_messages(args.long)) if args.long else None
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
    report(f"/model/parse latency over {len(texts)} messages each", ordinary, figure="/model/parse")
    if letters:
        report(f"/model/parse latency over {args.long} letters of 2,000 characters each", letters,
               figure="/model/parse, 2,000-character letters")


if __name__ == "__main__":
    main()
