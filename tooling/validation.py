"""`make validate`: the project's own checks on the data trainers edit, then Rasa's validation.

The project's checks (tooling/trainers/checks.py, explained for trainers in docs/trainers.md) print
`file:line: what is wrong` and `-> what to do`. `--quick` runs only those (a second, not a minute).
Knowledge-base entries not reviewed for `--stale-after` days (default 180, or
`RENBEN_KB_STALE_DAYS`) are listed as warnings with their sources (tooling/trainers/staleness.py);
warnings do not fail validation.

Rasa warns that a response is "not used in any story or rule" when only an action uses it (the
actions compose answers from the domain's phrases, see actions/phrasebook.py). Those warnings are
dropped when the response name, or the prefix it is built from, appears in the actions' code, as
are its warnings that an intent only buttons send (`checks.BUTTON_INTENTS`) has no examples; any
other warning fails validation, as `--fail-on-warnings` would.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Set, Tuple

from core.settings import ROOT
from tooling.trainers import checks, project, staleness
from tooling.trainers.checks import Problem
from tooling.trainers.staleness import StaleEntry

_UNUSED = re.compile(r"The utterance '(utter_[A-Za-z0-9_]+)' is not used in any story or rule")
_NO_EXAMPLES = re.compile(
    r"The intent '([A-Za-z0-9_]+)' is listed in the domain file, but is not found in the "
    r"NLU training data"
)
_NAME_IN_CODE = re.compile(r"""["'](utter_[A-Za-z0-9_]*)""")
# Rasa warns about this on every load, whatever the domain says.
_ALWAYS = ("Slot auto-fill has been removed in 3.0",)


#: Code that says domain responses itself: the actions, and the desk and channels, which tell a
#: waiting claimant their place, that an agent joined, or that the bot took the conversation back.
CODE_USING_RESPONSES = (ROOT / "actions", ROOT / "handoff", ROOT / "bot" / "channels")


def names_used_by_actions(code_dirs: Iterable[Path] = CODE_USING_RESPONSES) -> Set[str]:
    """Response names (or name prefixes ending in '_') that appear in string literals of the code
    that says responses itself (actions, desk, channels).

    `utter_ask_<slot>` is included: forms ask for their slots with it.
    """
    found: Set[str] = {"utter_ask_"}
    for code_dir in [code_dirs] if isinstance(code_dirs, Path) else code_dirs:
        for path in code_dir.rglob("*.py"):
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
        no_examples = _NO_EXAMPLES.search(message)
        if no_examples and no_examples.group(1) in checks.BUTTON_INTENTS:  # only buttons send it
            continue
        problems.append(message)
    return problems


def rasa_validation() -> List[str]:
    """Runs Rasa's validator; returns the problems (errors exit through Rasa itself)."""
    from rasa.cli.utils import validate_files
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config(
        config_path=str(ROOT / "config.yml"),
        domain_path=str(ROOT / "bot" / "domain"),
        training_data_paths=[str(ROOT / "data" / "nlu"), str(ROOT / "data" / "rules")],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        validate_files(fail_on_warnings=False, max_history=None, importer=importer)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning) and "rasa" in (w.filename or "")]
    return real_problems(messages, names_used_by_actions())


LEXICON_DIR = "data/lexicons/signals"
CANNED_REPLIES = "handoff/console/canned.json"


def lexicon_problems(root: Path = ROOT) -> Tuple[List[Problem], Optional[str]]:
    """Loads the signal lexicons, the grammar (word classes, rules, spelling) and the backstop's
    corpus with their own loaders; (problems, a note when skipped). Every file a loader rejects
    raises `LexiconError` carrying the file and line."""
    from bot.signals.grammar import load_grammar
    from bot.signals.lexicon import LexiconError, load_lexicon

    folder = root / LEXICON_DIR
    if not folder.is_dir():
        return [], f"signal lexicons not checked: there is no {LEXICON_DIR} folder yet"
    for loader in (load_lexicon, load_grammar):
        try:
            loader(folder)
        except LexiconError as error:
            return [
                Problem(
                    Path(error.path),
                    int(error.line or 1),
                    f"the signal lexicon does not load: {error.problem}",
                    "fix that line as docs/signals.md describes",
                )
            ], None
    return corpus_problems(root / SIGNAL_CORPUS_DIR), None


SIGNAL_CORPUS_DIR = "data/lexicons/signals-corpus"


def corpus_problems(folder: Path) -> List[Problem]:
    """Rows of the backstop's corpus (`level<TAB>text<TAB>style`) that the model would not learn from."""
    from bot.signals.backstop import LEVELS

    problems = []
    for path in sorted(folder.glob("*.tsv")) if folder.is_dir() else []:
        if not path.name.startswith(("zh-", "en-")):
            problems.append(Problem(path, 1, "a corpus file must be named zh-*.tsv or en-*.tsv", "rename it"))
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        if not lines or lines[0].split("\t")[:2] != ["level", "text"]:
            problems.append(
                Problem(path, 1, "the first line must be the header level<TAB>text<TAB>style", "add the header")
            )
            continue
        for number, line in enumerate(lines[1:], start=2):
            cells = line.split("\t")
            if len(cells) < 2 or cells[0] not in LEVELS or not cells[1].strip():
                problems.append(
                    Problem(
                        path,
                        number,
                        f"row is not <level><TAB><text> with a level of {', '.join(LEVELS)}",
                        "fix the row or remove it",
                    )
                )
    return problems


TOPIC_CUE_DIR = "data/lexicons/topics"


