"""The privacy package's fixed lifetimes and files. Its Redis keys (the audit stream, the access
store, erasure requests) are in core/redis_keys.py, with the keys of other packages that the purge
deletes (core/privacy/retention.py).
"""

from __future__ import annotations

ERASE_PENDING_TTL = 10 * 60
ERASE_REQUEST_TTL = 7 * 86400

#: The audit file, relative to the var directory.
AUDIT_FILE = "audit/audit.jsonl"
