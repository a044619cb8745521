"""Trained models, named by the fingerprint of what they were trained on; keeping and rolling back.

A model is `models/renben-<fingerprint>.tar.gz`, where the fingerprint is a hash of config.yml,
the domain, the training data and the code of the custom NLU components. Which model
`ensure_trained()` (so `make run`, `make eval`, the tests) uses:

1. If `models/current` exists (written by `rollback`) and the data, domain and configuration
   have not changed since the rollback, the model it names: the rollback holds.
2. Otherwise (no pointer, or anything changed since the rollback: the pointer is then removed),
   the model for the current fingerprint, trained first if there is none. After a training, only
   the newest `RENBEN_MODELS_KEEP` (default 5) models are kept; a rolled-back model is never removed.

Commands (docs/trainers.md, "Rolling back a model"):
    python -m tooling.model_store                    the model for the current data (trains if needed)
    python -m tooling.model_store list               the kept models, newest first, and which is in use
    python -m tooling.model_store rollback <print>   use an earlier model until the data changes
    python -m tooling.model_store release            undo a rollback: back to the current data's model
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence

from core.settings import ROOT

TRAINING_INPUTS = ("config.yml", "bot/domain", "data/nlu", "data/rules", "data/lexicons",
                   "bot/components", "bot/topic_lexicon.py", "bot/textnorm.py", "bot/langdetect.py",
                   "core/language_codes.py", "bot/segment.py", "bot/situation", "bot/sentences.py",
                   "bot/question_rerank.py")
TRAINING_DATA = ("data/nlu", "data/rules")
PREFIX, SUFFIX = "renben-", ".tar.gz"
POINTER = "current"
DEFAULT_KEEP = 5


class ModelStoreError(Exception):
    """A model command cannot be done; the message says why and what to do."""


def _files(root: Path, inputs: Iterable[str]) -> List[Path]:
    found: List[Path] = []
    for name in inputs:
        path = root / name
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        elif path.is_file():
            found.append(path)
    return sorted(found)


def fingerprint(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for path in _files(root, TRAINING_INPUTS):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(models_dir: Path, print_: Optional[str] = None) -> Path:
    return models_dir / f"{PREFIX}{print_ or fingerprint()}{SUFFIX}"


def keep_count() -> int:
    """How many models to keep (RENBEN_MODELS_KEEP, at least 1)."""
    try:
        return max(1, int(os.environ.get("RENBEN_MODELS_KEEP") or DEFAULT_KEEP))
    except ValueError:
        return DEFAULT_KEEP


@dataclass(frozen=True)
class StoredModel:
    print: str
    path: Path
    trained: dt.datetime
    size: int


def stored_models(models_dir: Path) -> List[StoredModel]:
    """Every `renben-*.tar.gz`, newest first."""
    found = []
    for path in models_dir.glob(f"{PREFIX}*{SUFFIX}"):
        stat = path.stat()
        found.append(StoredModel(path.name[len(PREFIX):-len(SUFFIX)], path,
                                 dt.datetime.fromtimestamp(stat.st_mtime), stat.st_size))
    return sorted(found, key=lambda m: (m.trained, m.print), reverse=True)


@dataclass(frozen=True)
class Pin:
    """`models/current`: the rolled-back model, and the fingerprint the data had at the rollback."""
    model: str
    pinned_for: str
    at: str

    @classmethod
    def read(cls, models_dir: Path) -> Optional["Pin"]:
        try:
            data = json.loads((models_dir / POINTER).read_text(encoding="utf-8"))
            return cls(str(data["model"]), str(data["pinned_for"]), str(data.get("at", "")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, models_dir: Path) -> None:
        temporary = models_dir / f".{POINTER}.tmp"
        temporary.write_text(json.dumps(self.__dict__, indent=1) + "\n", encoding="utf-8")
        temporary.replace(models_dir / POINTER)  # atomic: a launcher never reads half a pointer


def prune(models_dir: Path, *, keep: Optional[int] = None, protect: Sequence[Path] = ()) -> List[Path]:
    """Removes all but the newest `keep` models (never one in `protect`); returns the removed."""
    keep = keep_count() if keep is None else keep
    removed = []
    for stored in stored_models(models_dir)[keep:]:
        if stored.path in protect:
            continue
        stored.path.unlink(missing_ok=True)
        removed.append(stored.path)
    return removed


def broken_parts(model: Path) -> List[str]:
    """Component files a model archive names wrongly, so that loading it would fail.

    Rasa 3.6 restores a cached LogisticRegressionClassifier under the node name of the training
    that cached it (`train_X6.skops` inside `train_X5/`) when the pipeline's node numbering
    differs, e.g. after someone trained another pipeline in the same checkout."""
    try:
        with tarfile.open(model) as archive:
            names = archive.getnames()
    except (OSError, tarfile.TarError):
        return [model.name]
    wrong = []
    for name in names:
        parts = Path(name.lstrip("/")).parts
        if len(parts) == 3 and parts[0] == "components" and parts[2].endswith(".skops") \
                and parts[2] != f"{parts[1]}.skops":
            wrong.append(name)
    return wrong


def train(models_dir: Path, *, root: Path = ROOT) -> Path:
    """Trains a model for the current fingerprint; returns its path.

    If the result is broken by the cache (see `broken_parts`), trains again without the cache."""
    target = model_path(models_dir, fingerprint(root))
    command = [
        sys.executable, "-m", "rasa", "train", "--config", "config.yml", "--domain", "bot/domain",
        "--data", *TRAINING_DATA, "--out", str(models_dir), "--fixed-model-name", target.name[: -len(SUFFIX)],
    ]
    subprocess.run(command, cwd=root, check=True)
    if broken_parts(target):
        print("The training cache gave a broken model: training again without the cache ...")
        target.unlink(missing_ok=True)
        subprocess.run(command, cwd=root, check=True, env={**os.environ, "RASA_MAX_CACHE_SIZE": "0"})
    return target


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def selected(models_dir: Path, *, root: Path = ROOT) -> Path:
    """The model `ensure_trained` would use now, without training (it may not exist yet)."""
    current = fingerprint(root)
    pin = Pin.read(models_dir)
    if pin and pin.pinned_for == current and model_path(models_dir, pin.model).exists():
        return model_path(models_dir, pin.model)
    return model_path(models_dir, current)


def ensure_trained(models_dir: Path, *, root: Path = ROOT) -> Path:
    """The model to run: the rolled-back one while the data is unchanged since the rollback,
    else the model for the current fingerprint, training one first if there is none."""
    current = fingerprint(root)
    pin = Pin.read(models_dir)
    if pin is not None:
        pinned = model_path(models_dir, pin.model)
        if pin.pinned_for == current and pinned.exists():
            print(f"Rolled back: using {_shown(pinned, root)} (since {pin.at}); it stays in use until "
                  "the data, domain or configuration change.")
            return pinned
        reason = "the data changed since the rollback" if pin.pinned_for != current else \
            f"{pinned.name} is gone"
        print(f"Rollback to {pin.model} ended: {reason}.")
        (models_dir / POINTER).unlink(missing_ok=True)
    target = model_path(models_dir, current)
    if target.exists() and broken_parts(target):
        print(f"{target.name} cannot be loaded ({', '.join(broken_parts(target))}): training it again.")
        target.unlink(missing_ok=True)
    if target.exists():
        print(f"Model up to date: {_shown(target, root)}")
        return target
    print("Training data, domain or pipeline changed: training a new model (a few minutes) ...")
    trained = train(models_dir, root=root)
    for removed in prune(models_dir, protect=[trained]):
        print(f"Removed old model {removed.name} (keeping the newest {keep_count()}).")
    return trained


def rollback(models_dir: Path, wanted: str, *, root: Path = ROOT) -> Path:
    """Pins the model whose fingerprint starts with `wanted`; returns its path.

    Raises ModelStoreError when no kept model, or more than one, matches."""
    matches = [m for m in stored_models(models_dir) if m.print.startswith(wanted.strip())]
    if not wanted.strip() or not matches:
        raise ModelStoreError(f"no kept model starts with '{wanted}'. "
                              "See `python -m tooling.model_store list`.")
    if len(matches) > 1:
        raise ModelStoreError(f"'{wanted}' matches {len(matches)} models; give more characters.")
    chosen = matches[0]
    current = fingerprint(root)
    if chosen.print == current:
        (models_dir / POINTER).unlink(missing_ok=True)
    else:
        Pin(chosen.print, current, dt.datetime.now().isoformat(timespec="seconds")).write(models_dir)
    return chosen.path


def release(models_dir: Path) -> bool:
    """Ends a rollback; True when there was one."""
    pointer = models_dir / POINTER
    existed = pointer.exists()
    pointer.unlink(missing_ok=True)
    return existed


def list_lines(models_dir: Path, *, root: Path = ROOT) -> List[str]:
    current = fingerprint(root)
    in_use = selected(models_dir, root=root)
    pin = Pin.read(models_dir)
    lines = [f"Models in {_shown(models_dir, root)} (newest first; keeping {keep_count()}):"]
    for stored in stored_models(models_dir):
        marks = []
        if stored.path == in_use:
            marks.append("IN USE")
        if stored.print == current:
            marks.append("trained on the current data")
        if pin and stored.print == pin.model:
            marks.append(f"rolled back to on {pin.at}")
        lines.append(f"  {stored.print}  {stored.trained:%Y-%m-%d %H:%M}  {stored.size / 1e6:5.1f} MB  "
                     + ", ".join(marks))
    if not in_use.exists():
        lines.append(f"  (no model for the current data yet: the next `make run` trains {in_use.name})")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.model_store",
                                     description="Trained models: list, roll back, release.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("list", help="the kept models and which one is in use")
    back = commands.add_parser("rollback", help="use an earlier model until the data changes")
    back.add_argument("fingerprint", help="the model's fingerprint (the first few characters will do)")
    commands.add_parser("release", help="end a rollback")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--models", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root: Path = args.root
    models_dir: Path = args.models or root / "models"
    if args.command is None:
        try:
            print(ensure_trained(models_dir, root=root))
        except subprocess.CalledProcessError:
            print("Training failed: Rasa's message above says why (`make validate` helps find it).")
            return 1
        return 0
    if args.command == "list":
        print("\n".join(list_lines(models_dir, root=root)))
        return 0
    if args.command == "release":
        print("Rollback ended: the next start uses the model for the current data (training it if "
              "needed)." if release(models_dir) else "There was no rollback.")
        return 0
    try:
        path = rollback(models_dir, args.fingerprint, root=root)
    except ModelStoreError as error:
        print(f"Cannot roll back: {error}")
        return 2
    print(f"Rolled back to {path.name}. Restart (`make run`) to use it. It stays in use until the "
          "data, domain or configuration change; then the next start trains a new model. "
          "`python -m tooling.model_store release` ends the rollback now.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
