"""The contents of a lexicon folder as one digest: what a trainable component that reads lexicon
files at training time returns from Rasa's `fingerprint_addon`, so Rasa's training cache does not
restore it with the lexicons of an earlier training after a trainer edits one."""
from __future__ import annotations

import hashlib
from pathlib import Path

from core.paths import ROOT


def folder_digest(folder: Path, pattern: str = "*.yml") -> str:
    """A digest of the names and bytes of the files in `folder` (relative to the project root
    when not absolute) matching `pattern`."""
    folder = folder if folder.is_absolute() else ROOT / folder
    digest = hashlib.sha256()
    for path in sorted(folder.glob(pattern)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
