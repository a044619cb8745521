"""Where the project is: `ROOT`, the repository folder. A leaf module (it imports nothing of the
project), so what imports it for the path alone, the NLU components, does not make the model's
fingerprint depend on anything else (tooling/model_store.py)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
