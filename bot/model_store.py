"""Trained models, named by the fingerprint of what they were trained on.

A model is `models/renben-<fingerprint>.tar.gz`, where the fingerprint is a hash of config.yml,
the domain, the training data and the code of the custom NLU components. `make run` trains only
when no model has the current fingerprint.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Iterable, List, Optional

from bot.settings import ROOT

TRAINING_INPUTS = ("config.yml", "bot/domain", "data/nlu", "data/rules", "data/lexicons",
                   "bot/components", "bot/textnorm.py", "bot/langdetect.py", "bot/segment.py")
TRAINING_DATA = ("data/nlu", "data/rules")


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
    return models_dir / f"renben-{print_ or fingerprint()}.tar.gz"


def train(models_dir: Path, *, root: Path = ROOT) -> Path:
    """Trains a model for the current fingerprint; returns its path."""
    target = model_path(models_dir, fingerprint(root))
    command = [
        sys.executable, "-m", "rasa", "train", "--config", "config.yml", "--domain", "bot/domain",
        "--data", *TRAINING_DATA, "--out", str(models_dir), "--fixed-model-name", target.name[: -len(".tar.gz")],
    ]
    subprocess.run(command, cwd=root, check=True)
    return target


def ensure_trained(models_dir: Path, *, root: Path = ROOT) -> Path:
    """The model for the current fingerprint, training one first if there is none."""
    target = model_path(models_dir, fingerprint(root))
    if target.exists():
        print(f"Model up to date: {target.relative_to(root) if target.is_relative_to(root) else target}")
        return target
    print("Training data, domain or pipeline changed: training a new model (a few minutes) ...")
    return train(models_dir, root=root)


if __name__ == "__main__":
    print(ensure_trained(ROOT / "models"))
