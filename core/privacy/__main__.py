"""`python -m core.privacy COMMAND`: the privacy operations, for operators and the launcher.

    purge [--every SECONDS] [--days N]   delete conversations past the retention period (once, or
                                         every SECONDS until stopped: the launcher's job)
    erase CONVERSATION_ID                erase one conversation everywhere (a claimant's request
                                         received by other means: letter, phone)
    export-audit [--conversation ID] [--after ID] [--from-file]
                                         the audit log as JSON lines on standard output
    add-user ID --role agent|supervisor|trainer [--languages zh,en] [--name NAME]
                                         create or replace an account; prints its token once
    revoke-token TOKEN_ID | revoke-user ID | list-users

Settings come from the environment, read here once (`Settings.from_env` in `main`). Exit status 0 on
success, 2 on an error (the message on standard error; no claimant content is printed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import threading
from typing import List, Optional

from core.privacy import access, audit, retention
from core.privacy.exceptions import PrivacyError
from core.settings import Settings, SettingsError, install

logger = logging.getLogger("core.privacy")


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = retention.RetentionSettings.from_settings(install(Settings.from_env()))
        if getattr(args, "days", None) is not None:
            settings = dataclasses.replace(settings, retention_days=args.days)
        return COMMANDS[args.command](settings, args)
    except (PrivacyError, SettingsError) as error:
        print(f"core.privacy: {error}", file=sys.stderr)
        return 2


def _purge(settings: retention.RetentionSettings, args: argparse.Namespace) -> int:
    if not args.every:
        deleted = retention.purge(settings)
        print(json.dumps({**deleted.as_dict(), "conversations": len(deleted.conversations)}))
        return 0
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    while not stopped.is_set():
        try:
            deleted = retention.purge(settings)
            logger.info(
                "purge: %d conversations past %s days deleted", len(deleted.conversations), settings.retention_days
            )
        except PrivacyError as error:  # a store down now may be up at the next run
            logger.error("purge failed, retrying in %s s: %s", args.every, error)
        stopped.wait(args.every)
    return 0


def _erase(settings: retention.RetentionSettings, args: argparse.Namespace) -> int:
    deleted = retention.erase_conversation(args.conversation_id, settings, by=args.by, role="system")
    print(json.dumps(deleted.as_dict()))
    return 0


def _export_audit(settings: retention.RetentionSettings, args: argparse.Namespace) -> int:
    if args.from_file:
        found = [
            e
            for e in audit.read_mirror(settings.audit_mirror)
            if args.conversation is None or e.conversation_id == args.conversation
        ]
    else:
        client = settings.connect()
        audit.sync_mirror(client, settings.audit_mirror)
        found = list(audit.entries(client, after=args.after, conversation_id=args.conversation))
    for entry in found:
        print(entry.as_json())
    return 0


def _add_user(settings: retention.RetentionSettings, args: argparse.Namespace) -> int:
    languages = [language for language in args.languages.split(",") if language.strip()]
    print(
        access.add_user(
            settings.connect(),
            args.user_id,
            role=args.role,
            languages=languages,
            name=args.name,
            by="cli",
            mirror=settings.audit_mirror,
        )
    )
    return 0


def _revoke_token(settings: retention.RetentionSettings, args: argparse.Namespace) -> int:
    found = access.revoke_token(settings.connect(), args.token_id, by="cli", mirror=settings.audit_mirror)
    print("revoked" if found else "no such token")
    return 0 if found else 2


def _revoke_user(settings: retention.RetentionSettings, args: argparse.Namespace) -> int:
    count = access.revoke_user(settings.connect(), args.user_id, by="cli", mirror=settings.audit_mirror)
    print(f"{count} tokens revoked; account removed")
    return 0


def _list_users(settings: retention.RetentionSettings, args: argparse.Namespace) -> int:
    for user_id, account in sorted(access.users(settings.connect()).items()):
        print(json.dumps({"user_id": user_id, **account}, ensure_ascii=False))
    return 0


COMMANDS = {
    "purge": _purge,
    "erase": _erase,
    "export-audit": _export_audit,
    "add-user": _add_user,
    "revoke-token": _revoke_token,
    "revoke-user": _revoke_user,
    "list-users": _list_users,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.privacy", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    purge = commands.add_parser("purge", help="delete conversations past the retention period")
    purge.add_argument("--every", type=float, default=0, help="repeat every SECONDS until stopped")
    purge.add_argument(
        "--days",
        type=float,
        default=None,
        help="override RETENTION_DAYS for this run (the privacy notices still show it)",
    )
    erase = commands.add_parser("erase", help="erase one conversation everywhere")
    erase.add_argument("conversation_id")
    erase.add_argument("--by", default="operator", help="who asked (kept in the audit log)")
    export = commands.add_parser("export-audit", help="the audit log as JSON lines")
    export.add_argument("--conversation", default=None)
    export.add_argument("--after", default="-", help="only entries after this stream id")
    export.add_argument("--from-file", action="store_true", help="read var/audit/audit.jsonl")
    add = commands.add_parser("add-user", help="create an account and print its token once")
    add.add_argument("user_id")
    add.add_argument("--role", choices=access.ROLES, required=True)
    add.add_argument("--languages", default="")
    add.add_argument("--name", default="")
    commands.add_parser("revoke-token").add_argument("token_id")
    commands.add_parser("revoke-user").add_argument("user_id")
    commands.add_parser("list-users")
    return parser


if __name__ == "__main__":
    sys.exit(main())
