"""The Maildir inbox (stdlib `mailbox`), laid out as Dovecot does, so both can share it.

UIDs: Maildir has none, so, like Dovecot's dovecot-uidlist, a `triage-uidlist` file at
the root gives each message key a UID in arrival order, with a UIDVALIDITY.
Keywords: Dovecot's scheme, a `dovecot-keywords` file mapping letters a..z to names and
the letters added to the file name's info part; a Dovecot serving this Maildir shows
them as IMAP keywords. Folders are Maildir++ (`.Drafts`).
"""

from __future__ import annotations

import email.parser
import email.policy
import logging
import mailbox
import os
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from triage.domain import MessageRef, RawMessage
from triage.errors import MailboxError

logger = logging.getLogger(__name__)

UIDLIST = "triage-uidlist"
KEYWORDS = "dovecot-keywords"
KEYWORD_LETTERS = "abcdefghijklmnopqrstuvwxyz"
SYSTEM_FLAGS = {"R": "\\Answered", "S": "\\Seen", "F": "\\Flagged", "D": "\\Draft", "T": "\\Deleted"}


class MaildirInbox:
    def __init__(self, path: Path, drafts_folder: str | None = None, sent_folder: str | None = None) -> None:
        if not (path / "cur").is_dir() and path.exists() and any(path.iterdir()):
            raise MailboxError(f"{path} is not a Maildir (no cur/ folder)")
        self.path = path
        self.name = f"maildir:{path}"
        self.folder = "INBOX"
        self.box = mailbox.Maildir(path, create=True)
        self.drafts_name = (drafts_folder or "Drafts").replace("/", ".")
        self.drafts = self._folder(self.drafts_name)
        sent = (sent_folder or "Sent").replace("/", ".")
        self.sent_folder: str | None = sent if sent in self.box.list_folders() else None

    def _folder(self, name: str) -> mailbox.Maildir:
        if name not in self.box.list_folders():
            return self.box.add_folder(name)
        return self.box.get_folder(name)

    def uidvalidity(self) -> int:
        return self._sync_uidlist()[0]

    def list_uids(self, above: int) -> tuple[int, list[int]]:
        uidvalidity, uids = self._sync_uidlist()
        return uidvalidity, sorted(uid for uid in uids.values() if uid > above)

    def _sync_uidlist(self) -> tuple[int, dict[str, int]]:
        return sync_uidlist(self.path)

    def _scan(self) -> dict[str, Path]:
        return scan(self.path)

    def _paths_by_uid(self) -> dict[int, Path]:
        files = self._scan()
        return {uid: files[key] for key, uid in self._sync_uidlist()[1].items() if key in files}

    def fetch(self, uids: Sequence[int], max_bytes: int) -> list[RawMessage]:
        uidvalidity, _ = self._sync_uidlist()
        paths = self._paths_by_uid()
        found = []
        for uid in uids:
            path = paths.get(uid)
            if path is None:
                continue
            stat = path.stat()
            found.append(
                RawMessage(
                    ref=MessageRef(self.name, self.folder, uidvalidity, uid),
                    data=path.read_bytes() if stat.st_size <= max_bytes else b"",
                    internaldate=datetime.fromtimestamp(stat.st_mtime, UTC),
                    size=stat.st_size,
                )
            )
        return found

    def drafts_present(self, message_ids: Sequence[str]) -> set[str]:
        wanted = set(message_ids)
        if not wanted:
            return set()
        parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
        present = set()
        for key in self.drafts.keys():
            with self.drafts.get_file(key) as handle:
                message_id = parser.parse(handle).get("Message-ID", "")  # type: ignore[arg-type]
            if str(message_id).strip() in wanted:
                present.add(str(message_id).strip())
        return present

    def save_drafts(self, drafts: Sequence[bytes]) -> None:
        for data in drafts:
            message = mailbox.MaildirMessage(data)
            message.set_subdir("cur")
            message.set_flags("DS")
            self.drafts.add(message)

    def remove_duplicate_drafts(self, message_ids: Sequence[str]) -> int:
        wanted, seen, removed = set(message_ids), set(), 0
        parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
        for key in sorted(self.drafts.keys()):  # keys begin with the delivery time
            with self.drafts.get_file(key) as handle:
                message_id = str(parser.parse(handle).get("Message-ID", "")).strip()  # type: ignore[arg-type]
            if message_id in wanted and message_id in seen:
                self.drafts.remove(key)
                removed += 1
            seen.add(message_id)
        return removed

    def folder_message_ids(self, folder: str) -> list[str]:
        name = folder.replace("/", ".")
        if name not in self.box.list_folders():
            return []
        box = self.box.get_folder(name)
        parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
        found = []
        for key in box.keys():
            with box.get_file(key) as handle:
                message_id = str(parser.parse(handle).get("Message-ID", "")).strip()  # type: ignore[arg-type]
            if message_id:
                found.append(message_id)
        return found

    def read_folder(self, folder: str, max_bytes: int) -> list[RawMessage]:
        name = folder.replace("/", ".")
        if name not in self.box.list_folders():
            raise MailboxError(f"{self.path}: no folder {folder!r}")
        root = self.path / f".{name}"
        files = sorted(
            p for sub in ("new", "cur") for p in (root / sub).iterdir() if not p.name.startswith(".")
        )
        found = []
        for uid, path in enumerate(files, start=1):
            stat = path.stat()
            found.append(
                RawMessage(
                    ref=MessageRef(self.name, folder, 0, uid),
                    data=path.read_bytes() if stat.st_size <= max_bytes else b"",
                    internaldate=datetime.fromtimestamp(stat.st_mtime, UTC),
                    size=stat.st_size,
                )
            )
        return found

    def fetch_folder_since(self, folder: str, above: int, max_bytes: int) -> tuple[int, list[RawMessage]]:
        root = self.path / f".{folder.replace('/', '.')}"
        uidvalidity, uids = sync_uidlist(root)
        files = scan(root)
        found = []
        for key, uid in sorted(uids.items(), key=lambda item: item[1]):
            if uid <= above or key not in files:
                continue
            stat = files[key].stat()
            found.append(
                RawMessage(
                    ref=MessageRef(self.name, folder, uidvalidity, uid),
                    data=files[key].read_bytes() if stat.st_size <= max_bytes else b"",
                    internaldate=datetime.fromtimestamp(stat.st_mtime, UTC),
                    size=stat.st_size,
                )
            )
        return uidvalidity, found

    def keywords(self, uids: Sequence[int]) -> dict[int, frozenset[str]]:
        names = {KEYWORD_LETTERS[i]: name for name, i in self._keyword_table().items()}
        paths = self._paths_by_uid()
        found = {}
        for uid in uids:
            if uid not in paths:
                continue
            info = paths[uid].name.partition(":2,")[2]
            flags = {names[c] for c in info if c in names} | {
                SYSTEM_FLAGS[c] for c in info if c in SYSTEM_FLAGS
            }
            found[uid] = frozenset(flags)
        return found

    def _keyword_table(self) -> dict[str, int]:
        table = self.path / KEYWORDS
        names: dict[str, int] = {}
        if table.exists():
            for line in table.read_text(encoding="utf-8").splitlines():
                index, _, name = line.partition(" ")
                names[name] = int(index)
        return names

    def add_keywords(self, uids: Sequence[int], keywords: Sequence[str]) -> None:
        if not uids or not keywords:
            return
        letters = self._keyword_letters(keywords)
        paths = self._paths_by_uid()
        for uid in uids:
            path = paths[uid]
            base, _, info = path.name.partition(":2,")
            flags = "".join(sorted(set(info) | set(letters)))
            # into cur/ with the new info: still unseen, as no S flag is added
            path.rename(self.path / "cur" / f"{base}:2,{flags}")

    def _keyword_letters(self, keywords: Sequence[str]) -> str:
        table = self.path / KEYWORDS
        names = self._keyword_table()
        for keyword in keywords:
            if keyword not in names:
                if len(names) >= len(KEYWORD_LETTERS):
                    raise MailboxError(f"{self.path}: no free keyword letter for {keyword}")
                names[keyword] = max(names.values(), default=-1) + 1
        table.write_text("".join(f"{i} {n}\n" for n, i in sorted(names.items(), key=lambda x: x[1])))
        return "".join(KEYWORD_LETTERS[names[k]] for k in keywords)

    def move(self, uids: Sequence[int], folder: str) -> None:
        target = self._folder(folder.replace("/", "."))
        paths = self._paths_by_uid()
        for uid in uids:
            path = paths[uid]
            sub = path.parent.name
            path.rename(Path(target._path) / sub / path.name)

    def wait_for_new_mail(self, timeout: float, stopping: threading.Event) -> bool:
        stopping.wait(timeout)
        return False

    def close(self) -> None:
        self.box.close()


