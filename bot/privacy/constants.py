"""Every Redis key the privacy package writes. All start with `renben:`; nothing else in
`bot/privacy/` spells a key. Keys of other packages that the purge deletes are read from their
own constants modules (handoff/constants.py, bot/channels/*/constants.py) in retention.py.
"""
from __future__ import annotations

PREFIX = "renben:"

#: Stream: the audit log, append-only (never trimmed); mirrored to var/audit/audit.jsonl.
AUDIT_STREAM = PREFIX + "audit"

#: Hash: token id -> JSON record (user, role, languages, name, salt, hash, created, revoked).
ACCESS_TOKENS = PREFIX + "access:tokens"
#: Hash: user id -> JSON account (role, languages, name, created).
ACCESS_USERS = PREFIX + "access:users"
#: Set: the token ids of one user, for revoking them all.  renben:access:user-tokens:<user>
ACCESS_USER_TOKENS = PREFIX + "access:user-tokens:"

#: String: a claimant asked to erase their conversation and has not confirmed yet (expires).
#: renben:privacy:erase-pending:<conversation_id>
ERASE_PENDING = PREFIX + "privacy:erase-pending:"
ERASE_PENDING_TTL = 10 * 60
#: String: this erasure request (a claimant message) is already in the audit log, so the same
#: message's turn run again (bot/turn_guard.py) is not audited twice. The name is a SHA-256 of
#: "<conversation_id>:<message id>", so no identifier outlives the erasure in Redis.
#: renben:privacy:erase-request:<sha256 hex>
ERASE_REQUEST = PREFIX + "privacy:erase-request:"
ERASE_REQUEST_TTL = 7 * 86400

#: The audit file, relative to the var directory.
AUDIT_FILE = "audit/audit.jsonl"
