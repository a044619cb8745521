"""The confusion matrix as a PNG a trainer can read: rows are the intent a message should get,
columns the one the model gave; the diagonal is right, anything else is a mix-up."""

from __future__ import annotations

from pathlib import Path
from typing import List, Sequence


def confusion_png(labels: Sequence[str], counts: Sequence[Sequence[int]], path: Path, *, title: str) -> Path:
    """Writes the matrix to `path` (shading by share of the row, so small intents show too)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Rows only for intents messages should have (nlu_fallback is only ever predicted).
    rows = [i for i, row in enumerate(counts) if sum(row)]
    row_labels = [labels[i] for i in rows]
    counts = [counts[i] for i in rows]
    size = max(6.0, 0.42 * len(labels) + 3)
    shares: List[List[float]] = []
    for row in counts:
        total = sum(row) or 1
        shares.append([n / total for n in row])
    figure, axes = plt.subplots(figsize=(size + 1.5, size))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(labels)), labels=labels, rotation=60, ha="right", fontsize=9)
    axes.set_yticks(range(len(row_labels)), labels=row_labels, fontsize=9)
    axes.set_xlabel("predicted intent")
    axes.set_ylabel("expected intent (the file it is in)")
    axes.set_title(title)
    for i, row in enumerate(counts):
        for j, n in enumerate(row):
            if n:
                right = labels[j] == row_labels[i]
                dark = shares[i][j] > 0.55
                colour = "white" if dark else ("black" if right else "#b00020")
                axes.text(
                    j,
                    i,
                    str(n),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=colour,
                    fontweight="normal" if right else "bold",
                )
    colorbar = figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02)
    colorbar.set_label("share of the expected intent's messages")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
