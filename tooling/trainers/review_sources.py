"""The review inbox's I/O: the tracker store's events, the agents' flags in Redis, redaction,
and the files (`export`, `apply`). The decisions are in review.py.

Defaults: the SQLite tracker store at var/tracker.db (TRACKER_STORE_URL for PostgreSQL); Redis
from REDIS_URL, else the embedded one `make run` started (found through var/endpoints.yml);
exports go to var/review/ (ignored by git: even redacted, claimants' words stay off GitHub).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

import yaml

from core.redis_keys import REVIEW_FLAGS
from core.settings import running_redis_url
from tooling.trainers import review
from tooling.trainers.checks import normalise_example
from tooling.trainers.project import NLU_DIR, read_nlu

STATE_FILE = "last-export.json"


class RedactionUnavailable(RuntimeError):
    """core.privacy.redaction cannot be loaded: nothing is exported rather than unredacted text."""


def load_redactor() -> review.Redactor:
    """`core.privacy.redaction.redact` as text -> text. Raises RedactionUnavailable."""
    try:
        from core.privacy.redaction import redact
    except ImportError as error:
        raise RedactionUnavailable(
            f"core.privacy.redaction is not available ({error}); nothing was exported"
        ) from error

    def redactor(text: str) -> str:
        result = redact(text)
        return result if isinstance(result, str) else str(result.text)

    return redactor


def tracker_url(root: Path, configured: Optional[str]) -> str:
    """An SQLAlchemy URL for the tracker store."""
    if configured:
        return configured.replace("postgres://", "postgresql://", 1)
    return f"sqlite:///{root / 'var' / 'tracker.db'}"


def read_events(url: str, *, since: float = 0.0) -> Iterator[review.Event]:
    """The `events` table (Rasa's SQLTrackerStore), per conversation in order: every event of
    each conversation that has an event from `since` on (a handoff needs the message before it)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("events"):
                return
            result = connection.execute(
                sa.text(
                    "SELECT sender_id, type_name, timestamp, data FROM events WHERE sender_id IN "
                    "(SELECT DISTINCT sender_id FROM events WHERE timestamp >= :since) "
                    "ORDER BY sender_id, id"
                ),
                {"since": since},
            )
            for sender, type_name, timestamp, data in result:
                try:
                    decoded = json.loads(data or "{}")
                except ValueError:
                    continue
                yield review.Event(sender, type_name, float(timestamp or 0), decoded)
    finally:
        engine.dispose()


def redis_url(root: Path, configured: Optional[str]) -> Optional[str]:
    """REDIS_URL, else the running embedded Redis's address from var/endpoints.yml, else None."""
    return configured or running_redis_url(root / "var")


def read_flags(url: str, *, since: float = 0.0, stream: str = REVIEW_FLAGS) -> List[review.Flag]:
    """Every flag in the stream from `since` (stream ids are millisecond timestamps)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        entries = client.xrange(stream, min=f"{int(since * 1000)}-0", max="+")
    finally:
        client.close()
    flags = []
    for entry_id, fields in entries:
        get = {k.decode(): v.decode("utf-8", "replace") for k, v in fields.items()}.get
        flags.append(
            review.Flag(
                get("conversation_id") or "",
                get("text") or "",
                get("suggested_intent") or "",
                get("agent_id") or "",
                get("language") or "",
                int(entry_id.decode().split("-")[0]) / 1000,
            )
        )
    return flags


def known_examples(root: Path) -> Set[Tuple[str, str]]:
    return {(e.lang, normalise_example(e.text)) for e in read_nlu(root).examples}


@dataclass(frozen=True)
class Exported:
    path: Path
    lang: str
    rows: int


def export(
    root: Path,
    out_dir: Path,
    *,
    events: Sequence[review.Event],
    flags: Sequence[review.Flag],
    redactor: review.Redactor,
    now: Optional[dt.datetime] = None,
    since: float = 0.0,
) -> List[Exported]:
    """Writes one inbox file per language with rows; returns what was written."""
    now = now or dt.datetime.now()
    rows = review.collect(
        events, flags, redactor=redactor, known=known_examples(root), normalise=normalise_example, since=since
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for lang, lang_rows in sorted(rows.items()):
        path = out_dir / f"{lang}-{now:%Y-%m-%d-%H%M}.yml"
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        path.write_text(
            review.inbox_yaml(lang_rows, lang=lang, path=str(shown), exported=f"{now:%Y-%m-%d %H:%M}"), encoding="utf-8"
        )
        written.append(Exported(path, lang, len(lang_rows)))
    (out_dir / STATE_FILE).write_text(json.dumps({"exported_at": now.timestamp()}), encoding="utf-8")
    return written


def last_export(out_dir: Path) -> float:
    try:
        return float(json.loads((out_dir / STATE_FILE).read_text())["exported_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def domain_intents(root: Path) -> Set[str]:
    from tooling.trainers.project import DOMAIN_DIR, read_docs, read_domain

    docs, _ = read_docs(root, DOMAIN_DIR)
    return set(read_domain(docs).intents)


def apply(
    root: Path, reviewed: Path, *, redactor: review.Redactor, today: Optional[dt.date] = None
) -> Tuple[review.Plan, List[Path]]:
    """Adds the kept rows of `reviewed` to data/nlu/<lang>/<intent>.yml, each with a comment
    saying where it came from; leaves only the undecided rows in `reviewed`.
    Raises ReviewFileError (nothing changed) when any row cannot be applied."""
    plan = review.plan_apply(
        reviewed.read_text(encoding="utf-8"),
        intents=domain_intents(root),
        redactor=redactor,
        known=known_examples(root),
        normalise=normalise_example,
    )
    day = (today or dt.date.today()).isoformat()
    shown = str(reviewed.relative_to(root)) if reviewed.is_relative_to(root) else reviewed.name
    changed: Dict[Path, List[str]] = {}
    for accepted in plan.accepted:
        target = root / NLU_DIR / accepted.lang / f"{accepted.intent}.yml"
        changed.setdefault(target, []).append(review.nlu_entry(accepted, source_file=shown, today=day))
    for target, entries in changed.items():
        existing = target.read_text(encoding="utf-8") if target.exists() else 'version: "3.1"\nnlu:\n'
        if not existing.endswith("\n"):
            existing += "\n"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(existing + "".join(entries), encoding="utf-8")
    remaining = yaml.safe_load(reviewed.read_text(encoding="utf-8"))
    remaining["items"] = plan.undecided
    header = "".join(line for line in reviewed.read_text(encoding="utf-8").splitlines(True) if line.startswith("#"))
    reviewed.write_text(
        header + yaml.safe_dump(remaining, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8"
    )
    return plan, sorted(changed)


def since_default(out_dir: Path, days: Optional[float]) -> float:
    """From the last export, or `days` back when given (default: everything)."""
    if days is not None:
        return time.time() - days * 86400
    return last_export(out_dir)
