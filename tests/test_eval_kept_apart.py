"""The development slice in ../shared/eval is for measuring only: no training example, answer
or lexicon entry may carry a long piece of one of its messages."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from bot.settings import ROOT

DEV = ROOT.parent / "shared" / "eval" / "real_questions_dev.tsv"
WINDOW = {"en": 40, "zh": 12}  # characters: longer than a benefit's name or a stock phrase


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@pytest.mark.skipif(not DEV.exists(), reason="no ../shared/eval beside the repository")
def test_no_piece_of_a_dev_message_stands_in_the_repository_data():
    ours = "\n".join(_norm(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "data").rglob("*.yml")))
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
    assert leaked == [], "write your own examples instead of these dev-slice messages:\n" + "\n".join(leaked)