def topic_cue_problems(root: Path, intents: Iterable[str]) -> List[Problem]:
    """The topic cues load, and every topic they name is an intent of the domain."""
    from bot.topic_lexicon import TopicCueError, load_topic_cues

    if not (root / TOPIC_CUE_DIR).is_dir():
        return []  # a project without topic cues (config.yml then has no TopicCueFeaturizer)
    try:
        cues = load_topic_cues(root / TOPIC_CUE_DIR)
    except TopicCueError as error:
        return [
            Problem(
                error.path,
                error.line or 1,
                f"the topic cues do not load: {error.problem}",
                "fix that line as docs/trainers.md (topic cues) describes",
            )
        ]
    known = set(intents)
    problems = []
    for topic in cues.topics:
        if topic not in known:
            where = next(
                (
                    path
                    for path in sorted((root / TOPIC_CUE_DIR).glob("*.yml"))
                    if f"{topic}:" in path.read_text(encoding="utf-8")
                ),
                root / TOPIC_CUE_DIR,
            )
            problems.append(
                Problem(
                    where,
                    1,
                    f"'{topic}' in the topic cues is not an intent of the domain",
                    "use one of the intent names in docs/intents.md",
                )
            )
    return problems


SITUATION_NAME_DIR = "data/lexicons/situation"


def situation_name_problems(root: Path) -> List[Problem]:
    """The place and benefit lists of the situation entities load (bot/situation/names.py)."""
    from bot.situation.names import NameLexiconError, load_names

    if not (root / SITUATION_NAME_DIR).is_dir():
        return []  # a project without them (config.yml then has no SituationEntityExtractor)
    try:
        load_names(root / SITUATION_NAME_DIR)
    except NameLexiconError as error:
        return [
            Problem(
                error.path,
                error.line or 1,
                f"the place and benefit names do not load: {error.problem}",
                "fix that line as the comment at the top of the file describes (docs/entities.md)",
            )
        ]
    return []


def project_problems(root: Path = ROOT, *, today: Optional[dt.date] = None) -> List[Problem]:
    """Every project check over the data under `root`, in the order a trainer would fix them."""
    problems: List[Problem] = []
    nlu = project.read_nlu(root)
    domain_docs, unreadable = project.read_docs(root, project.DOMAIN_DIR)
    kb_docs, kb_unreadable = project.read_docs(root, project.KB_DIR)
    rules, rules_unreadable = project.read_docs(root, project.RULES_DIR)
    for error in [*nlu.unreadable, *unreadable, *kb_unreadable, *rules_unreadable]:
        problems.append(
            Problem(
                error.path,
                error.line,
                f"this file is not valid YAML: {error.reason}",
                "check the indentation and quotes on this line and the one above",
            )
        )
    domain = project.read_domain(domain_docs)
    answers = [d for d in kb_docs if d.path.name not in checks.KB_FIGURE_FILES]
    problems += checks.check_names(domain, nlu, rules)
    problems += checks.check_example_counts(nlu, domain.intents)
    problems += checks.check_duplicates(nlu.examples)
    today = today or dt.date.today()
    problems += checks.check_responses(domain, checks.kb_index(answers), today=today)
    problems += checks.check_kb(
        kb_docs, topics=checks.topic_intents(rules), intents=domain.intents, today=today, kb_dir=root / project.KB_DIR
    )
    problems += checks.check_canned(root / CANNED_REPLIES)
    problems += topic_cue_problems(root, domain.intents)
    problems += situation_name_problems(root)
    return problems


def stale_warnings(root: Path = ROOT, *, stale_after: int, today: Optional[dt.date] = None) -> List[StaleEntry]:
    """Knowledge-base entries last reviewed more than `stale_after` days ago, with what to re-check."""
    docs, _ = project.read_docs(root, project.KB_DIR)  # unreadable files are reported as problems
    return staleness.stale_entries(docs, today=today or dt.date.today(), stale_after=stale_after)


def main(argv: Optional[Sequence[str]] = None, *, root: Path = ROOT, today: Optional[dt.date] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.validation", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the project's checks, not Rasa's")
    parser.add_argument(
        "--stale-after",
        metavar="DAYS",
        default=os.environ.get(staleness.STALE_DAYS_ENV),
        help="warn about knowledge-base entries not reviewed for more than DAYS days "
        f"(default {staleness.DEFAULT_STALE_DAYS}, or ${staleness.STALE_DAYS_ENV})",
    )
    args = parser.parse_args(argv)
    try:
        stale_after = staleness.stale_days(args.stale_after)
    except ValueError as error:
        parser.error(str(error))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notes are not problems
    problems = project_problems(root, today=today)
    lexicon, note = lexicon_problems(root)
    problems += lexicon
    for problem in problems:
        print(problem.render(root))
    if note:
        print(f"note: {note}")
    stale = stale_warnings(root, stale_after=stale_after, today=today)
    for entry in stale:
        print(entry.render(root, stale_after=stale_after))
    if stale:
        print(
            f"{len(stale)} knowledge-base file(s) not reviewed for more than {stale_after} days: re-check "
            "them before they fail validation at a year (docs/trainers.md, section 2)."
        )
    rasa = [] if args.quick else rasa_validation()
    for problem in rasa:
        print(f"validation (rasa): {problem}")
    total = len(problems) + len(rasa)
    if total:
        print(f"{total} problem(s) found. Each says the file and line, and what to do (docs/trainers.md).")
        return 1
    print("Training data, knowledge base and domain are valid.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