def scan(root: Path) -> dict[str, Path]:
    """Message key -> file, from new/ and cur/ (the key is the name before ':')."""
    files = {}
    for sub in ("new", "cur"):
        folder = root / sub
        for name in os.listdir(folder):
            if not name.startswith("."):
                files[name.split(":", 1)[0]] = folder / name
    return files


def sync_uidlist(root: Path) -> tuple[int, dict[str, int]]:
    """Give every key in a Maildir folder a UID, appending new keys in arrival order."""
    listing = root / UIDLIST
    uids: dict[str, int] = {}
    if listing.exists():
        lines = listing.read_text(encoding="utf-8").splitlines()
        uidvalidity = int(lines[0].split()[1])
        for line in lines[1:]:
            uid, key = line.split(" ", 1)
            uids[key] = int(uid)
    else:
        uidvalidity = int(time.time())
    files = scan(root)
    present = set(files)
    new = sorted(present - uids.keys(), key=lambda key: (files[key].stat().st_mtime, key))
    next_uid = max(uids.values(), default=0) + 1
    uids = {key: uid for key, uid in uids.items() if key in present}
    for key in new:
        uids[key] = next_uid
        next_uid += 1
    if new or not listing.exists():
        body = "".join(f"{uid} {key}\n" for key, uid in sorted(uids.items(), key=lambda i: i[1]))
        tmp = listing.with_suffix(".tmp")
        tmp.write_text(f"uidvalidity {uidvalidity}\n{body}", encoding="utf-8")
        tmp.replace(listing)
    return uidvalidity, uids
