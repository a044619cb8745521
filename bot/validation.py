"""`make validate`: Rasa's own data validation, strict, plus the project's checks.

Rasa warns that a response is "not used in any story or rule" when only an action uses it (the
actions compose answers from the domain's phrases, see actions/phrasebook.py). Those warnings are
dropped when the response name, or the prefix it is built from, appears in the actions' code; any
other warning fails validation, as `--fail-on-warnings` would.
"""
from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from typing import Iterable, List, Set

from bot.settings import ROOT

_UNUSED = re.compile(r"The utterance '(utter_[A-Za-z0-9_]+)' is not used in any story or rule")
_NAME_IN_CODE = re.compile(r"""["'](utter_[A-Za-z0-9_]*)""")
# Rasa warns about this on every load, whatever the domain says.
_ALWAYS = ("Slot auto-fill has been removed in 3.0",)


def names_used_by_actions(code_dir: Path = ROOT / "actions") -> Set[str]:
    """Response names (or name prefixes ending in '_') that appear in string literals of actions.

    `utter_ask_<slot>` is included: forms ask for their slots with it.
    """
    found: Set[str] = {"utter_ask_"}
    for path in code_dir.glob("*.py"):
        found.update(_NAME_IN_CODE.findall(path.read_text(encoding="utf-8")))
    return found


def used_by_actions(response: str, names: Set[str]) -> bool:
    return response in names or any(n.endswith("_") and response.startswith(n) for n in names)


def real_problems(messages: Iterable[str], names: Set[str]) -> List[str]:
    """The warnings that matter: all but 'unused' responses the actions do use."""
    problems = []
    for message in messages:
        if message.startswith(_ALWAYS):
            continue
        unused = _UNUSED.search(message)
        if unused and used_by_actions(unused.group(1), names):
            continue
        problems.append(message)
    return problems


def rasa_validation() -> List[str]:
    """Runs Rasa's validator; returns the problems (errors exit through Rasa itself)."""
    from rasa.cli.utils import validate_files
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config(
        config_path=str(ROOT / "config.yml"), domain_path=str(ROOT / "bot" / "domain"),
        training_data_paths=[str(ROOT / "data" / "nlu"), str(ROOT / "data" / "rules")],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        validate_files(fail_on_warnings=False, max_history=None, importer=importer)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)
                and "rasa" in (w.filename or "")]
    return real_problems(messages, names_used_by_actions())


def main() -> int:
    problems = rasa_validation()
    for problem in problems:
        print(f"validation: {problem}")
    if problems:
        print(f"{len(problems)} problem(s) found.")
        return 1
    print("Training data and domain are valid.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
