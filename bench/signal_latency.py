"""The signal detector's added latency per message, against the pipeline without it, in one run.

    make bench      (or: .venv/bin/python bench/signal_latency.py [--messages 400])

Loads the trained model once (in this process) and, for every message, in alternating order:
parses it with the whole NLU pipeline (the detector included), and runs the detector alone on the
same text. The pipeline without the detector is the whole parse less the detector's own time for
that message. Prints p50 and p99 of the detector, of the pipeline with it and of the pipeline
without it, and the ratio with/without, for ordinary messages and, apart, for 2,000-character
letters. Targets: the detector's added p50 under 3 ms and p99 under 15 ms, for both.

The messages are this repository's own training examples, one in four joined with three others
into a longer message; the letters join examples until 2,000 characters; nothing here touches
../shared/eval.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import Dict, List

import yaml

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
sys.path.insert(0, str(ROOT))

from bench import figures  # noqa: E402
from bot import model_store  # noqa: E402
from bot.signals.detector import detector_for  # noqa: E402


def letters(count: int) -> List[str]:
    """Letters of 2,000 characters made of training examples, one language each."""
    rng = random.Random(5)
    by_language = {"zh": [], "en": []}
    for text in _examples():
        by_language["zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"].append(text)
    made = []
    for i in range(count):
        pool = by_language["zh" if i % 2 == 0 else "en"]
        letter = ""
        while len(letter) < 2000:
            letter += rng.choice(pool) + ("。" if i % 2 == 0 else ". ")
        made.append(letter[:2000])
    return made


def _examples() -> List[str]:
    examples = []
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in block:
                examples += [line[2:].strip() for line in block["examples"].splitlines()
                             if line.startswith("- ")]
    return examples


def messages(count: int) -> List[str]:
    examples = _examples()
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in block:
                examples += [line[2:].strip() for line in block["examples"].splitlines()
                             if line.startswith("- ")]
    rng = random.Random(11)
    rng.shuffle(examples)
    chosen = []
    for i in range(count):
        if i % 4 == 3:
            chosen.append(" ".join(rng.sample(examples, 4)))
        else:
            chosen.append(examples[i % len(examples)])
    return chosen


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure(texts: List[str], agent=None) -> Dict[str, List[float]]:  # noqa: ANN001
    from rasa.core.agent import Agent

    agent = agent or Agent.load(str(model_store.ensure_trained(ROOT / "models")))
    detector = detector_for(ROOT / "data" / "lexicons" / "signals")
    for text in texts[:30]:  # warm-up: jieba's dictionary, spaCy's vocab, sklearn
        await agent.parse_message(text)
        detector.detect(text)
    times: Dict[str, List[float]] = {"detector": [], "with": [], "without": []}
    for i, text in enumerate(texts):
        steps = ("detect", "parse") if i % 2 == 0 else ("parse", "detect")
        spent: Dict[str, float] = {}
        for step in steps:
            started = time.perf_counter()
            if step == "detect":
                detector.detect(text)
            else:
                await agent.parse_message(text)
            spent[step] = (time.perf_counter() - started) * 1000
        times["detector"].append(spent["detect"])
        times["with"].append(spent["parse"])
        times["without"].append(max(0.0, spent["parse"] - spent["detect"]))
    return times


def report(title: str, times: Dict[str, List[float]], kind: str = "messages") -> None:
    print(f"{title} (ms, in-process NLU parse):")
    for name, label in (("detector", "detector alone"), ("with", "pipeline with it"),
                        ("without", "pipeline without it")):
        values = times[name]
        print(f"  {label:20s} p50 {percentile(values, 0.5):7.2f}  p99 {percentile(values, 0.99):7.2f}")
    p50, p99 = percentile(times["detector"], 0.5), percentile(times["detector"], 0.99)
    ratio = percentile(times["with"], 0.5) / max(1e-9, percentile(times["without"], 0.5))
    print(f"  added latency p50 {p50:.2f} ms (target < 3 ms)  p99 {p99:.2f} ms (target < 15 ms);"
          f"  ratio with/without p50 {ratio:.2f}")
    figures.record("signal_latency", f"detector p50 ({kind})", p50, "ms", target="value < 3")
    figures.record("signal_latency", f"detector p99 ({kind})", p99, "ms", target="value < 15")
    figures.record("signal_latency", f"pipeline with it p50 ({kind})", percentile(times["with"], 0.5), "ms",
                   baseline=percentile(times["without"], 0.5), baseline_name="the pipeline without the detector")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--letters", type=int, default=100)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    import structlog  # Rasa's per-message debug lines would bury the figures
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_store.ensure_trained(ROOT / "models")))
    texts = messages(args.messages)
    report(f"Signal detector over {len(texts)} messages", asyncio.run(measure(texts, agent)))
    long_texts = letters(args.letters)
    report(f"Signal detector over {len(long_texts)} letters of 2,000 characters", asyncio.run(measure(long_texts, agent)),
           kind="letters")


if __name__ == "__main__":
    main()
