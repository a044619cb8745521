"""Cross-validation of the NLU model on data/nlu: k models, each tested on the examples it did not
see. The one bilingual model is trained as `make run` trains it; figures are split by language
afterwards (the language of an example is its folder).

Folds are stratified by (language, intent) and seeded, so two runs on the same data split the
same way and a change in the figures comes from a change in the data or pipeline.
Slow (one NLU training per fold): `progress` is called with a line to show before each step.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Callable, Dict, List, Sequence

from sklearn.model_selection import StratifiedKFold

from tooling.trainers.metrics import Prediction
from tooling.trainers.project import NLU_DIR, Example, read_nlu

DEFAULT_FOLDS = 3
SEED = 12333


def stratified_folds(examples: Sequence[Example], k: int, *, seed: int = SEED) -> List[List[int]]:
    """k sorted lists of example indexes (scikit-learn's StratifiedKFold, shuffled with `seed`);
    each (language, intent) is spread evenly over the folds."""
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    # StratifiedKFold deals the groups out in the order they first appear, carrying on from fold
    # to fold (so small groups do not all start in fold 0); handing it the examples sorted by
    # group keeps each fold's share of each group independent of the order of the files.
    order = sorted(range(len(examples)), key=lambda i: (examples[i].lang, examples[i].intent))
    groups = [f"{examples[i].lang}/{examples[i].intent}" for i in order]
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [sorted(order[j] for j in held_out) for _, held_out in splitter.split(groups, groups)]


def training_yaml(examples: Sequence[Example]) -> str:
    """Rasa NLU YAML holding `examples` as written (entity markup kept)."""
    by_intent: Dict[str, List[str]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example.raw or example.text)
    parts = ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        parts.append(f"- intent: {intent}\n  examples: |")
        parts.extend(f"    - {line}" for line in by_intent[intent])
    return "\n".join(parts) + "\n"


def quiet_rasa() -> None:
    """Rasa's debug and info lines would bury the progress lines: warnings and errors only."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from rasa.utils.common import configure_logging_and_warnings
        from rasa.utils.log_utils import configure_structlog

        configure_logging_and_warnings(logging.WARNING)
        configure_structlog(logging.WARNING)
    except ImportError:  # pragma: no cover - only without Rasa
        pass
    for name in ("rasa", "tensorflow", "absl", "matplotlib"):
        logging.getLogger(name).setLevel(logging.WARNING)


def cross_validate(
    root: Path, *, k: int = DEFAULT_FOLDS, config: str = "config.yml", progress: Callable[[str], None] = print
) -> List[Prediction]:
    """Trains k NLU models under a temporary folder; returns every held-out prediction.

    Must run with `root` as the working directory (the pipeline names files relative to it)."""
    import rasa.model_training
    from rasa.core.agent import Agent

    quiet_rasa()
    os.environ.setdefault("RASA_MAX_CACHE_SIZE", "0")  # fold models are never reused
    examples = read_nlu(root).examples
    lookups = sorted((root / NLU_DIR).rglob("lookup_*.yml"))
    folds = stratified_folds(examples, k)
    predictions: List[Prediction] = []
    work = Path(tempfile.mkdtemp(prefix="renben-cv-"))
    try:
        for number, test_indexes in enumerate(folds, start=1):
            held_out = set(test_indexes)
            train = [e for i, e in enumerate(examples) if i not in held_out]
            data = work / f"fold{number}"
            data.mkdir()
            (data / "train.yml").write_text(training_yaml(train), encoding="utf-8")
            for lookup in lookups:
                shutil.copy(lookup, data / f"{lookup.parent.name}_{lookup.name}")
            started = time.monotonic()
            progress(f"  fold {number}/{k}: training on {len(train)} examples ...")
            # Rasa's notes on lookup tables and sklearn's iteration limit are the same every fold.
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = rasa.model_training.train_nlu(str(root / config), str(data), str(work / "models"))
            processor = Agent.load(model).processor
            tests = [examples[i] for i in test_indexes]
            progress(
                f"  fold {number}/{k}: trained in {time.monotonic() - started:.0f} s; "
                f"testing {len(tests)} held-out examples ..."
            )
            predictions.extend(asyncio.run(_predict(processor, tests, root)))
            Path(model).unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return predictions


async def _predict(processor, examples: Sequence[Example], root: Path) -> List[Prediction]:
    from rasa.core.channels import UserMessage

    found = []
    for example in examples:
        parsed = await processor.parse_message(UserMessage(example.text))
        intent = parsed.get("intent") or {}
        where = f"{example.path.relative_to(root)}:{example.line}"
        found.append(
            Prediction(
                example.lang,
                example.text,
                example.intent,
                intent.get("name") or "",
                float(intent.get("confidence") or 0.0),
                where,
            )
        )
    return found
