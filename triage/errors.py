"""One exception base; each subclass carries the facts a person needs to act."""

from __future__ import annotations


class TriageError(Exception):
    """Base of every error triage raises on purpose."""


class ConfigError(TriageError):
    """A configuration value is missing or wrong.

    Carries the dotted key, what was expected and what was found.
    """

    def __init__(self, key: str, expected: str, found: object) -> None:
        self.key = key
        self.expected = expected
        self.found = found
        super().__init__(f"config key {key!r}: expected {expected}, found {found!r}")


class MalformedMessage(TriageError):
    """A message cannot be parsed; it is recorded with the reason and skipped."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ModelError(TriageError):
    """A model file is refused: untrusted types, newer format, other library version."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"model {path}: {reason}")


class MailboxError(TriageError):
    """The mailbox cannot be reached or refused an operation."""


class AuthenticationError(MailboxError):
    """The server refused the login; retrying will not help."""


class FolderRefused(MailboxError):
    """The server refuses a folder triage needs (create or select): retrying will not help."""


class DatabaseUnavailable(TriageError):
    """The state database cannot be reached or dropped the connection; the work is retried."""


class LeaseLost(TriageError):
    """This daemon no longer holds a mailbox's lease: another may be working it, so nothing more
    is written for it until the lease is held again."""

    def __init__(self, mailbox: str, reason: str) -> None:
        self.mailbox = mailbox
        self.reason = reason
        super().__init__(f"{mailbox}: lease lost ({reason})")
