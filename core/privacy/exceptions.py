"""Errors raised by the privacy package (`core.privacy`). Catch `PrivacyError` to catch them all.

    PrivacyError
    ├── InvalidRequest        an argument is not acceptable: an unknown role, action or language,
    │                         an empty user or conversation id, a field name with spaces
    ├── AuthenticationFailed  a token is malformed, unknown or revoked (say only "unknown token")
    ├── Forbidden             the authenticated user's role or languages do not allow the action
    └── StoreUnavailable      Redis, the tracker store or the audit file cannot be reached or
                              written; nothing was claimed done, retry

Errors become HTTP statuses, WebSocket close codes or polite messages only at the edge (the desk,
the action server, the command line).
"""

from __future__ import annotations


class PrivacyError(Exception):
    """Root of every error the privacy package raises on purpose."""


class InvalidRequest(PrivacyError, ValueError):
    """An argument is not acceptable; the message says which and why. Fix the call."""


class AuthenticationFailed(PrivacyError):
    """The token is malformed, unknown or revoked. Close the connection (desk: code 4001)."""


class Forbidden(PrivacyError):
    """The user may not do this (role, or a queue of a language they do not serve)."""


class StoreUnavailable(PrivacyError):
    """A store could not be read or written; the operation did not complete. Retry later."""
