"""The IMAP inbox (imapclient): TLS by default, BODY.PEEK[] only, drafts by MULTIAPPEND."""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import imapclient
from imapclient.exceptions import IMAPClientError, LoginError

from triage.domain import MessageRef, RawMessage
from triage.errors import AuthenticationError, FolderRefused, MailboxError

logger = logging.getLogger(__name__)
STOP_CHECK_SECONDS = 1.0
SEARCH_ONE_BY_ONE = 8
IDLE_SESSION_SECONDS = 10.0

FETCH_BATCH = 200
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
DRAFT_FLAGS = (imapclient.DRAFT, imapclient.SEEN)  # our own drafts need no "unread" badge


@dataclass(frozen=True)
class ImapSettings:
    scheme: str  # "imaps" (implicit TLS) or "imap" (STARTTLS, plaintext only when allowed)
    host: str
    port: int
    user: str
    folder: str
    allow_insecure: bool
    is_loopback: bool
    ca_file: Path | None
    timeout: float
    drafts_folder: str | None
    auth: str  # "password" or "xoauth2"
    sent_folder: str | None = None


def connect(settings: ImapSettings, secret: Callable[[], str]) -> imapclient.IMAPClient:
    """A logged-in connection: TLS with certificate checks (STARTTLS on imap://), then LOGIN or XOAUTH2."""
    s = settings
    context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
    try:
        client = imapclient.IMAPClient(
            s.host, port=s.port, ssl=s.scheme == "imaps", ssl_context=context, timeout=s.timeout
        )
        client.normalise_times = False  # keep INTERNALDATE's zone
        if s.scheme == "imap":
            _upgrade(client, context, s)
        if s.auth == "xoauth2":
            client.oauth2_login(s.user, secret())
        else:
            client.login(s.user, secret())
    except LoginError as exc:
        raise AuthenticationError(f"{s.user}@{s.host}: login refused by the server") from exc
    except ssl.SSLError as exc:
        raise MailboxError(f"{s.host}:{s.port}: TLS failed: {exc.reason or exc}") from exc
    except (OSError, IMAPClientError) as exc:
        raise MailboxError(f"{s.host}:{s.port}: cannot connect: {exc}") from exc
    return client


def _upgrade(client: imapclient.IMAPClient, context: ssl.SSLContext, s: ImapSettings) -> None:
    if b"STARTTLS" in client.capabilities():
        client.starttls(context)
    elif not (s.is_loopback or s.allow_insecure):
        raise MailboxError(
            f"{s.host}:{s.port} offers no STARTTLS; refusing to send the password in clear"
            " (use imaps:// or set mailbox.allow_insecure)"
        )


def find_folder(client: imapclient.IMAPClient, configured: str | None, special_use: bytes) -> str | None:
    """The configured folder, else the one the server marks with SPECIAL-USE; None when it does not exist."""
    folder = configured or client.find_special_folder(special_use)
    return str(folder) if folder and client.folder_exists(folder) else None


