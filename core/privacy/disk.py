"""What a deletion leaves on disk, cleaned up after it.

Deleting a row or a key removes it from the live data, not from the files behind it: SQLite keeps
deleted rows in free pages until the file is vacuumed, and Redis keeps every command ever written
in its append-only file until the file is rewritten (by default only once it has grown to 64 MB).
After every erasure and purge the tracker file is vacuumed and Redis is asked to rewrite its
AOF from the live data, so no erased identifier stays in a file. docs/privacy.md says what is kept.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis

logger = logging.getLogger(__name__)


def vacuum_sqlite(url: str, *, attempts: int = 5, pause: float = 0.5) -> bool:
    """VACUUM an SQLite tracker store (rewrites the file without free pages); True when done.

    Other URLs (PostgreSQL) are left to the server's (auto)vacuum: docs/privacy.md. A database
    busy with a write is tried again a few times."""
    if not url.startswith("sqlite"):
        return False
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(attempts):
            try:
                with engine.connect() as connection:
                    connection.execute(sa.text("VACUUM"))
                return True
            except sa.exc.OperationalError as error:  # "database is locked": Rasa is writing
                logger.info("vacuum of the tracker store waits (%s)", error)
                time.sleep(pause * (attempt + 1))
        logger.warning("the tracker store could not be vacuumed now; the next erasure or purge will")
        return False
    finally:
        engine.dispose()


def rewrite_aof(client: "redis.Redis[Any]") -> bool:
    """Asks Redis to rewrite its append-only file from the live data; True when one is running or
    scheduled. A Redis without AOF, or one that refuses the command (managed services), is left
    alone: its operator's settings decide (docs/operations.md)."""
    try:
        if client.config_get("appendonly").get("appendonly") != "yes":
            return False
        client.bgrewriteaof()
        return True
    except redis.ResponseError as error:
        if "already in progress" in str(error):
            return True
        logger.warning("Redis did not rewrite its AOF: %s", error)
        return False
    except redis.RedisError as error:
        logger.warning("Redis did not rewrite its AOF: %s", error)
        return False


def wait_for_rewrite(client: "redis.Redis[Any]", *, timeout: float = 30.0, poll: float = 0.1) -> bool:
    """Waits until no AOF rewrite is running or scheduled; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.info("persistence")
        if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
            return True
        time.sleep(poll)
    return False
