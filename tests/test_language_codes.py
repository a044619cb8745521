"""The language codes are defined once (core/language_codes.py) and imported everywhere else."""
from __future__ import annotations

import re

from core.language_codes import EN, LANGUAGES, ZH
from core.settings import ROOT

#: A tuple, list or set of the two codes, either order ("zh", "en"), ["en", "zh"], {'zh','en'}.
LITERAL = re.compile(r"""[(\[{]\s*(["'])(zh|en)\1\s*,\s*(["'])(?!\2)(zh|en)\3\s*,?\s*[)\]}]""")


def test_the_codes():
    assert LANGUAGES == (ZH, EN) == ("zh", "en")


def test_no_module_spells_the_language_tuple_again():
    found = []
    for package in ("core", "bot", "actions", "handoff", "tooling"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            if name == "core/language_codes.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if line.lstrip().startswith("#"):
                    continue
                if LITERAL.search(line) or re.search(r"""\bZH\s*,\s*EN\s*=""", line):
                    found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "import LANGUAGES (or ZH, EN) from core.language_codes:\n" + "\n".join(found)
