"""The one interface every mailbox implements: IMAP and Maildir, both real."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from triage.domain import RawMessage


class Inbox(Protocol):
    """A watched folder plus the Drafts folder beside it.

    Reading never changes a message's flags (IMAP BODY.PEEK[]); writing is limited to
    appending drafts, adding keywords and optional moves.
    """

    name: str
    folder: str
    sent_folder: str | None  # where the team's replies are filed, when there is one

    def uidvalidity(self) -> int:
        """The watched folder's UIDVALIDITY: when it changes, UIDs start over."""
        ...

    def list_uids(self, above: int) -> tuple[int, list[int]]:
        """(UIDVALIDITY, sorted UIDs greater than `above`) of the watched folder, read or not."""
        ...

    def fetch(self, uids: Sequence[int], max_bytes: int) -> list[RawMessage]:
        """The messages, in UID order; a message over `max_bytes` comes with empty data."""
        ...

    def drafts_present(self, message_ids: Sequence[str]) -> set[str]:
        """Which of these Message-IDs already stand in the Drafts folder."""
        ...

    def save_drafts(self, drafts: Sequence[bytes]) -> None:
        """Append drafts to the Drafts folder with the \\Draft flag, in one batch."""
        ...

    def remove_duplicate_drafts(self, message_ids: Sequence[str]) -> int:
        """Where one of these Message-IDs stands more than once in Drafts, remove every copy but the
        first; how many were removed. (A daemon whose lease ran out during an APPEND undoes a late copy.)"""
        ...

    def folder_message_ids(self, folder: str) -> list[str]:
        """Message-IDs of every message in another folder ([] when it does not exist)."""
        ...

    def read_folder(self, folder: str, max_bytes: int) -> list[RawMessage]:
        """Every message of another folder, unread state untouched."""
        ...

    def fetch_folder_since(self, folder: str, above: int, max_bytes: int) -> tuple[int, list[RawMessage]]:
        """(UIDVALIDITY, messages with UID > `above`) of another folder, unread state untouched."""
        ...

    def keywords(self, uids: Sequence[int]) -> dict[int, frozenset[str]]:
        """The keywords (and flags) set on these messages now."""
        ...

    def add_keywords(self, uids: Sequence[int], keywords: Sequence[str]) -> None: ...

    def move(self, uids: Sequence[int], folder: str) -> None: ...

    def wait_for_new_mail(self, timeout: float, stopping: threading.Event) -> bool:
        """Wait up to `timeout` seconds, less once `stopping` is set; True when the server said the
        folder changed (IDLE)."""
        ...

    def close(self) -> None: ...
