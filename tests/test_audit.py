"""The audit log: a real Redis stream mirrored to an append-only file, entries exportable."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import redis

from core.privacy import audit
from core.redis_keys import AUDIT_STREAM
from core.privacy.exceptions import InvalidRequest, StoreUnavailable
from core.settings import ROOT


def test_reveal_is_written_to_stream_and_file(r, tmp_path):
    mirror = audit.mirror_path(tmp_path)
    entry_id = audit.record_reveal(r, "agent-li", "web-abc", "ID_NUMBER", mirror=mirror)
    (stored_id, fields), = r.xrange(AUDIT_STREAM)
    assert stored_id == entry_id
    assert fields["who"] == "agent-li" and fields["action"] == "reveal"
    assert fields["conversation_id"] == "web-abc" and fields["field"] == "ID_NUMBER"
    assert fields["when"].endswith("Z") and fields["role"] == "agent"
    line = json.loads(mirror.read_text().strip())
    assert line["id"] == entry_id and line["field"] == "ID_NUMBER"


def test_mirror_is_appended_in_order_and_catches_up(r, tmp_path):
    mirror = audit.mirror_path(tmp_path)
    audit.record_transcript_read(r, "a1", "c1")  # written by a process without the var dir
    audit.record_transcript_read(r, "a2", "c2")
    audit.record_reveal(r, "a3", "c3", "PHONE", mirror=mirror)
    lines = [json.loads(line) for line in mirror.read_text().splitlines()]
    assert [line["who"] for line in lines] == ["a1", "a2", "a3"]
    assert audit.sync_mirror(r, mirror) == 0  # nothing twice
    first = mirror.read_text()
    audit.record_transcript_read(r, "a4", "c4", mirror=mirror)
    assert mirror.read_text().startswith(first)  # appended, never rewritten
    assert [e.who for e in audit.read_mirror(mirror)] == ["a1", "a2", "a3", "a4"]


def test_values_are_refused_as_field_names_and_details_redacted(r):
    with pytest.raises(InvalidRequest):
        audit.record_reveal(r, "agent-li", "c1", "138 1234 5678")
    with pytest.raises(InvalidRequest):
        audit.make_entry(who="x", role="agent", action="delete_everything")
    with pytest.raises(InvalidRequest):
        audit.make_entry(who="x", role="janitor", action="reveal")
    with pytest.raises(InvalidRequest):
        audit.make_entry(who=" ", role="agent", action="reveal")
    entry = audit.make_entry(who="system", role="system", action="erase", conversation_id="c1",
                             detail="asked by 13812345678")
    assert entry.detail == "asked by [PHONE]"
    assert r.xlen(AUDIT_STREAM) == 0


def test_entries_filters_by_conversation_and_pages(r):
    for n in range(25):
        audit.record_transcript_read(r, f"a{n}", "c-even" if n % 2 == 0 else "c-odd")
    assert len(list(audit.entries(r, batch=4))) == 25
    assert [e.who for e in audit.entries(r, conversation_id="c-odd", batch=4)][:2] == ["a1", "a3"]


def test_unreachable_redis_is_a_typed_error(tmp_path):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    with pytest.raises(StoreUnavailable):
        audit.record_reveal(dead, "agent-li", "c1", "PHONE")


def test_export_audit_command(r, redis_server, tmp_path):
    audit.record_reveal(r, "agent-li", "web-1", "BANK_CARD")
    audit.record_transcript_read(r, "agent-li", "web-2")
    env = {"REDIS_URL": redis_server.url, "RENBEN_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "core.privacy", "export-audit", "--conversation", "web-1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(row["who"], row["field"]) for row in rows] == [("agent-li", "BANK_CARD")]
    # the export also brought the mirror file up to date
    assert len(audit.read_mirror(audit.mirror_path(tmp_path))) == 2