class ImapInbox:
    """One connection to one mailbox; `secret` is a password or an OAuth access token."""

    def __init__(self, settings: ImapSettings, secret: Callable[[], str]) -> None:
        self.settings = settings
        self.name = f"{settings.user}@{settings.host}"
        self.folder = settings.folder
        self.client = connect(settings, secret)
        self.uidnext_listed = 0
        try:
            self.drafts_folder = self._find_drafts()
            self.sent_folder = self._find_sent()
            self.client.select_folder(self.folder, readonly=False)
        except Exception:
            self.close()  # no logged-in connection left behind
            raise

    def _find_drafts(self) -> str:
        configured = self.settings.drafts_folder
        folder = configured or self.client.find_special_folder(imapclient.imapclient.DRAFTS) or "Drafts"
        if not self.client.folder_exists(folder):
            logger.info("creating the drafts folder %s", folder)
            try:
                self.client.create_folder(folder)
            except IMAPClientError as exc:
                raise FolderRefused(
                    f"the server refuses to create the drafts folder {folder!r}: {exc}"
                    " (set mailbox.drafts_folder to a folder that exists)"
                ) from exc
        return str(folder)

    def uidvalidity(self) -> int:
        return int(self.client.folder_status(self.folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def _find_sent(self) -> str | None:
        return find_folder(self.client, self.settings.sent_folder, imapclient.imapclient.SENT)

    def list_uids(self, above: int) -> tuple[int, list[int]]:
        status = self.client.folder_status(self.folder, [b"UIDVALIDITY", b"UIDNEXT"])
        uidvalidity = int(status[b"UIDVALIDITY"])
        self.uidnext_listed = int(status[b"UIDNEXT"])  # mail from here on is new to the next wait
        self.client.noop()
        # "n:*" always matches the highest UID, even below n: filter (RFC 3501 6.4.8)
        found = self.client.search(["UID", f"{above + 1}:*"])
        return uidvalidity, sorted(uid for uid in found if uid > above)

    def fetch(self, uids: Sequence[int], max_bytes: int) -> list[RawMessage]:
        return self._fetch_selected(uids, self.uidvalidity(), max_bytes)

    def _fetch_selected(self, uids: Sequence[int], uidvalidity: int, max_bytes: int) -> list[RawMessage]:
        messages: list[RawMessage] = []
        for start in range(0, len(uids), FETCH_BATCH):
            chunk = list(uids[start : start + FETCH_BATCH])
            meta = self.client.fetch(chunk, ["RFC822.SIZE", "INTERNALDATE"])
            small = [uid for uid in chunk if uid in meta and meta[uid][b"RFC822.SIZE"] <= max_bytes]
            bodies = self.client.fetch(small, ["BODY.PEEK[]"]) if small else {}
            for uid in chunk:
                if uid not in meta:
                    continue  # expunged meanwhile
                data = bodies.get(uid, {}).get(b"BODY[]", b"")
                messages.append(
                    RawMessage(
                        ref=MessageRef(self.name, self.folder, uidvalidity, uid),
                        data=data or b"",
                        internaldate=_aware(meta[uid][b"INTERNALDATE"]),
                        size=int(meta[uid][b"RFC822.SIZE"]),
                    )
                )
        return messages

    def drafts_present(self, message_ids: Sequence[str]) -> set[str]:
        if not message_ids:
            return set()
        if len(message_ids) > SEARCH_ONE_BY_ONE:  # each SEARCH reads the folder: read it once instead
            return set(message_ids) & set(self.folder_message_ids(self.drafts_folder))
        self.client.select_folder(self.drafts_folder, readonly=True)
        try:
            return {mid for mid in message_ids if self.client.search(["HEADER", "Message-ID", mid])}
        finally:
            self.client.select_folder(self.folder, readonly=False)

    def save_drafts(self, drafts: Sequence[bytes]) -> None:
        if not drafts:
            return
        items = [{"msg": data, "flags": DRAFT_FLAGS} for data in drafts]
        if b"MULTIAPPEND" in self.client.capabilities():
            # imapclient returns a NO (quota, permissions) instead of raising it
            response = self.client.multiappend(self.drafts_folder, items)
            if isinstance(response, tuple) and response and _text(response[0]).upper() in ("NO", "BAD"):
                detail = " ".join(_text(part) for part in response[1:] if part)
                raise MailboxError(f"{self.drafts_folder}: the server refused {len(items)} drafts: {detail}")
        else:
            for data in drafts:
                self.client.append(self.drafts_folder, data, flags=DRAFT_FLAGS)

    def remove_duplicate_drafts(self, message_ids: Sequence[str]) -> int:
        if not message_ids:
            return 0
        if b"UIDPLUS" not in self.client.capabilities():  # EXPUNGE alone would take others' \Deleted too
            logger.warning(
                "%s: no UIDPLUS, so no late copy is removed: check Drafts for %s", self.name, message_ids
            )
            return 0
        self.client.select_folder(self.drafts_folder, readonly=False)
        try:
            later = [
                uid
                for mid in message_ids
                for uid in sorted(self.client.search(["HEADER", "Message-ID", mid]))[1:]
            ]
            if later:
                self.client.add_flags(later, [b"\\Deleted"])
                self.client.uid_expunge(later)
            return len(later)
        finally:
            self.client.select_folder(self.folder, readonly=False)

    def folder_message_ids(self, folder: str) -> list[str]:
        if not self.client.folder_exists(folder):
            return []
        self.client.select_folder(folder, readonly=True)
        try:
            uids = self.client.search(["ALL"])
            found: list[str] = []
            for start in range(0, len(uids), FETCH_BATCH):
                chunk = uids[start : start + FETCH_BATCH]
                headers = self.client.fetch(chunk, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
                for data in headers.values():
                    raw = data.get(b"BODY[HEADER.FIELDS (MESSAGE-ID)]", b"").decode("ascii", "replace")
                    found.extend(_MESSAGE_ID.findall(raw)[:1])
            return found
        finally:
            self.client.select_folder(self.folder, readonly=False)

    def read_folder(self, folder: str, max_bytes: int) -> list[RawMessage]:
        if not self.client.folder_exists(folder):
            raise MailboxError(f"{self.name}: no folder {folder!r}")
        watched = self.folder
        self.client.select_folder(folder, readonly=True)
        self.folder = folder
        try:
            return self.fetch(self.client.search(["ALL"]), max_bytes)
        finally:
            self.folder = watched
            self.client.select_folder(watched, readonly=False)

    def fetch_folder_since(self, folder: str, above: int, max_bytes: int) -> tuple[int, list[RawMessage]]:
        watched = self.folder
        selected = self.client.select_folder(folder, readonly=True)
        self.folder = folder
        try:
            uidvalidity = int(selected[b"UIDVALIDITY"])
            uids = sorted(uid for uid in self.client.search(["UID", f"{above + 1}:*"]) if uid > above)
            return uidvalidity, self._fetch_selected(uids, uidvalidity, max_bytes)
        finally:
            self.folder = watched
            self.client.select_folder(watched, readonly=False)

    def keywords(self, uids: Sequence[int]) -> dict[int, frozenset[str]]:
        found: dict[int, frozenset[str]] = {}
        for start in range(0, len(uids), FETCH_BATCH):
            flags = self.client.get_flags(list(uids[start : start + FETCH_BATCH]))
            for uid, values in flags.items():
                found[uid] = frozenset(v.decode() if isinstance(v, bytes) else str(v) for v in values)
        return found

    def add_keywords(self, uids: Sequence[int], keywords: Sequence[str]) -> None:
        if uids and keywords:
            self.client.add_flags(list(uids), [k.encode() for k in keywords], silent=True)

    def move(self, uids: Sequence[int], folder: str) -> None:
        if not uids:
            return
        if not self.client.folder_exists(folder):
            self.client.create_folder(folder)
        self.client.move(list(uids), folder)

    def wait_for_new_mail(self, timeout: float, stopping: threading.Event) -> bool:
        if b"IDLE" not in self.client.capabilities():
            stopping.wait(timeout)
            return False
        deadline = time.monotonic() + timeout
        # mail that came during or after the last poll: its EXISTS may already have been consumed
        # (by a SELECT), and IDLE would not repeat it
        uidnext = int(self.client.folder_status(self.folder, [b"UIDNEXT"])[b"UIDNEXT"])
        if uidnext > self.uidnext_listed:
            return True
        while not stopping.is_set() and time.monotonic() < deadline:
            # IDLE in sessions of a few seconds: a notice that came in the same packet as IDLE's
            # "+ idling" sits in imaplib's buffer where idle_check cannot see it; DONE reads it
            session_end = min(deadline, time.monotonic() + IDLE_SESSION_SECONDS)
            self.client.idle()
            seen: list[object] = []
            try:
                while not stopping.is_set() and (left := session_end - time.monotonic()) > 0:
                    # short checks: a stop request is noticed within a second
                    seen = self.client.idle_check(timeout=min(left, STOP_CHECK_SECONDS))
                    if seen:
                        break
            finally:
                _, after = self.client.idle_done()
            if _new_mail([*seen, *after]):
                return True
        return False

    def close(self) -> None:
        try:
            self.client.logout()
        except (OSError, IMAPClientError):
            logger.debug("logout failed", exc_info=True)


def _new_mail(responses: Sequence[object]) -> bool:
    """True when untagged responses report mail arriving (EXISTS, RECENT) or changes (FETCH)."""
    return any(
        isinstance(r, tuple) and len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT", b"FETCH", b"EXPUNGE")
        for r in responses
    )


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value)
    return str(value)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
