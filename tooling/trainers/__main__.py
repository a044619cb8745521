"""`python -m tooling.trainers review export|apply` (docs/trainers.md, "The review inbox")."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from core.settings import ROOT, Settings, install


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from tooling.trainers import review_sources as sources

    try:
        redactor = sources.load_redactor()
    except sources.RedactionUnavailable as error:
        print(f"Cannot export: {error}.")
        return 2
    out_dir: Path = args.out
    since = sources.since_default(out_dir, args.days)
    events = list(sources.read_events(sources.tracker_url(ROOT, settings.tracker_store_url), since=since))
    flags: List = []
    url = sources.redis_url(ROOT, settings.redis_url)
    if url is None:
        print("note: agent flags not read (set REDIS_URL, or export while `make run` is running).")
    else:
        try:
            flags = sources.read_flags(url, since=since)
        except Exception as error:  # Redis down: the conversations are still worth exporting
            print(f"note: agent flags not read ({type(error).__name__}: {error}).")
    written = sources.export(ROOT, out_dir, events=events, flags=flags, redactor=redactor, since=since)
    if not written:
        print("The inbox is empty: nothing new since the last export.")
    for item in written:
        shown = item.path.relative_to(ROOT) if item.path.is_relative_to(ROOT) else item.path
        print(f"{item.lang}: {item.rows} message(s) to review in {shown}")
    return 0


def _apply(args: argparse.Namespace) -> int:
    from tooling.trainers import review
    from tooling.trainers import review_sources as sources

    try:
        redactor = sources.load_redactor()
        plan, changed = sources.apply(ROOT, args.file, redactor=redactor)
    except sources.RedactionUnavailable as error:
        print(f"Cannot apply: {error}.")
        return 2
    except review.ReviewFileError as error:
        print(f"Nothing was changed. {args.file}: {error}")
        return 1
    except FileNotFoundError:
        print(f"No such file: {args.file}")
        return 1
    print(
        f"Added {len(plan.accepted)} example(s), discarded {plan.discarded}, "
        f"{len(plan.undecided)} left undecided in {args.file}."
    )
    for item in plan.already_known:
        print(f"  already in the training data, not added again: {item.text[:60]}")
    for path in changed:
        print(f"  changed {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    if changed:
        print("Next: `make validate`, then `make eval` to see the effect; `make run` retrains on its next start.")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.trainers")
    tools = parser.add_subparsers(dest="tool", required=True)
    inbox = tools.add_parser("review", help="the review inbox").add_subparsers(dest="command", required=True)
    export = inbox.add_parser("export", help="write the messages to review, per language")
    export.add_argument(
        "--days", type=float, default=None, help="look this many days back (default: since the last export)"
    )
    export.add_argument("--out", type=Path, default=ROOT / "var" / "review")
    apply = inbox.add_parser("apply", help="add the kept rows of a reviewed file to data/nlu")
    apply.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    settings = install(Settings.from_env())
    return _export(args, settings) if args.command == "export" else _apply(args)


if __name__ == "__main__":
    sys.exit(main())
