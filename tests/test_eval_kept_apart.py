"""The development slice in ../shared/eval is for measuring only: no file of the repository (a
training example, answer, lexicon entry, test or doc) may carry a long piece of one of its
messages."""
from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path
from typing import List

import pytest

from core.settings import ROOT

DEV = ROOT.parent / "shared" / "eval" / "real_questions_dev.tsv"
WINDOW = {"en": 40, "zh": 12}  # characters: longer than a benefit's name or a stock phrase


TEXT_SUFFIXES = {".yml", ".yaml", ".py", ".md", ".txt", ".js", ".html", ".css", ".json", ".tsv", ".toml", ".cfg"}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _repository_files() -> List[Path]:
    """Every text file git tracks (or, outside a checkout, every one below the repository's
    folders except the environment, models and reports)."""
    try:
        names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        paths = [ROOT / name for name in names]
    except (OSError, subprocess.CalledProcessError):
        skip = {".venv", "models", "reports", "var", "artifacts", ".git"}
        paths = [p for p in ROOT.rglob("*") if not skip & set(p.relative_to(ROOT).parts)]
    return sorted(p for p in paths if p.suffix in TEXT_SUFFIXES and p.is_file())


@pytest.mark.skipif(not DEV.exists(), reason="no ../shared/eval beside the repository")
def test_no_piece_of_a_dev_message_stands_in_the_repository():
    files = _repository_files()
    assert any(p.match("data/nlu/en/*.yml") for p in files)  # the scan reaches the training data
    ours = "\n".join(_norm(p.read_text(encoding="utf-8", errors="replace")) for p in files)
    leaked = []
    with DEV.open(encoding="utf-8") as tsv:
        for row in csv.DictReader(tsv, delimiter="\t"):
            size = WINDOW.get(row["lang"], 30)
            for piece in _norm(row["text"]).split("…"):
                piece = piece.strip()
                windows = [piece[i:i + size] for i in range(0, max(1, len(piece) - size + 1), max(1, size // 3))]
                if any(len(w) >= size and w in ours for w in windows):
                    leaked.append(row["text"][:80])
                    break
            else:
                if _shares_pieces(_norm(row["text"]), ours, row["lang"]):
                    leaked.append(row["text"][:80])
    assert leaked == [], "write your own examples instead of these dev-slice messages:\n" + "\n".join(leaked)


def _shares_pieces(text: str, ours: str, language: str) -> bool:
    """The stricter reading: the message cut into consecutive pieces of 24 characters (10 for
    Chinese); one piece found here for a short message, two for a longer one, is too close (even
    the opening words of a short question, written independently, read as a copy)."""
    size = 10 if language == "zh" else 24
    pieces = [text[i:i + size] for i in range(0, max(len(text) - size, 1), size)]
    found = sum(1 for piece in pieces if len(piece) >= size and piece in ours)
    return found >= (1 if len(pieces) < 3 else 2)
